"""Every service's metering rules in one place: the gateway's request meter, and the samplers of
what AWS bills by the hour (storage, shards), integrated over the time between two samples."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from orders_pipeline.local_stack.awslambda import metering as lambda_metering
from orders_pipeline.local_stack.dynamodb import metering as dynamodb_metering
from orders_pipeline.local_stack.firehose import metering as firehose_metering
from orders_pipeline.local_stack.glue import metering as glue_metering
from orders_pipeline.local_stack.kinesis import metering as kinesis_metering
from orders_pipeline.local_stack.metering.meters import Meters
from orders_pipeline.local_stack.metering.requests import RequestMeter
from orders_pipeline.local_stack.pipes import metering as pipes_metering
from orders_pipeline.local_stack.s3 import metering as s3_metering
from orders_pipeline.local_stack.sqs import metering as sqs_metering

Sample = Callable[[float], dict[str, float]]
# Each sampler with how often it looks (a table's items are costly to size: rarely).
SAMPLERS: tuple[tuple[Sample, float], ...] = (
    (s3_metering.sample, 60.0),
    (kinesis_metering.sample, 10.0),
    (dynamodb_metering.sample, 600.0),
)


def request_meter() -> RequestMeter:
    return RequestMeter(
        rules={
            "s3": s3_metering.rules,
            "dynamodb": dynamodb_metering.rules,
            "dynamodbstreams": dynamodb_metering.streams_rules,
            "kinesis": kinesis_metering.rules,
            "awslambda": lambda_metering.rules,
            "glue": glue_metering.rules,
            "sqs": sqs_metering.rules,
        },
        callers={
            firehose_metering.CALLER: firehose_metering.rules,
            pipes_metering.CALLER: pipes_metering.rules,
        },
    )


class Sampling:
    """Runs each sampler once its period passed, billing the level it sees over the time since
    its previous look (so a level is never billed twice, whoever asks)."""

    def __init__(self, meters: Meters, samplers=SAMPLERS) -> None:
        self._meters = meters
        self._samplers = samplers
        self._lock = threading.Lock()
        now = time.time()
        self._last = [now for _ in samplers]

    def sample(self, now: float | None = None, *, force: bool = False) -> None:
        now = time.time() if now is None else now
        with self._lock:
            for number, (sampler, period) in enumerate(self._samplers):
                elapsed = now - self._last[number]
                if elapsed <= 0 or (elapsed < period and not force):
                    continue
                self._meters.add_many(sampler(elapsed))
                self._last[number] = now
