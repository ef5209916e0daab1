"""AWS::Pipes::Pipe, which moto's CloudFormation skips, in moto's Pipes backend."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.pipes.models import EventBridgePipesBackend, pipes_backends

from orders_pipeline.local_stack.cloudformation.resources import HookedResource, tags_as_dict, typed
from orders_pipeline.local_stack.patching import calls

calls(
    EventBridgePipesBackend,
    "create_pipe",
    "self", "name", "description", "desired_state", "source", "source_parameters",
    "enrichment", "enrichment_parameters", "target", "target_parameters", "role_arn", "tags",
    "log_configuration", "kms_key_identifier",
    declared_in=__name__,
)  # fmt: skip
calls(
    EventBridgePipesBackend,
    "update_pipe",
    "self", "name", "role_arn", "description", "desired_state", "source_parameters",
    "enrichment", "enrichment_parameters", "target", "target_parameters", "log_configuration",
    "kms_key_identifier",
    declared_in=__name__,
)  # fmt: skip
calls(EventBridgePipesBackend, "describe_pipe", "self", "name", declared_in=__name__)
calls(EventBridgePipesBackend, "delete_pipe", "self", "name", declared_in=__name__)


class PipeResource(HookedResource, CloudFormationModel):
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
            tags=tags_as_dict(props.get("Tags")),
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
