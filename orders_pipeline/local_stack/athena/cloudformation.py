"""AWS::Athena::WorkGroup, which moto's CloudFormation skips."""

from __future__ import annotations

from typing import Any

from moto.athena.models import AthenaBackend, athena_backends
from moto.core.common_models import CloudFormationModel

from orders_pipeline.local_stack.cloudformation.resources import HookedResource, tags_as_list, typed
from orders_pipeline.local_stack.patching import calls

calls(
    AthenaBackend,
    "create_work_group",
    "self",
    "name",
    "configuration",
    "description",
    "tags",
    declared_in=__name__,
)
calls(AthenaBackend, "delete_work_group", "self", "name", declared_in=__name__)


class AthenaWorkGroupResource(HookedResource, CloudFormationModel):
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
            tags=tags_as_list(props.get("Tags")),
        )
        if created is None:
            raise ValueError(f"Athena workgroup {name!r} already exists")
        return cls(name, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        athena_backends[account_id][region_name].delete_work_group(name)
