"""Analytics: Athena tables written as Parquet, their checks and schedules."""
