"""orders-pipeline: a streaming CDC analytics pipeline for ecommerce orders on AWS, driven by Dagster."""

__version__ = "0.1.0"
