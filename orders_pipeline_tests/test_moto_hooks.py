"""The moto internals our hooks rely on are still there: an upgrade that moves one fails here."""

from __future__ import annotations

import inspect
import pkgutil
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from moto import backends
from moto.athena.models import AthenaBackend, Execution, QueryResults
from moto.awslambda.models import LambdaFunction
from moto.cloudformation import parsing
from moto.cloudformation.models import CloudFormationBackend
from moto.core.responses import BaseResponse
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamRecord
from moto.dynamodbstreams.models import ShardIterator
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.firehose.models import FirehoseBackend
from moto.glue.models import FakeCrawl, FakeCrawler, GlueBackend
from moto.iam.access_control import IAMPolicyStatement
from moto.kinesis.models import KinesisBackend, Record, Shard
from moto.kinesis.responses import KinesisResponse
from moto.logs.models import LogsBackend
from moto.moto_api._internal import urls as moto_api_urls
from moto.pipes.models import EventBridgePipesBackend
from moto.s3.models import FakeBucket, S3Backend
from moto.server import ThreadedMotoServer

from orders_pipeline.local_stack import moto_hooks
from orders_pipeline.local_stack.moto_hooks import (
    athena,
    awslambda,
    dispatch,
    dynamodbstreams,
    glue,
    internals,
    kinesis,
    responses,
    s3_objects,
    s3_policy,
)
from orders_pipeline.local_stack.moto_hooks import cloudformation as cfn_hooks

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# moto's own functions; those our hooks replace keep moto's original as `moto_original`.
MOTO_FUNCTIONS = {
    "LambdaFunction.invoke": lambda: LambdaFunction.invoke,
    "LambdaFunction._invoke_lambda": lambda: LambdaFunction._invoke_lambda,
    "LambdaFunction.save_logs": lambda: LambdaFunction.save_logs,
    "EventBridgePipesBackend.create_pipe": lambda: EventBridgePipesBackend.create_pipe,
    "EventBridgePipesBackend.update_pipe": lambda: EventBridgePipesBackend.update_pipe,
    "FirehoseBackend.create_delivery_stream": lambda: FirehoseBackend.create_delivery_stream,
    "GlueBackend.create_database": lambda: GlueBackend.create_database,
    "GlueBackend.create_crawler": lambda: GlueBackend.create_crawler,
    "CloudFormationBackend.update_stack": lambda: CloudFormationBackend.update_stack,
    "CloudFormationBackend._resolve_update_parameters": (
        lambda: CloudFormationBackend._resolve_update_parameters
    ),
    "FakeBucket.get_permission": lambda: FakeBucket.get_permission,
    "IAMPolicyStatement.is_action_permitted": lambda: IAMPolicyStatement.is_action_permitted,
    "ThreadedMotoServer.__init__": lambda: ThreadedMotoServer.__init__,
    "KinesisResponse.put_records": lambda: KinesisResponse.put_records,
    "KinesisResponse.get_records": lambda: KinesisResponse.get_records,
    "Shard.get_records": lambda: Shard.get_records,
    "Shard.get_max_sequence_number": lambda: Shard.get_max_sequence_number,
    "DynamoDBStreamsHandler.get_records": lambda: DynamoDBStreamsHandler.get_records,
    "StreamRecord.__init__": lambda: StreamRecord.__init__,
    "StreamRecord.to_json": lambda: StreamRecord.to_json,
}

# Hook modules that check their moto internals before patching (cloudformation's are checked by
# the signature tables here); a new hook module must join them.
CHECKED_HOOK_MODULES = [
    athena,
    awslambda,
    dispatch,
    dynamodbstreams,
    glue,
    kinesis,
    responses,
    s3_objects,
    s3_policy,
]

# moto methods the data plane and the Athena/Glue hooks call positionally: their leading parameters.
CALLED_POSITIONALLY = [
    (KinesisBackend.put_records, ["self", "stream_arn", "stream_name", "records"]),
    (KinesisBackend.get_records, ["self", "stream_arn", "shard_iterator", "limit"]),
    (ShardIterator.__init__, ["self", "streams_backend", "stream_shard", "shard_iterator_type"]),
    (S3Backend.list_objects, ["self", "bucket", "prefix", "delimiter", "marker", "max_keys"]),
    (S3Backend.get_bucket, ["self", "bucket_name"]),
    (S3Backend.get_object, ["self", "bucket_name", "key_name"]),
    (S3Backend.put_object, ["self", "bucket_name", "key_name", "value"]),
    (LogsBackend.ensure_log_group, ["self", "log_group_name"]),
    (GlueBackend.get_tables, ["self", "database_name", "expression"]),
    (GlueBackend.get_table, ["self", "database_name", "table_name"]),
    (GlueBackend.create_table, ["self", "database_name", "table_name", "table_input"]),
    (GlueBackend.update_table, ["self", "database_name", "table_name", "table_input"]),
    (GlueBackend.delete_table, ["self", "database_name", "table_name"]),
    (GlueBackend.batch_create_partition, ["self", "database_name", "table_name"]),
    (GlueBackend.delete_partition, ["self", "database_name", "table_name", "part_to_delete"]),
    (GlueBackend.get_crawler, ["self", "name"]),
    (FakeCrawl.__init__, ["self", "crawler_name"]),
    (Execution.__init__, ["self", "query", "context", "config", "workgroup"]),
    (QueryResults.__init__, ["self", "rows", "column_info"]),
]

# Backend methods the CloudFormation models call, with the parameters they pass.
BACKEND_METHODS = [
    (EventBridgePipesBackend.describe_pipe, ["self", "name"]),
    (EventBridgePipesBackend.delete_pipe, ["self", "name"]),
    (FirehoseBackend.delete_delivery_stream, ["self", "delivery_stream_name"]),
    (GlueBackend.update_database, ["self", "database_name", "database_input"]),
    (GlueBackend.delete_database, ["self", "database_name"]),
    (GlueBackend.delete_crawler, ["self", "name"]),
    (AthenaBackend.create_work_group, ["self", "name", "configuration", "description", "tags"]),
    (AthenaBackend.delete_work_group, ["self", "name"]),
    (S3Backend.put_bucket_policy, ["self", "bucket_name", "policy"]),
    (S3Backend.delete_bucket_policy, ["self", "bucket_name"]),
    (S3Backend.put_public_access_block, ["self", "bucket_name", "pub_block_config"]),
    (S3Backend.put_bucket_versioning, ["self", "bucket_name", "status"]),
    (S3Backend.put_bucket_ownership_controls, ["self", "bucket_name", "ownership"]),
    (S3Backend.put_bucket_lifecycle, ["self", "bucket_name", "rules"]),
    (
        KinesisBackend.start_stream_encryption,
        ["self", "stream_arn", "stream_name", "encryption_type", "key_id"],
    ),
    (KinesisBackend.update_stream_mode, ["self", "stream_arn", "stream_mode"]),
    (DynamoDBBackend.update_continuous_backups, ["self", "table_name", "point_in_time_spec"]),
    (LogsBackend.create_log_stream, ["self", "log_group_name", "log_stream_name"]),
    (LogsBackend.delete_log_stream, ["self", "log_group_name", "log_stream_name"]),
]

HOOKED_TYPES = [
    "AWS::Pipes::Pipe",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::Glue::Database",
    "AWS::Glue::Classifier",
    "AWS::Glue::Crawler",
    "AWS::Athena::WorkGroup",
    "AWS::S3::BucketPolicy",
    "AWS::Logs::LogStream",
]


def test_moto_is_the_exact_version_pyproject_pins():
    pin = re.search(r'"moto\[server\]==([^"]+)"', PYPROJECT.read_text())
    assert pin is not None, "pyproject.toml must pin moto[server]==<version>"
    assert version("moto") == pin.group(1)


@pytest.mark.parametrize("resource_type", HOOKED_TYPES)
def test_cloudformation_maps_the_type_to_our_model_after_install(resource_type):
    moto_hooks.install()
    model = parsing.get_model_map()[resource_type]
    assert model.__module__ == cfn_hooks.__name__
    # moto only finds direct subclasses.
    assert parsing.CloudFormationModel in model.__bases__


@pytest.mark.parametrize("cached", ["get_model_list", "get_model_map", "get_name_type_map"])
def test_cloudformation_type_map_is_an_lru_cache_we_can_clear(cached):
    assert callable(getattr(getattr(parsing, cached), "cache_clear", None))


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("LambdaFunction.invoke", ["self", "body", "request_headers", "response_headers"]),
        ("LambdaFunction._invoke_lambda", ["self", "event"]),
        ("LambdaFunction.save_logs", ["self", "output"]),
        (
            "EventBridgePipesBackend.create_pipe",
            [
                "self",
                "name",
                "description",
                "desired_state",
                "source",
                "source_parameters",
                "enrichment",
                "enrichment_parameters",
                "target",
                "target_parameters",
                "role_arn",
                "tags",
                "log_configuration",
                "kms_key_identifier",
            ],
        ),
        (
            "EventBridgePipesBackend.update_pipe",
            [
                "self",
                "name",
                "role_arn",
                "description",
                "desired_state",
                "source_parameters",
                "enrichment",
                "enrichment_parameters",
                "target",
                "target_parameters",
                "log_configuration",
                "kms_key_identifier",
            ],
        ),
        (
            "FirehoseBackend.create_delivery_stream",
            [
                "self",
                "region",
                "delivery_stream_name",
                "delivery_stream_type",
                "kinesis_stream_source_configuration",
                "delivery_stream_encryption_configuration_input",
                "s3_destination_configuration",
                "extended_s3_destination_configuration",
                "redshift_destination_configuration",
                "elasticsearch_destination_configuration",
                "splunk_destination_configuration",
                "http_endpoint_destination_configuration",
                "snowflake_destination_configuration",
                "iceberg_destination_configuration",
                "tags",
            ],
        ),
        ("GlueBackend.create_database", ["self", "database_name", "database_input", "tags"]),
        (
            "GlueBackend.create_crawler",
            [
                "self",
                "name",
                "role",
                "database_name",
                "description",
                "targets",
                "schedule",
                "classifiers",
                "table_prefix",
                "schema_change_policy",
                "recrawl_policy",
                "lineage_configuration",
                "configuration",
                "crawler_security_configuration",
                "tags",
            ],
        ),
        (
            "CloudFormationBackend.update_stack",
            ["self", "name", "template", "role_arn", "parameters", "tags"],
        ),
        (
            "CloudFormationBackend._resolve_update_parameters",
            ["self", "instance", "incoming_params"],
        ),
        ("FakeBucket.get_permission", ["self", "action", "resource"]),
        (
            "IAMPolicyStatement.is_action_permitted",
            ["self", "action", "resource", "principal", "incoming_condition_values"],
        ),
        ("ThreadedMotoServer.__init__", ["self", "ip_address", "port", "verbose"]),
        ("KinesisResponse.put_records", ["self"]),
        ("KinesisResponse.get_records", ["self"]),
        ("Shard.get_records", ["self", "last_sequence_id", "limit"]),
        ("Shard.get_max_sequence_number", ["self"]),
        ("DynamoDBStreamsHandler.get_records", ["self"]),
        (
            "StreamRecord.__init__",
            ["self", "table", "stream_type", "event_name", "old", "new", "seq"],
        ),
        ("StreamRecord.to_json", ["self"]),
    ],
)
def test_moto_internal_keeps_its_signature(name, parameters):
    moto_hooks.install()
    current = MOTO_FUNCTIONS[name]()
    function = getattr(current, "moto_original", current)
    assert function.__module__.startswith("moto."), f"{name}: moto's original is not reachable"
    assert list(inspect.signature(function).parameters) == parameters


@pytest.mark.parametrize(
    ("method", "parameters"), BACKEND_METHODS, ids=[m.__qualname__ for m, _ in BACKEND_METHODS]
)
def test_backend_method_the_cloudformation_models_call_keeps_its_signature(method, parameters):
    assert list(inspect.signature(method).parameters) == parameters


@pytest.mark.parametrize(
    ("method", "parameters"),
    CALLED_POSITIONALLY,
    ids=[m.__qualname__ for m, _ in CALLED_POSITIONALLY],
)
def test_method_our_hooks_call_keeps_its_leading_parameters(method, parameters):
    assert list(inspect.signature(method).parameters)[: len(parameters)] == parameters


@pytest.mark.parametrize("hook_module", CHECKED_HOOK_MODULES, ids=lambda m: m.__name__)
def test_hook_module_finds_every_moto_member_it_names(hook_module):
    hook_module.check_internals()


def test_every_hook_module_but_cloudformation_checks_its_internals():
    modules = {info.name for info in pkgutil.iter_modules(moto_hooks.__path__)}
    checked = {module.__name__.rsplit(".", 1)[1] for module in CHECKED_HOOK_MODULES}
    assert modules - {"internals", "cloudformation"} == checked


def test_a_moto_member_gone_after_an_upgrade_is_named():
    class Backend:
        def kept(self) -> None: ...

    with pytest.raises(RuntimeError, match=r"\.Backend\.removed is gone: hooks\.x needs updating"):
        internals.require_members("hooks.x", {Backend: ("kept", "removed")})


def test_an_instance_attribute_gone_after_an_upgrade_is_named():
    class Model:
        def __init__(self) -> None:
            self.kept: int = 1

    internals.require_instance_attributes("hooks.x", {Model: ("kept",)})
    with pytest.raises(RuntimeError, match=r"\.Model\.removed \(set in __init__\) is gone"):
        internals.require_instance_attributes("hooks.x", {Model: ("kept", "removed")})


def test_response_without_an_xml_request_id_is_returned_as_is_with_motos_headers():
    moto_hooks.install()
    body = '{"Records": [{"Data": "' + "x" * 1000 + '"}]}'

    headers, returned = BaseResponse._enrich_response({"status": 200}, body)

    assert returned is body
    assert headers["status"] == "200"
    assert headers["x-amzn-requestid"]


def test_xml_request_id_is_still_filled_in():
    moto_hooks.install()
    body = "<Response><RequestId>placeholder</RequestId></Response>"

    headers, returned = BaseResponse._enrich_response({}, body)

    assert returned == f"<Response><RequestId>{headers['x-amzn-requestid']}</RequestId></Response>"


def test_data_plane_reads_the_record_and_shard_state_moto_keeps():
    shard = Shard(shard_id=0, starting_hash=0, ending_hash=1)
    record = Record(partition_key="p", data="ZA==", sequence_number=1, explicit_hash_key="1")
    assert isinstance(shard.records, dict)
    for attribute in (
        "partition_key",
        "data",
        "sequence_number",
        "created_at",
        "created_at_datetime",
    ):
        assert hasattr(record, attribute), f"moto's kinesis Record no longer has {attribute}"
    crawl = FakeCrawl("crawler")
    for attribute in ("log_group", "log_stream", "message_prefix", "start_time", "end_time"):
        assert hasattr(crawl, attribute), f"moto's FakeCrawl no longer has {attribute}"


def test_glue_crawler_keeps_the_attributes_the_crawl_hooks_read():
    source = inspect.getsource(FakeCrawler)
    for attribute in (
        "self.name",
        "self.crawls",
        "self.targets",
        "self.schema_change_policy",
        "self.table_prefix",
        "self.database_name",
        "self.backend",
        "self.crawl_elapsed_time",
    ):
        assert attribute in source, f"moto's FakeCrawler no longer sets {attribute}"


def test_lambda_function_keeps_the_attributes_the_runtime_reads():
    source = inspect.getsource(LambdaFunction.__init__) + inspect.getsource(LambdaFunction)
    for attribute in (
        "self.code_bytes",
        "self.code_sha_256",
        "self.handler",
        "self.timeout",
        "self.environment_vars",
        "self.memory_size",
        "self.function_arn",
        "self.version",
        "self.logs_backend",
        "self.logs_group_name",
    ):
        assert attribute in source, f"moto's LambdaFunction no longer sets {attribute}"


def test_moto_api_routes_come_from_a_url_paths_table():
    assert "{0}/moto-api/reset" in moto_api_urls.url_paths


def test_install_is_idempotent():
    moto_hooks.install()
    patched = (LambdaFunction.invoke, FakeBucket.get_permission, CloudFormationBackend.update_stack)
    moto_hooks.install()
    assert (
        LambdaFunction.invoke,
        FakeBucket.get_permission,
        CloudFormationBackend.update_stack,
    ) == patched
    assert moto_api_urls.url_paths["{0}" + moto_hooks.STATUS_PATH] is not None


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"Bool": {"aws:SecureTransport": "false"}}, False),
        ({"Bool": {"aws:SecureTransport": "true"}}, True),
        ({"Bool": {"AWS:securetransport": ["false", "true"]}}, True),
        ({"StringNotEquals": {"aws:SecureTransport": "true"}}, False),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, None),
        ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, None),
    ],
)
def test_bucket_policy_condition_in_the_local_request_context(condition, holds):
    assert s3_policy.condition_holds(condition, s3_policy.REQUEST_CONTEXT) is holds


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("BatchSize", "ten", "BatchSize must be an integer, got 'ten'"),
        ("Enabled", "yes", "Enabled must be true or false, got 'yes'"),
    ],
)
def test_template_value_of_the_wrong_type_names_the_field(field, text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        cfn_hooks.typed({"Outer": [{field: text}]})


def test_template_strings_become_the_types_the_api_returns():
    converted = cfn_hooks.typed(
        {
            "BufferingHints": {"IntervalInSeconds": "1", "SizeInMBs": "5"},
            "Enabled": "True",
            "Prefix": "raw/",
        }
    )
    assert converted == {
        "BufferingHints": {"IntervalInSeconds": 1, "SizeInMBs": 5},
        "Enabled": True,
        "Prefix": "raw/",
    }


def test_lifecycle_rule_from_cloudformation_has_the_api_shape():
    rule = {
        "Id": "expire-errors",
        "Status": "Enabled",
        "Prefix": "errors/",
        "ExpirationInDays": 90,
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }
    assert cfn_hooks.lifecycle_rule(rule) == {
        "ID": "expire-errors",
        "Status": "Enabled",
        "Filter": {"Prefix": "errors/"},
        "Expiration": {"Days": "90"},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": "1"},
    }


def test_lifecycle_rule_field_we_cannot_apply_is_named():
    with pytest.raises(ValueError, match="TagFilters"):
        cfn_hooks.lifecycle_rule({"Status": "Enabled", "TagFilters": []})


def test_dispatcher_finds_backends_from_the_module_list_taken_once(monkeypatch):
    moto_hooks.install()
    listed = list(backends.list_of_moto_modules.moto_original())
    monkeypatch.setattr("os.listdir", lambda path: pytest.fail(f"listed {path} per request"))

    assert list(backends.list_of_moto_modules()) == listed
    assert "dynamodb" in backends.list_of_moto_modules()
