"""Mock order generation: writes order changes to DynamoDB."""
