"""CloudWatch: metric data points kept for a bounded time."""
