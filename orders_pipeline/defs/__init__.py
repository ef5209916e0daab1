"""Dagster definitions of the pipeline, one folder per domain; `definitions.py` loads them all."""
