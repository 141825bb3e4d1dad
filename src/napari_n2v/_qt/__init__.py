"""The napari face of napari-n2v: dock widgets and the session's model registry (imports Qt)."""
