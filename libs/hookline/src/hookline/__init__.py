"""hookline."""
