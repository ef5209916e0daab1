"""DynamoDB and DynamoDB Streams: stream records made and read at a cost that does not grow."""
