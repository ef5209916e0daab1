"""A raw table made the way the pipeline makes it: a Glue crawler over a bucket's raw prefix."""

from __future__ import annotations

from typing import Any

from orders_pipeline_tests.polling import wait_for


def crawl_raw(glue: Any, *, bucket: str, database: str, crawler: str, timeout: float) -> None:
    """Create `database` and a crawler over s3://bucket/raw/orders_raw/, run it to the end."""
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_crawler(
        Name=crawler,
        Role="arn:aws:iam::123456789012:role/crawler",
        DatabaseName=database,
        Targets={"S3Targets": [{"Path": f"s3://{bucket}/raw/orders_raw/"}]},
    )
    glue.start_crawler(Name=crawler)
    wait_for(
        lambda: glue.get_crawler(Name=crawler)["Crawler"].get("LastCrawl"),
        timeout,
        "the crawl",
        interval=0.05,
    )
