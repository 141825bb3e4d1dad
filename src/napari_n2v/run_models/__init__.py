"""Qt-free, evented run models: the state of the Train and Predict widgets (current model, running job,
source layer name, config) and the events the widgets render. Importing this never imports Qt or napari.

- :mod:`.jobs`: how a run model starts a job (a launcher: synchronous here, a superqt worker in ``_qt``).
- :mod:`.train_run`, :mod:`.predict_run`: the two run models. :mod:`.registry`: this session's models.
"""
