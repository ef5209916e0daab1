"""EventBridge Pipes: the DynamoDB stream -> Kinesis data plane."""
