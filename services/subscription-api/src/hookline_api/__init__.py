"""hookline_api."""
