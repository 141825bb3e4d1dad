"""Stop and save on SIGINT (Ctrl-C), SIGTERM (``kill``, SLURM, torchrun) and SIGHUP (a closed
terminal or SSH session): the first signal asks the run to stop (it finishes its step and saves),
a second one aborts at once. The exit status then follows the shell's convention, 128 + the signal.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

#: The signals handled, and the exit status of a run they stopped (128 + the signal number).
EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}


@dataclass
class SignalState:
    """What :func:`stop_on_signals` saw: the first signal's name (None: none came) and when."""

    signal: str | None = None
    at: float = 0.0  # time.monotonic() of the first signal

    @property
    def exit_code(self) -> int:
        """130 (SIGINT), 143 (SIGTERM) or 129 (SIGHUP) for the first signal received; 0 for none."""
        return EXIT_CODES[self.signal] if self.signal else 0


def _restore(previous: list[tuple[signal.Signals, Any]]) -> None:
    for sig, prev in previous:
        signal.signal(sig, prev if prev is not None else signal.SIG_DFL)


@contextmanager
def stop_on_signals(
    stop: Callable[[], None],
    *,
    grace_s: float = 0.0,
    announce: Callable[[str], None] | None = None,
) -> Iterator[SignalState]:
    """Call ``stop()`` on the first SIGINT, SIGTERM or SIGHUP; raise KeyboardInterrupt on a second.

    Parameters
    ----------
    stop
        Asks the run to stop (e.g. ``Trainer.stop``); called once, from the signal handler, so it
        must only set a flag.
    grace_s
        A second signal within this many seconds of the first is ignored: under torchrun one Ctrl-C
        reaches a worker twice (from the terminal and forwarded by torchrun).
    announce
        Called with the signal's name (``"SIGTERM"``) after ``stop()``, e.g. to print what happens.

    Yields
    ------
    SignalState
        ``.signal`` and ``.exit_code`` say whether (and which) signal stopped the run.

    The handlers are installed only on the main thread (Python delivers signals there); elsewhere
    this does nothing. Signals the platform lacks (SIGHUP on Windows) are skipped. The previous
    handlers are restored on exit.
    """
    state = SignalState()

    def handler(signum: int, frame: Any) -> None:
        if state.signal is not None:
            if time.monotonic() - state.at < grace_s:
                return
            raise KeyboardInterrupt
        state.signal = signal.Signals(signum).name
        state.at = time.monotonic()
        stop()
        if announce is not None:
            announce(state.signal)

    previous: list[tuple[signal.Signals, Any]] = []
    if threading.current_thread() is threading.main_thread():
        try:
            for name in EXIT_CODES:
                sig = getattr(signal, name, None)
                if sig is not None:
                    previous.append((sig, signal.signal(sig, handler)))
        except (ValueError, OSError):  # handlers cannot be set here (e.g. an embedded interpreter)
            _restore(previous)
            previous = []
    try:
        yield state
    finally:
        _restore(previous)
