"""docs/benchmarks.md from the result files: ``build`` (the page), ``cpu``, ``more`` and ``gpu``
(the sections, one per suite), ``fmt`` (markdown pieces)."""
