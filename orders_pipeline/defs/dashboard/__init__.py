"""Dashboard: the HTML page over the aggregate tables, refreshed whenever they are."""
