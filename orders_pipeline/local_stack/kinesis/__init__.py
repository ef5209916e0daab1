"""Kinesis Data Streams: PutRecords and GetRecords at a cost that does not grow with a shard."""
