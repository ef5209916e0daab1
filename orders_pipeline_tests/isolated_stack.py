"""Deploy the pipeline stack on the local stack under unique names, so a test owns all its data."""

import uuid
from typing import Any

import pandas as pd
from pyathena import connect

from orders_pipeline.deploy import deploy_stack
from orders_pipeline.local_stack.stack import LOCAL_DEPLOY_PARAMETERS


def deploy_isolated_stack(label: str, **overrides: str) -> tuple[str, dict[str, str]]:
    """A second copy of the pipeline (table, stream, bucket, crawler, ...): name and Outputs.
    `overrides`: more template parameters (e.g. OrdersTableStreamViewType)."""
    name = f"{label}-{uuid.uuid4().hex[:8]}"
    parameters = {
        **LOCAL_DEPLOY_PARAMETERS,
        "OrdersTableName": f"orders-{name}",
        "PipeName": f"pipe-{name}",
        "KinesisStreamName": f"stream-{name}",
        "TransformFunctionName": f"transform-{name}",
        "DeliveryStreamName": f"delivery-{name}",
        "DataBucketName": f"data-{name}",
        "GlueDatabaseName": f"orders_{name.replace('-', '_')}",
        "GlueCrawlerName": f"crawler-{name}",
        "AthenaWorkGroupName": f"workgroup-{name}",
        **overrides,
    }
    stack_name = f"orders-{name}"
    return stack_name, deploy_stack(stack_name=stack_name, parameters=parameters)


def read_table(outputs: dict[str, str], table: str) -> pd.DataFrame:
    """A whole table through pyathena, as a user of the stack would read it."""
    connection = connect(
        work_group=outputs["AthenaWorkGroupName"],
        s3_staging_dir=outputs["AthenaOutputLocation"],
        schema_name=outputs["GlueDatabaseName"],
    )
    with connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        names = [column[0] for column in cursor.description]
        rows: list[Any] = cursor.fetchall()
    return pd.DataFrame(rows, columns=names)
