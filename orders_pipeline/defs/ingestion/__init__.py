"""Ingestion: the Firehose landing zone in S3, its arrival and error sensors."""
