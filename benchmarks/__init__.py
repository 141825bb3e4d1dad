"""Benchmarks of napari-n2v: one harness, named suites, one report (see ``__main__.py``).

Nothing here is imported by the package. This file stays free of imports: the peer's runner imports
``benchmarks.harness.basics`` inside the peer venv, where napari_n2v is not installed.
"""
