"""SQS: the Pipe's dead-letter queue, as moto serves it; billed by metering.py."""
