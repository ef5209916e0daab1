"""CloudWatch Logs: log streams in CloudFormation, log group retention."""
