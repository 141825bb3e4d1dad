"""Many files and big arrays: jobs and events (``jobs``), the run loop (``run``), dask clusters (``cluster``)."""
