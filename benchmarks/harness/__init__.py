"""Shared helpers: ``basics`` (numpy only: both venvs), ``machine``, ``results``, ``child`` (fresh
processes), ``peer`` (the side-by-side runner) and ``runner_args`` (the runners' command line)."""
