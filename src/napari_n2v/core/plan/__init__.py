"""Resolve once: config + data + machine -> a frozen plan in which every open default is settled.

``machine`` says what the hardware runs (device, precision, instruction set), ``defaults`` what an open
(None / "auto") setting means there, ``train_plan`` and ``predict_plan`` settle a whole run. The trainer,
prediction, the cluster path, the widgets' "auto (...)" labels and the CLI help read these and never
re-derive a default.
"""
