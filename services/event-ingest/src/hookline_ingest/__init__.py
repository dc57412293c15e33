"""hookline_ingest."""
