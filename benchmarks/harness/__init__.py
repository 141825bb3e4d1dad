"""Shared helpers: ``basics`` (no dependency beyond numpy: both venvs), ``machine``, ``results``,
``peer`` (the side-by-side runner) and ``runner_args`` (the runners' common command line)."""
