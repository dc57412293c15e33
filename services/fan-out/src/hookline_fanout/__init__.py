"""hookline_fanout."""
