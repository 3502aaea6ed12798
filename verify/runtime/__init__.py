"""How work runs: sweeps on local / process-pool / Dask executors (``sweep``) and progress
bars (``progress``)."""
