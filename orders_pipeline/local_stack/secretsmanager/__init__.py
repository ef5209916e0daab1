"""Secrets Manager: the CloudFormation secret with a generated string."""
