"""CloudFormation types infra/dagster.yaml uses that moto 5.2.5 skips or mis-handles: the Secrets
Manager secret (GenerateSecretString), Cloud Map's namespace and service, and ECS's cluster, task
definition and service (moto's own drop most properties and are never deleted with the stack)."""

# Like moto_hooks/cloudformation.py: each class is a direct subclass of CloudFormationModel, so
# defining it registers it once moto's type-map caches are cleared; install() does that.

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation import parsing as cloudformation_parsing
from moto.core.common_models import CloudFormationModel
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs.models import ecs_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.servicediscovery.models import servicediscovery_backends

from orders_pipeline.local_stack.moto_hooks.cloudformation import _HookedResource, typed

TYPES = (
    "AWS::SecretsManager::Secret",
    "AWS::ServiceDiscovery::PrivateDnsNamespace",
    "AWS::ServiceDiscovery::Service",
    "AWS::ECS::Cluster",
    "AWS::ECS::TaskDefinition",
    "AWS::ECS::Service",
)


def install() -> None:
    """Make moto's CloudFormation map the types above to the models here (idempotent).

    Must run after moto_hooks.install(), which clears the same caches for its own models.
    """
    cloudformation_parsing.get_model_list.cache_clear()
    cloudformation_parsing.get_model_map.cache_clear()
    cloudformation_parsing.get_name_type_map.cache_clear()


class SecretResource(_HookedResource, CloudFormationModel):
    """AWS::SecretsManager::Secret; Ref = its ARN (as on AWS). GenerateSecretString is honoured."""

    CFN_TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"
    attributes = ("Id",)

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
    ) -> SecretResource:
        backend = secretsmanager_backends[account_id][region_name]
        secret_string = props.get("SecretString")
        if "GenerateSecretString" in props:
            secret_string = generated_secret_string(backend, props["GenerateSecretString"])
        created = json.loads(
            backend.create_secret(
                name=name,
                secret_string=secret_string,
                secret_binary=None,
                description=props.get("Description"),
                tags=props.get("Tags"),
                kms_key_id=props.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        )
        return cls(name, created["ARN"], account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = secretsmanager_backends[account_id][region_name]
        if name in backend.secrets:
            backend.delete_secret(name, None, True)


def generated_secret_string(backend: Any, spec: dict[str, Any]) -> str:
    """The secret CloudFormation generates: a random password, alone or as a key of a template."""
    spec = typed(spec)
    password = json.loads(
        backend.get_random_password(
            password_length=int(spec.get("PasswordLength", 32)),
            exclude_characters=spec.get("ExcludeCharacters", ""),
            exclude_numbers=_flag(spec, "ExcludeNumbers"),
            exclude_punctuation=_flag(spec, "ExcludePunctuation"),
            exclude_uppercase=_flag(spec, "ExcludeUppercase"),
            exclude_lowercase=_flag(spec, "ExcludeLowercase"),
            include_space=_flag(spec, "IncludeSpace"),
            require_each_included_type=_flag(spec, "RequireEachIncludedType", default=True),
        )
    )["RandomPassword"]
    if "SecretStringTemplate" not in spec:
        return password
    document = json.loads(spec["SecretStringTemplate"])
    document[spec["GenerateStringKey"]] = password
    return json.dumps(document)


def _flag(spec: dict[str, Any], key: str, default: bool = False) -> bool:
    value = spec.get(key, default)
    return value if isinstance(value, bool) else str(value).lower() == "true"


class PrivateDnsNamespaceResource(_HookedResource, CloudFormationModel):
    """AWS::ServiceDiscovery::PrivateDnsNamespace; Ref = namespace id (ns-...)."""

    CFN_TYPE = "AWS::ServiceDiscovery::PrivateDnsNamespace"
    NAME_PROPERTY = "Name"
    attributes = ("Id", "Arn", "HostedZoneId")

    def __init__(self, name: str, namespace_id: str, account_id: str, region: str) -> None:
        super().__init__(name, account_id, region)
        self.namespace_id = namespace_id

    @property
    def physical_resource_id(self) -> str:
        return self.namespace_id

    def attribute(self, name: str) -> Any:
        namespace = servicediscovery_backends[self.account_id][self.region].get_namespace(
            self.namespace_id
        )
        return {
            "Id": namespace.id,
            "Arn": namespace.arn,
            "HostedZoneId": namespace.dns_properties["HostedZoneId"],
        }[name]

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> PrivateDnsNamespaceResource:
        backend = servicediscovery_backends[account_id][region_name]
        backend.create_private_dns_namespace(
            name=name,
            creator_request_id="",
            description=props.get("Description", ""),
            vpc=props["Vpc"],
            tags=props.get("Tags") or [],
            properties=props.get("Properties") or {},
        )
        (namespace,) = [
            ns for ns in backend.list_namespaces() if ns.name == name and ns.vpc == props["Vpc"]
        ]
        return cls(name, namespace.id, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = servicediscovery_backends[account_id][region_name]
        for namespace in list(backend.list_namespaces()):
            if namespace.name == name:
                backend.delete_namespace(namespace.id)


class DiscoveryServiceResource(_HookedResource, CloudFormationModel):
    """AWS::ServiceDiscovery::Service in a namespace; Ref = service id (srv-...)."""

    CFN_TYPE = "AWS::ServiceDiscovery::Service"
    NAME_PROPERTY = "Name"
    attributes = ("Id", "Arn", "Name")

    def __init__(self, name: str, service_id: str, account_id: str, region: str) -> None:
        super().__init__(name, account_id, region)
        self.service_id = service_id

    @property
    def physical_resource_id(self) -> str:
        return self.service_id

    def attribute(self, name: str) -> Any:
        service = servicediscovery_backends[self.account_id][self.region].get_service(
            self.service_id
        )
        return {"Id": service.id, "Arn": service.arn, "Name": service.name}[name]

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> DiscoveryServiceResource:
        props = typed(props)
        service = servicediscovery_backends[account_id][region_name].create_service(
            name=name,
            namespace_id=props.get("NamespaceId"),
            creator_request_id="",
            description=props.get("Description", ""),
            dns_config=props.get("DnsConfig"),
            health_check_config=props.get("HealthCheckConfig"),
            health_check_custom_config=props.get("HealthCheckCustomConfig"),
            tags=props.get("Tags") or [],
            service_type=props.get("Type"),
        )
        return cls(name, service.id, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = servicediscovery_backends[account_id][region_name]
        for service in list(backend.list_services()):
            if service.name == name and service.namespace_id == props.get("NamespaceId"):
                backend.delete_service(service.id)

    def delete(self, account_id: str, region_name: str) -> None:
        servicediscovery_backends[account_id][region_name].delete_service(self.service_id)


def _api_shape(value: Any) -> Any:
    """CloudFormation's PascalCase keys as the ECS API's camelCase (Name -> name, ...)."""
    return remap_nested_keys(value, pascal_to_camelcase)


class ClusterResource(_HookedResource, CloudFormationModel):
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


class TaskDefinitionResource(_HookedResource, CloudFormationModel):
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


class ServiceResource(_HookedResource, CloudFormationModel):
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
