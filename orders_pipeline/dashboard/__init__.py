"""The orders dashboard: the aggregate tables read through Athena, rendered as one offline page."""
