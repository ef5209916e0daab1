"""AWS::ECS::Cluster, TaskDefinition and Service: moto's own models drop most properties and are
never deleted with their stack; these keep roles, network mode, sizes and network settings,
and go with the stack (they replace moto's, being defined later)."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs.models import EC2ContainerServiceBackend, ecs_backends

from orders_pipeline.local_stack.cloudformation.resources import HookedResource, typed
from orders_pipeline.local_stack.patching import calls_with_keywords, requires_source

calls_with_keywords(
    EC2ContainerServiceBackend,
    "create_cluster",
    "cluster_name", "tags", "cluster_settings", "configuration", "capacity_providers",
    "default_capacity_provider_strategy",
    declared_in=__name__,
)  # fmt: skip
calls_with_keywords(
    EC2ContainerServiceBackend,
    "register_task_definition",
    "family", "container_definitions", "volumes", "network_mode", "tags",
    "requires_compatibilities", "cpu", "memory", "task_role_arn", "execution_role_arn",
    "runtime_platform", "ephemeral_storage",
    declared_in=__name__,
)  # fmt: skip
calls_with_keywords(
    EC2ContainerServiceBackend,
    "deregister_task_definition",
    "task_definition_str",
    declared_in=__name__,
)
calls_with_keywords(
    EC2ContainerServiceBackend,
    "create_service",
    "cluster_str", "service_name", "desired_count", "task_definition_str", "load_balancers",
    "tags", "launch_type", "service_registries", "platform_version", "propagate_tags",
    "network_configuration",
    declared_in=__name__,
)  # fmt: skip
calls_with_keywords(
    EC2ContainerServiceBackend, "update_service", "service_properties", declared_in=__name__
)
calls_with_keywords(
    EC2ContainerServiceBackend,
    "delete_service",
    "cluster_name",
    "service_name",
    "force",
    declared_in=__name__,
)
calls_with_keywords(
    EC2ContainerServiceBackend, "delete_cluster", "cluster_str", declared_in=__name__
)
# Clusters are keyed by name and services by "cluster:service" in moto's backend.
requires_source(
    EC2ContainerServiceBackend,
    "create_cluster",
    r"self\.clusters\[cluster_name\] = cluster",
    declared_in=__name__,
)
requires_source(
    EC2ContainerServiceBackend,
    "create_service",
    r'cluster_service_pair = f"\{cluster\.name\}:\{service_name\}"',
    declared_in=__name__,
)


def _api_shape(value: Any) -> Any:
    """CloudFormation's PascalCase keys as the ECS API's camelCase (Name -> name, ...)."""
    return remap_nested_keys(value, pascal_to_camelcase)


class ClusterResource(HookedResource, CloudFormationModel):
    """AWS::ECS::Cluster with its settings and capacity providers; Ref = cluster name."""

    CFN_TYPE = "AWS::ECS::Cluster"
    NAME_PROPERTY = "ClusterName"
    attributes = ("Arn",)

    def attribute(self, name: str) -> Any:
        return ecs_backends[self.account_id][self.region].clusters[self.name].arn

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> ClusterResource:
        props = typed(props)
        ecs_backends[account_id][region_name].create_cluster(
            cluster_name=name,
            tags=_api_shape(props.get("Tags")),
            cluster_settings=_api_shape(props.get("ClusterSettings")),
            configuration=_api_shape(props.get("Configuration")),
            capacity_providers=props.get("CapacityProviders"),
            default_capacity_provider_strategy=_api_shape(
                props.get("DefaultCapacityProviderStrategy")
            ),
        )
        return cls(name, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = ecs_backends[account_id][region_name]
        if name in backend.clusters:
            backend.delete_cluster(name)  # INACTIVE, as on AWS


class TaskDefinitionResource(HookedResource, CloudFormationModel):
    """AWS::ECS::TaskDefinition with roles, network mode, sizes and platform; Ref = the ARN.

    Any change registers a new revision and deregisters the old one, as on AWS.
    """

    CFN_TYPE = "AWS::ECS::TaskDefinition"
    attributes = ("TaskDefinitionArn",)

    def __init__(self, name: str, arn: str, account_id: str, region: str) -> None:
        super().__init__(name, account_id, region)
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def attribute(self, name: str) -> Any:
        return self.arn

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> TaskDefinitionResource:
        registered = ecs_backends[account_id][region_name].register_task_definition(
            family=props.get("Family", name),
            container_definitions=_api_shape(props.get("ContainerDefinitions", [])),
            volumes=_api_shape(props.get("Volumes")),
            network_mode=props.get("NetworkMode"),
            tags=_api_shape(props.get("Tags")),
            requires_compatibilities=props.get("RequiresCompatibilities"),
            cpu=props.get("Cpu"),
            memory=props.get("Memory"),
            task_role_arn=props.get("TaskRoleArn"),
            execution_role_arn=props.get("ExecutionRoleArn"),
            runtime_platform=_api_shape(props.get("RuntimePlatform")),
            ephemeral_storage=_api_shape(props.get("EphemeralStorage")),
        )
        return cls(registered.family, registered.arn, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        """`name` is the ARN here (the physical id CloudFormation deletes by)."""
        backend = ecs_backends[account_id][region_name]
        try:
            backend.deregister_task_definition(name)
        except Exception:  # noqa: BLE001 - moto's not-found exceptions: already gone
            return

    def delete(self, account_id: str, region_name: str) -> None:
        self._delete(self.arn, {}, account_id, region_name)


class ServiceResource(HookedResource, CloudFormationModel):
    """AWS::ECS::Service with launch type, network configuration and service registries;
    Ref = the service ARN (as on AWS). A new task definition or count updates it in place."""

    CFN_TYPE = "AWS::ECS::Service"
    NAME_PROPERTY = "ServiceName"
    attributes = ("Name", "ServiceArn")

    def __init__(self, name: str, cluster: str, arn: str, account_id: str, region: str) -> None:
        super().__init__(name, account_id, region)
        self.cluster = cluster
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def attribute(self, name: str) -> Any:
        return {"Name": self.name, "ServiceArn": self.arn}[name]

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> ServiceResource:
        props = typed(props)
        service = ecs_backends[account_id][region_name].create_service(
            cluster_str=props["Cluster"],
            service_name=name,
            desired_count=int(props.get("DesiredCount", 1)),
            task_definition_str=props.get("TaskDefinition"),
            load_balancers=_api_shape(props.get("LoadBalancers")),
            tags=_api_shape(props.get("Tags")),
            launch_type=props.get("LaunchType"),
            service_registries=_api_shape(props.get("ServiceRegistries")),
            platform_version=props.get("PlatformVersion"),
            propagate_tags=props.get("PropagateTags", "NONE"),
            network_configuration=_api_shape(props.get("NetworkConfiguration")),
        )
        return cls(name, service.cluster_name, service.arn, account_id, region_name)

    @classmethod
    def _update(
        cls,
        original: ServiceResource,
        name: str,
        props: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> bool:
        props = typed(props)
        if name != original.name or props["Cluster"] != original.cluster:
            return False  # a new name or cluster is a new service on AWS too
        ecs_backends[account_id][region_name].update_service(
            {
                "cluster": original.cluster,
                "service": original.name,
                "task_definition": props.get("TaskDefinition"),
                "desired_count": int(props.get("DesiredCount", 1)),
                "network_configuration": _api_shape(props.get("NetworkConfiguration")),
            }
        )
        return True

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        cluster = props.get("Cluster")
        if cluster:
            _delete_service(account_id, region_name, cluster, name.rsplit("/", 1)[-1])

    def delete(self, account_id: str, region_name: str) -> None:
        _delete_service(account_id, region_name, self.cluster, self.name)


def _delete_service(account_id: str, region_name: str, cluster: str, name: str) -> None:
    backend = ecs_backends[account_id][region_name]
    if f"{cluster}:{name}" in backend.services:
        backend.delete_service(cluster, name, force=True)  # INACTIVE, as on AWS
