"""The Noise2Void engine: plain Python, NumPy and PyTorch. Never imports Qt, napari, magicgui or superqt."""
