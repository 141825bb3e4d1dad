"""Qt-free, evented run models: the state of the Train and Predict widgets and of the zoo export (current
model, running job, source layer name, config) and the events the widgets render. Importing this never
imports Qt or napari.

- :mod:`.jobs`: how a run model starts a job (a launcher: synchronous here, a superqt worker in ``_qt``).
- :mod:`.job_state`: the one job kernel (start, the five handlers, cancel, an evented state) that every
  run model subclasses.
- :mod:`.train_run`, :mod:`.predict_run`, :mod:`.files_run`, :mod:`.export_run`: the run models.
  :mod:`.registry`: this session's models.
"""
