"""Amazon Data Firehose: the Kinesis-sourced delivery data plane and its S3 naming rules."""
