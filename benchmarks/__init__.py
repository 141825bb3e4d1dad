"""Benchmarks of napari-n2v (README.md). No imports here: the peer's runner imports
``benchmarks.harness.basics`` inside the peer venv, where napari_n2v is not installed."""
