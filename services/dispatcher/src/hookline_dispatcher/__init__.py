"""hookline_dispatcher."""
