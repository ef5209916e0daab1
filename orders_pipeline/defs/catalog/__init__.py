"""Catalog: the Glue crawler that turns the landing zone into the raw table."""
