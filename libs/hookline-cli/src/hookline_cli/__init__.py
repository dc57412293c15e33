"""hookline_cli."""
