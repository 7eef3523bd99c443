"""Archive (re-)tagging: streaming readers, resumable parallel jobs, and a Dask engine."""
