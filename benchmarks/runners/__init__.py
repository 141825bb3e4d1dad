"""One training (+ prediction) run of one tool in a fresh process: ``ours`` (this venv) and ``peer``
(CAREamics, in the peer venv). Same command line for both; each prints one JSON line."""
