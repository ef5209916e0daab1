"""orders-pipeline: streaming CDC analytics for ecommerce orders on AWS, orchestrated by Dagster."""

__version__ = "0.1.0"
