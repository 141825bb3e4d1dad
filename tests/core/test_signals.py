"""SIGINT, SIGTERM and SIGHUP stop a run cleanly (finish the step, save, exit 130/143/129)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import napari_n2v
from napari_n2v.core.signals import EXIT_CODES, stop_on_signals

SRC = str(Path(napari_n2v.__file__).parents[1])
POSIX = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")

#: A "training loop": steps of ~20 ms until asked to stop, then a save, exit with the signal's code.
LOOP = """
import sys, time
from napari_n2v.core.signals import stop_on_signals
stop = []
with stop_on_signals(lambda: stop.append(1), announce=lambda s: print("got", s, flush=True)) as st:
    print("ready", flush=True)
    step = 0
    while not stop:
        step += 1
        print("start", step, flush=True)
        time.sleep(0.02)  # the step's work: a signal arriving here lets it finish
        print("end", step, flush=True)
    try:
        print("saving", flush=True)  # inside the try: the test's second signal may come at once
        time.sleep(float(sys.argv[1]))  # saving
    except KeyboardInterrupt:
        print("aborted", flush=True)
        sys.exit(3)
    print("saved after step", step, flush=True)
sys.exit(st.exit_code)
"""


def _start(save_s: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [sys.executable, "-c", LOOP, str(save_s)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    assert proc.stdout.readline().startswith("start")  # inside the loop
    return proc


@POSIX
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_signal_finishes_the_step_saves_and_exits_with_its_code(name):
    proc = _start()
    proc.send_signal(getattr(signal, name))
    out, _ = proc.communicate(timeout=60)
    lines = out.splitlines()
    assert proc.returncode == EXIT_CODES[name] == 128 + getattr(signal, name)
    assert f"got {name}" in lines
    last = int(lines[-1].split()[-1])
    assert lines[-1] == f"saved after step {last}" and f"end {last}" in lines


@POSIX
def test_second_signal_aborts_at_once():
    proc = _start(save_s=120)
    assert proc.stdout is not None
    proc.send_signal(signal.SIGTERM)
    while proc.stdout.readline().strip() != "saving":
        pass
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3 and out.splitlines()[-1] == "aborted"


@POSIX
def test_in_process_handlers_grace_and_restore():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    calls: list[int] = []
    with stop_on_signals(lambda: calls.append(1), grace_s=60) as state:
        assert state.signal is None and state.exit_code == 0
        assert signal.getsignal(signal.SIGHUP) is not before[signal.SIGHUP]
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(
            os.getpid(), signal.SIGINT
        )  # within the grace: the same keypress forwarded, ignored
    assert calls == [1]
    assert state.signal == "SIGHUP" and state.exit_code == 129
    assert {s: signal.getsignal(s) for s in before} == before


@POSIX
def test_second_signal_after_the_grace_raises_keyboard_interrupt():
    with pytest.raises(KeyboardInterrupt), stop_on_signals(lambda: None) as state:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
    assert state.signal == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(
        signal.getsignal(signal.SIGTERM)
    )


def test_off_the_main_thread_nothing_is_installed():
    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def work() -> None:
        with stop_on_signals(lambda: None) as state:
            seen.append(signal.getsignal(signal.SIGINT))
            seen.append(state.signal)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [before, None]
