"""CloudFormation on moto: the resource types it skips (Pipes, Firehose, Glue, Athena, ...), the
properties it ignores on its own types, and UpdateStack's "No updates are to be performed."."""

from __future__ import annotations

import json
import re
from typing import Any

from moto.athena.models import athena_backends
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.models import CloudFormationBackend, Event, Stack
from moto.cloudformation.parsing import OutputMap
from moto.core.common_models import CloudFormationModel
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.firehose.models import firehose_backends
from moto.glue.models import glue_backends
from moto.kinesis.models import Stream, kinesis_backends
from moto.logs.models import LogGroup, logs_backends
from moto.pipes.models import pipes_backends
from moto.s3.models import FakeBucket, s3_backends
from moto.utilities.utils import get_partition

from orders_pipeline.local_stack.moto_hooks import glue as glue_hooks

# Template values arrive as strings when they come from String parameters or Fn::Sub; the APIs
# (and the workers reading them back) expect these fields typed.
_INTEGER_FIELDS = frozenset(
    {
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "MaximumRecordAgeInSeconds",
        "MaximumRetryAttempts",
        "ParallelizationFactor",
        "IntervalInSeconds",
        "SizeInMBs",
        "DurationInSeconds",
        "BytesScannedCutoffPerQuery",
    }
)
_BOOLEAN_FIELDS = frozenset(
    {
        "Enabled",
        "EnforceWorkGroupConfiguration",
        "PublishCloudWatchMetricsEnabled",
        "RequesterPaysEnabled",
        "BisectBatchOnFunctionError",
    }
)


def install() -> None:
    """Complete moto's own bucket/stream/table/log-group models and UpdateStack (idempotent).

    The new resource types need no patching: defining the subclasses registers them.
    """
    if hasattr(CloudFormationBackend.update_stack, "moto_original"):
        return
    _complete_after_moto(FakeBucket, _complete_bucket)
    _complete_after_moto(Stream, _complete_stream)
    _complete_after_moto(Table, _complete_table)
    _complete_after_moto(LogGroup, _complete_log_group)
    CloudFormationBackend.update_stack = _no_updates_update_stack(
        CloudFormationBackend.update_stack
    )
    Stack.create_resources = _rolling_back_create_resources(Stack.create_resources)


def typed(value: Any) -> Any:
    """A copy of a template value with known integer/boolean fields converted from strings."""
    if isinstance(value, list):
        return [typed(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted = {}
    for key, item in value.items():
        if key in _INTEGER_FIELDS and isinstance(item, str):
            item = _to_int(key, item)
        elif key in _BOOLEAN_FIELDS and isinstance(item, str):
            item = _to_bool(key, item)
        converted[key] = typed(item)
    return converted


def _to_int(field: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{field} must be an integer, got {text!r}") from None


def _to_bool(field: str, text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError(f"{field} must be true or false, got {text!r}")
    return text.lower() == "true"


def _tags_as_list(tags: dict[str, str] | list[dict[str, str]] | None) -> list[dict[str, str]]:
    if isinstance(tags, dict):
        return [{"Key": k, "Value": v} for k, v in tags.items()]
    return list(tags or [])


def _tags_as_dict(tags: dict[str, str] | list[dict[str, str]] | None) -> dict[str, str]:
    if isinstance(tags, list):
        return {tag["Key"]: tag["Value"] for tag in tags}
    return dict(tags or {})


class _HookedResource:
    """What every model below shares: moto's classmethods, written once over the class's CFN_TYPE
    and NAME_PROPERTY and its `_create`, `_delete` and (where it updates in place) `_update`.

    Each class still names CloudFormationModel as a direct base: moto only maps direct subclasses.
    """

    CFN_TYPE: str
    # The property moto takes the physical name from; "" lets moto generate one.
    NAME_PROPERTY = ""
    # GetAtt attributes the type supports (validated by moto when Outputs reference them).
    attributes: tuple[str, ...] = ()

    def __init__(self, name: str, account_id: str, region: str) -> None:
        self.name = name
        self.account_id = account_id
        self.region = region

    # moto calls these two on the class with no arguments (it declares them static).
    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.attributes

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return self.attribute(attribute_name)

    def attribute(self, name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        return cls._create(
            resource_name, cloudformation_json["Properties"], account_id, region_name
        )

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        """In place where `_update` can; otherwise replacement (what AWS does for immutable
        properties; moto's backends cannot update)."""
        props = cloudformation_json["Properties"]
        if cls._update(original_resource, new_resource_name, props, account_id, region_name):
            return original_resource
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        cls._delete(
            resource_name, cloudformation_json.get("Properties", {}), account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        self._delete(self.name, {}, account_id, region_name)

    def is_created(self) -> bool:
        return True

    @classmethod
    def _create(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> Any:
        """Create the resource in moto's backend; the model instance that stands for it."""
        raise NotImplementedError

    @classmethod
    def _update(
        cls, original: Any, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> bool:
        """Apply `props` to `original` in place and say so; False: the change needs replacement."""
        return False

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        """Delete the resource if it is still there (`props` may be empty)."""
        raise NotImplementedError


class PipeResource(_HookedResource, CloudFormationModel):
    """AWS::Pipes::Pipe in moto's pipes backend; Ref = name, updated in place."""

    CFN_TYPE = "AWS::Pipes::Pipe"
    NAME_PROPERTY = "Name"
    attributes = ("Arn", "CurrentState", "CreationTime", "LastModifiedTime", "StateReason")

    def attribute(self, name: str) -> Any:
        pipe = pipes_backends[self.account_id][self.region].describe_pipe(self.name)
        return {
            "Arn": pipe.arn,
            "CurrentState": pipe.current_state,
            "CreationTime": pipe.creation_time,
            "LastModifiedTime": pipe.last_modified_time,
            "StateReason": pipe.state_reason,
        }[name]

    @staticmethod
    def _settings(props: dict[str, Any]) -> dict[str, Any]:
        """What CreatePipe and UpdatePipe both take."""
        return {
            "description": props.get("Description"),
            "desired_state": props.get("DesiredState"),
            "source_parameters": props.get("SourceParameters"),
            "enrichment": props.get("Enrichment"),
            "enrichment_parameters": props.get("EnrichmentParameters"),
            "target": props["Target"],
            "target_parameters": props.get("TargetParameters"),
            "role_arn": props["RoleArn"],
            "log_configuration": props.get("LogConfiguration"),
            "kms_key_identifier": props.get("KmsKeyIdentifier"),
        }

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> PipeResource:
        props = typed(props)
        pipes_backends[account_id][region_name].create_pipe(
            name=name,
            source=props["Source"],
            tags=_tags_as_dict(props.get("Tags")),
            **cls._settings(props),
        )
        return cls(name, account_id, region_name)

    @classmethod
    def _update(
        cls,
        original: PipeResource,
        name: str,
        props: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> bool:
        props = typed(props)
        backend = pipes_backends[account_id][region_name]
        source_changed = backend.describe_pipe(original.name).source != props["Source"]
        if name != original.name or source_changed:
            # Name and Source are immutable on AWS too.
            return False
        backend.update_pipe(name=original.name, **cls._settings(props))
        return True

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = pipes_backends[account_id][region_name]
        if name in backend.pipes:
            backend.delete_pipe(name)


class DeliveryStreamResource(_HookedResource, CloudFormationModel):
    """AWS::KinesisFirehose::DeliveryStream; the whole destination config is kept as given.

    An update replaces it: the data plane re-reads the configuration on each refresh and keeps
    its checkpoints by stream name, so nothing is re-delivered.
    """

    CFN_TYPE = "AWS::KinesisFirehose::DeliveryStream"
    NAME_PROPERTY = "DeliveryStreamName"
    attributes = ("Arn",)
    _DESTINATIONS = {
        "ExtendedS3DestinationConfiguration": "extended_s3_destination_configuration",
        "S3DestinationConfiguration": "s3_destination_configuration",
        "RedshiftDestinationConfiguration": "redshift_destination_configuration",
        "ElasticsearchDestinationConfiguration": "elasticsearch_destination_configuration",
        "SplunkDestinationConfiguration": "splunk_destination_configuration",
        "HttpEndpointDestinationConfiguration": "http_endpoint_destination_configuration",
        "SnowflakeDestinationConfiguration": "snowflake_destination_configuration",
        "IcebergDestinationConfiguration": "iceberg_destination_configuration",
    }

    def attribute(self, name: str) -> Any:
        backend = firehose_backends[self.account_id][self.region]
        return backend.delivery_streams[self.name].delivery_stream_arn

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> DeliveryStreamResource:
        props = typed(props)
        destinations = {arg: props.get(prop) for prop, arg in cls._DESTINATIONS.items()}
        firehose_backends[account_id][region_name].create_delivery_stream(
            region=region_name,
            delivery_stream_name=name,
            delivery_stream_type=props.get("DeliveryStreamType", "DirectPut"),
            kinesis_stream_source_configuration=props.get("KinesisStreamSourceConfiguration"),
            delivery_stream_encryption_configuration_input=props.get(
                "DeliveryStreamEncryptionConfigurationInput"
            ),
            tags=_tags_as_list(props.get("Tags")),
            **destinations,
        )
        return cls(name, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = firehose_backends[account_id][region_name]
        if name in backend.delivery_streams:
            backend.delete_delivery_stream(name)


class GlueDatabaseResource(_HookedResource, CloudFormationModel):
    """AWS::Glue::Database; Ref = database name, updated in place."""

    CFN_TYPE = "AWS::Glue::Database"
    # No NAME_PROPERTY: the name sits inside DatabaseInput, where moto's generic name lookup
    # cannot see it.

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> GlueDatabaseResource:
        database_input = dict(props.get("DatabaseInput") or {})
        name = database_input.setdefault("Name", name.lower())
        glue_backends[account_id][region_name].create_database(name, database_input)
        return cls(name, account_id, region_name)

    @classmethod
    def _update(
        cls,
        original: GlueDatabaseResource,
        name: str,
        props: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> bool:
        database_input = dict(props.get("DatabaseInput") or {})
        database_input.setdefault("Name", original.name)
        if database_input["Name"] != original.name:
            return False
        glue_backends[account_id][region_name].update_database(original.name, database_input)
        return True

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = glue_backends[account_id][region_name]
        if name in backend.databases:
            backend.delete_database(name)


class GlueClassifierResource(_HookedResource, CloudFormationModel):
    """AWS::Glue::Classifier, stored by `moto_hooks.glue` (moto has none); Ref = name."""

    CFN_TYPE = "AWS::Glue::Classifier"
    # CloudFormation and the CreateClassifier API name the four kinds the same way.
    _KINDS = ("JsonClassifier", "CsvClassifier", "GrokClassifier", "XMLClassifier")

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> GlueClassifierResource:
        kinds = [kind for kind in cls._KINDS if kind in props]
        if len(kinds) != 1:
            raise ValueError(
                f"AWS::Glue::Classifier needs exactly one of {list(cls._KINDS)}, got {kinds}"
            )
        body = dict(props[kinds[0]])
        body.setdefault("Name", name)
        glue_hooks.put_classifier(account_id, region_name, {kinds[0]: body})
        return cls(body["Name"], account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        glue_hooks.remove_classifier(account_id, region_name, name)


class GlueCrawlerResource(_HookedResource, CloudFormationModel):
    """AWS::Glue::Crawler in moto's Glue backend (no UpdateCrawler there: updates replace it)."""

    CFN_TYPE = "AWS::Glue::Crawler"
    NAME_PROPERTY = "Name"

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> GlueCrawlerResource:
        props = typed(props)
        # CloudFormation nests the cron expression; the API takes it as a plain string.
        schedule = (props.get("Schedule") or {}).get("ScheduleExpression")
        glue_backends[account_id][region_name].create_crawler(
            name=name,
            role=props["Role"],
            database_name=props.get("DatabaseName"),
            description=props.get("Description"),
            targets=props["Targets"],
            schedule=schedule,
            classifiers=props.get("Classifiers") or [],
            table_prefix=props.get("TablePrefix"),
            schema_change_policy=props.get("SchemaChangePolicy"),
            recrawl_policy=props.get("RecrawlPolicy"),
            lineage_configuration=props.get("LineageConfiguration"),
            configuration=props.get("Configuration"),
            crawler_security_configuration=props.get("CrawlerSecurityConfiguration"),
            tags=_tags_as_dict(props.get("Tags")),
        )
        return cls(name, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = glue_backends[account_id][region_name]
        if name in backend.crawlers:
            backend.delete_crawler(name)


class AthenaWorkGroupResource(_HookedResource, CloudFormationModel):
    """AWS::Athena::WorkGroup; its WorkGroupConfiguration becomes the API's Configuration."""

    CFN_TYPE = "AWS::Athena::WorkGroup"
    NAME_PROPERTY = "Name"
    attributes = ("WorkGroupConfiguration.EngineVersion.EffectiveEngineVersion",)

    def attribute(self, name: str) -> Any:
        group = athena_backends[self.account_id][self.region].work_groups[self.name]
        return group.configuration["EngineVersion"]["EffectiveEngineVersion"]

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> AthenaWorkGroupResource:
        props = typed(props)
        created = athena_backends[account_id][region_name].create_work_group(
            name=name,
            configuration=dict(props.get("WorkGroupConfiguration") or {}),
            description=props.get("Description", ""),
            tags=_tags_as_list(props.get("Tags")),
        )
        if created is None:
            raise ValueError(f"Athena workgroup {name!r} already exists")
        return cls(name, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        athena_backends[account_id][region_name].delete_work_group(name)


class BucketPolicyResource(_HookedResource, CloudFormationModel):
    """AWS::S3::BucketPolicy; Ref = the bucket name (AWS's physical id for it)."""

    CFN_TYPE = "AWS::S3::BucketPolicy"

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> BucketPolicyResource:
        document = props["PolicyDocument"]
        policy = document if isinstance(document, str) else json.dumps(document)
        _s3_backend(account_id, region_name).put_bucket_policy(props["Bucket"], policy.encode())
        return cls(props["Bucket"], account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = _s3_backend(account_id, region_name)
        if name in backend.buckets:
            backend.delete_bucket_policy(name)


class LogStreamResource(_HookedResource, CloudFormationModel):
    """AWS::Logs::LogStream in an existing log group; Ref = stream name."""

    CFN_TYPE = "AWS::Logs::LogStream"
    NAME_PROPERTY = "LogStreamName"

    def __init__(self, group: str, name: str, account_id: str, region: str) -> None:
        super().__init__(name, account_id, region)
        self.group = group

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> LogStreamResource:
        group = props["LogGroupName"]
        logs_backends[account_id][region_name].create_log_stream(group, name)
        return cls(group, name, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        group = props["LogGroupName"]
        backend = logs_backends[account_id][region_name]
        if group in backend.groups and name in backend.groups[group].streams:
            backend.delete_log_stream(group, name)

    def delete(self, account_id: str, region_name: str) -> None:
        # The stream is only found through its group, which the model remembers.
        self._delete(self.name, {"LogGroupName": self.group}, account_id, region_name)


def _s3_backend(account_id: str, region: str) -> Any:
    return s3_backends[account_id][get_partition(region)]


# ---- properties moto's own models accept but ignore: applied after moto creates the resource --


def _complete_bucket(bucket: Any, props: dict[str, Any], account_id: str, region: str) -> None:
    backend = _s3_backend(account_id, region)
    if "PublicAccessBlockConfiguration" in props:
        backend.put_public_access_block(bucket.name, props["PublicAccessBlockConfiguration"])
    if "VersioningConfiguration" in props:
        backend.put_bucket_versioning(bucket.name, props["VersioningConfiguration"]["Status"])
    for rule in props.get("OwnershipControls", {}).get("Rules", []):
        backend.put_bucket_ownership_controls(bucket.name, rule["ObjectOwnership"])
    if "LifecycleConfiguration" in props:
        rules = [lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
        backend.put_bucket_lifecycle(bucket.name, rules)


def lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation S3 lifecycle rule in the shape of the PutBucketLifecycle API."""
    unknown = set(rule) - {
        "Id",
        "Status",
        "Prefix",
        "ExpirationInDays",
        "ExpirationDate",
        "NoncurrentVersionExpiration",
        "NoncurrentVersionExpirationInDays",
        "AbortIncompleteMultipartUpload",
        "Transitions",
        "NoncurrentVersionTransitions",
    }
    if unknown:
        raise ValueError(f"LifecycleConfiguration rule field not supported locally: {unknown}")
    api: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        api["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
    if "ExpirationDate" in rule:
        api["Expiration"] = {"Date": rule["ExpirationDate"]}
    if "NoncurrentVersionExpiration" in rule:
        days = rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(days)}
    if "NoncurrentVersionExpirationInDays" in rule:
        days = rule["NoncurrentVersionExpirationInDays"]
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(days)}
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": str(days)}
    if "Transitions" in rule:
        api["Transition"] = [
            {"Days": str(t["TransitionInDays"]), "StorageClass": t["StorageClass"]}
            for t in rule["Transitions"]
        ]
    if "NoncurrentVersionTransitions" in rule:
        api["NoncurrentVersionTransition"] = [
            {"NoncurrentDays": str(t["TransitionInDays"]), "StorageClass": t["StorageClass"]}
            for t in rule["NoncurrentVersionTransitions"]
        ]
    return api


def _complete_stream(stream: Any, props: dict[str, Any], account_id: str, region: str) -> None:
    backend = kinesis_backends[account_id][region]
    encryption = props.get("StreamEncryption")
    if encryption:
        backend.start_stream_encryption(
            stream_arn=stream.arn,
            stream_name=stream.stream_name,
            encryption_type=encryption["EncryptionType"],
            key_id=encryption["KeyId"],
        )
    if "StreamModeDetails" in props:
        backend.update_stream_mode(stream.arn, props["StreamModeDetails"])


def _complete_table(table: Any, props: dict[str, Any], account_id: str, region: str) -> None:
    sse = props.get("SSESpecification")
    if sse and table.sse_specification is not None:
        # moto keeps the CloudFormation shape (SSEEnabled) but reads the API's (Enabled).
        table.sse_specification["Enabled"] = typed({"Enabled": sse.get("SSEEnabled", False)})[
            "Enabled"
        ]
        if "SSEType" in sse:
            table.sse_specification["SSEType"] = sse["SSEType"]
    recovery = props.get("PointInTimeRecoverySpecification")
    if recovery:
        enabled = typed({"Enabled": recovery.get("PointInTimeRecoveryEnabled", False)})["Enabled"]
        dynamodb_backends[account_id][region].update_continuous_backups(
            table.name, {"PointInTimeRecoveryEnabled": enabled}
        )


def _complete_log_group(group: Any, props: dict[str, Any], account_id: str, region: str) -> None:
    backend = logs_backends[account_id][region]
    if "RetentionInDays" in props:
        backend.put_retention_policy(group.name, props["RetentionInDays"])
    else:
        backend.delete_retention_policy(group.name)


def _complete_after_moto(model: Any, complete: Any) -> None:
    """Wrap moto's create/update of `model` so `complete` applies the properties moto ignores.

    Where moto has no update for the type, an update in place applies what `complete` covers and
    a new name means replacement; moto alone would drop the resource from the stack.
    """
    create = model.create_from_cloudformation_json.__func__
    moto_update = model.update_from_cloudformation_json
    updatable = not hasattr(moto_update, "__isabstractmethod__")

    def create_completed(
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        resource = create(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        complete(resource, cloudformation_json.get("Properties", {}), account_id, region_name)
        return resource

    def update_completed(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        if updatable:
            resource = moto_update.__func__(
                cls,
                original_resource,
                new_resource_name,
                cloudformation_json,
                account_id,
                region_name,
            )
        elif new_resource_name != original_resource.physical_resource_id:
            original_resource.delete(account_id, region_name)
            return create_completed(
                cls, new_resource_name, cloudformation_json, account_id, region_name
            )
        else:
            resource = original_resource
        complete(resource, cloudformation_json.get("Properties", {}), account_id, region_name)
        return resource

    model.create_from_cloudformation_json = classmethod(create_completed)
    model.update_from_cloudformation_json = classmethod(update_completed)


def _no_updates_update_stack(original: Any) -> Any:
    """UpdateStack answers "No updates are to be performed." when nothing changed, as AWS does."""

    def update_stack(
        self: Any,
        name: str,
        template: str,
        role_arn: str | None,
        parameters: list[dict[str, Any]],
        tags: dict[str, str] | None,
    ) -> Any:
        stack = self.get_stack(name)
        parameters = _previous_values_filled_in(stack, parameters)
        resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
        unchanged = (
            stack.template == template
            and {k: str(v) for k, v in resolved.items()}
            == {k: str(v) for k, v in stack.parameters.items()}
            and (tags is None or tags == stack.tags)
            and stack.status.endswith("_COMPLETE")
        )
        if unchanged:
            raise ValidationError(name, "No updates are to be performed.")
        return original(self, name, template, role_arn, parameters, tags)

    update_stack.moto_original = original  # type: ignore[attr-defined]
    return update_stack


def _previous_values_filled_in(
    stack: Any, parameters: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """UsePreviousValue for a parameter the stack took from its default (moto only remembers
    explicitly passed values and fails with KeyError on the others)."""
    effective = stack.resource_map.resolved_parameters
    filled = []
    for parameter in parameters:
        key = parameter["ParameterKey"]
        if parameter.get("UsePreviousValue") and key not in stack.parameters and key in effective:
            value = effective[key]
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            parameter = {"ParameterKey": key, "ParameterValue": text}
        filled.append(parameter)
    return filled


def _rolling_back_create_resources(original: Any) -> Any:
    """A resource that fails to create rolls the stack back to ROLLBACK_COMPLETE, as AWS does.

    moto raises out of CreateStack instead and leaves a half-made stack whose lazily resolved
    outputs retry the failed resource on every DescribeStacks.
    """

    def create_resources(self: Any) -> None:
        try:
            original(self)
        except Exception as error:  # whatever the resource raised is CloudFormation's reason
            _roll_back(self, error)

    create_resources.moto_original = original  # type: ignore[attr-defined]
    return create_resources


def _roll_back(stack: Any, error: Exception) -> None:
    resources = stack.resource_map
    templates = stack.template_dict.get("Resources", {})
    failed = next((name for name in templates if name not in resources._parsed_resources), None)
    reason = _failure_reason(error)
    if failed is not None:
        stack.events.append(
            Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=failed,
                physical_resource_id="",
                resource_type=templates[failed].get("Type", ""),
                resource_status="CREATE_FAILED",
                resource_status_reason=reason,
                resource_properties=json.dumps(templates[failed].get("Properties", {})),
            )
        )
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(
        "ROLLBACK_IN_PROGRESS",
        resource_status_reason=(
            f"The following resource(s) failed to create: [{failed}]. Rollback requested by user."
        ),
    )
    try:
        resources.delete()
    except Exception as leftover:  # noqa: BLE001 - a resource that cannot be deleted stays, named
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=str(leftover))
        stack.status = "ROLLBACK_FAILED"
    else:
        stack._add_stack_event("ROLLBACK_COMPLETE")
        stack.status = "ROLLBACK_COMPLETE"
    # A rolled-back stack has no outputs; resolving them would retry the failed resource.
    stack.output_map = OutputMap(resources, {**stack.template_dict, "Outputs": {}}, stack.stack_id)


def _failure_reason(error: Exception) -> str:
    """The service's own message: moto's in-process calls surface it inside an unparsed body."""
    text = str(getattr(error, "message", None) or error)
    inner = re.search(r'"message": "((?:[^"\\]|\\.)*)"', text)
    return " ".join((inner.group(1) if inner else text).split())
