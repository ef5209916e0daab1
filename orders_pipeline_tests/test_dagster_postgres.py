"""The production instance config on a real PostgreSQL (runs in-process instead of on ECS): the
pipeline's assets materialize against the local stack, the runs and materializations are read
back from the database, and the steps' logs land under the data bucket's compute-log prefix."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from orders_pipeline.defs.resources import environment_from_outputs
from orders_pipeline.demo import count_new_records
from orders_pipeline_tests.isolated_stack import deploy_isolated_stack
from orders_pipeline_tests.polling import wait_for
from orders_pipeline_tests.production_instance import write_dagster_home

ORDERS = 20
GENERATED = dg.AssetKey("generated_orders")
CRAWLED = [dg.AssetKey("raw_order_events"), dg.AssetKey("orders_raw")]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
COMPUTE_LOG_PREFIX = "dagster/compute-logs"  # the template's default


@pytest.fixture(scope="module")
def pipeline(local_stack):
    """Definitions pointed at an isolated pipeline stack of this module's own."""
    _, outputs = deploy_isolated_stack("pg")
    saved = dict(os.environ)
    os.environ.update(environment_from_outputs(outputs))
    from orders_pipeline.definitions import defs

    try:
        yield defs(), outputs
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def instance(postgres, pipeline, tmp_path_factory):
    """A DagsterInstance from infra/dagster/dagster.yaml: storage on the PostgreSQL server,
    compute logs in the pipeline's data bucket, the environment the template sets."""
    _, outputs = pipeline
    saved = dict(os.environ)
    os.environ.update(
        {
            **postgres.environment(),
            "DAGSTER_MAX_CONCURRENT_RUNS": "2",
            "DAGSTER_COMPUTE_LOG_BUCKET": outputs["DataBucketName"],
            "DAGSTER_COMPUTE_LOG_PREFIX": COMPUTE_LOG_PREFIX,
        }
    )
    home = write_dagster_home(tmp_path_factory.mktemp("dagster-home"), compute_logs_in_s3=True)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def runs(instance, pipeline):
    """generate ORDERS orders, wait for Firehose to deliver them, crawl: two runs' results."""
    definitions, outputs = pipeline
    job = definitions.resolve_implicit_global_asset_job_def()
    generated = job.execute_in_process(
        instance=instance,
        asset_selection=[GENERATED],
        # Dagster's own log lines at their default level: the step's stderr, uploaded to S3.
        run_config={"ops": {"generated_orders": {"config": {"count": ORDERS}}}},
    )
    written = generated.asset_materializations_for_node("generated_orders")[0].metadata
    changes = written["dagster/row_count"].value
    with dg.build_resources({"data_lake": definitions.resources["data_lake"]}) as live:
        seen: dict[str, int] = {}
        prefixes = (live.data_lake.raw_prefix, live.data_lake.error_prefix)
        wait_for(
            lambda: count_new_records(live.data_lake, prefixes, seen) >= changes,
            timeout=60,
            what=f"Firehose to deliver {changes} changes",
        )
    crawled = job.execute_in_process(instance=instance, asset_selection=CRAWLED, run_config=QUIET)
    return generated, crawled


def test_the_instance_stores_runs_events_and_schedules_in_postgres(instance):
    storages = (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
    assert [type(s).__name__ for s in storages] == [
        "PostgresRunStorage",
        "PostgresEventLogStorage",
        "PostgresScheduleStorage",
    ]


def test_the_instance_queues_runs_with_the_configured_limit(instance):
    coordinator = instance.run_coordinator
    assert type(coordinator).__name__ == "QueuedRunCoordinator"
    assert coordinator.get_run_queue_config().max_concurrent_runs == 2


def test_both_runs_succeed(runs):
    assert [result.success for result in runs] == [True, True]


def test_the_runs_are_read_back_from_postgres_as_succeeded(instance, runs, postgres):
    run_ids = [result.run_id for result in runs]
    for run_id in run_ids:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
    with postgres.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT run_id, status FROM runs WHERE run_id = ANY(%s)", (run_ids,))
        assert dict(cursor.fetchall()) == dict.fromkeys(run_ids, "SUCCESS")


def test_each_materialization_is_an_event_row_in_postgres(runs, postgres):
    generated, crawled = runs
    with postgres.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT run_id, asset_key FROM event_logs "
            "WHERE dagster_event_type = 'ASSET_MATERIALIZATION' AND run_id = ANY(%s)",
            ([generated.run_id, crawled.run_id],),
        )
        rows = sorted(cursor.fetchall())
    assert rows == sorted(
        [
            (generated.run_id, GENERATED.to_string()),
            (crawled.run_id, dg.AssetKey("orders_raw").to_string()),
        ]
    )


def test_the_latest_materialization_carries_the_asset_metadata(instance, runs):
    generated, _ = runs
    (record,) = instance.fetch_materializations(GENERATED, limit=1).records
    assert record.run_id == generated.run_id
    metadata = record.asset_materialization.metadata
    assert metadata["dagster/row_count"].value >= ORDERS


def test_the_crawl_materialization_counts_the_partitions_it_found(instance, runs):
    _, crawled = runs
    (record,) = instance.fetch_materializations(dg.AssetKey("orders_raw"), limit=1).records
    assert record.run_id == crawled.run_id
    assert record.asset_materialization.metadata["partitions"].value >= 1


def test_the_step_logs_land_under_the_compute_log_prefix_of_the_data_bucket(
    runs, pipeline, aws_client
):
    generated, _ = runs
    _, outputs = pipeline
    prefix = f"{COMPUTE_LOG_PREFIX}/storage/{generated.run_id}/"
    listing = aws_client("s3").list_objects_v2(Bucket=outputs["DataBucketName"], Prefix=prefix)
    # skip_empty_files: a stream the step left empty (here stdout) is not uploaded.
    suffixes = {obj["Key"].rsplit(".", 1)[-1] for obj in listing.get("Contents", [])}
    assert "err" in suffixes
