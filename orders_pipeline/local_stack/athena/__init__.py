"""Athena: statements run on DuckDB over the S3 objects the Glue catalog describes."""
