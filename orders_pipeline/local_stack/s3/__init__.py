"""S3: bucket policies with conditions, and direct object access for the in-process engines."""
