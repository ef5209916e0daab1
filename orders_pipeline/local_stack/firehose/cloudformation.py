"""AWS::KinesisFirehose::DeliveryStream, which moto's CloudFormation skips."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.firehose.models import FirehoseBackend, firehose_backends

from orders_pipeline.local_stack.cloudformation.resources import HookedResource, tags_as_list, typed
from orders_pipeline.local_stack.patching import calls

calls(
    FirehoseBackend,
    "create_delivery_stream",
    "self", "region", "delivery_stream_name", "delivery_stream_type",
    "kinesis_stream_source_configuration", "delivery_stream_encryption_configuration_input",
    "s3_destination_configuration", "extended_s3_destination_configuration",
    "redshift_destination_configuration", "elasticsearch_destination_configuration",
    "splunk_destination_configuration", "http_endpoint_destination_configuration",
    "snowflake_destination_configuration", "iceberg_destination_configuration", "tags",
    declared_in=__name__,
)  # fmt: skip
calls(
    FirehoseBackend,
    "delete_delivery_stream",
    "self",
    "delivery_stream_name",
    declared_in=__name__,
)


class DeliveryStreamResource(HookedResource, CloudFormationModel):
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
            tags=tags_as_list(props.get("Tags")),
            **destinations,
        )
        return cls(name, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = firehose_backends[account_id][region_name]
        if name in backend.delivery_streams:
            backend.delete_delivery_stream(name)
