"""AWS::ServiceDiscovery::PrivateDnsNamespace and ::Service, which moto's CloudFormation skips."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.servicediscovery.models import (
    Namespace,
    ServiceDiscoveryBackend,
    servicediscovery_backends,
)
from moto.servicediscovery.models import Service as DiscoveryService

from orders_pipeline.local_stack.cloudformation.resources import HookedResource, typed
from orders_pipeline.local_stack.patching import calls, requires_attributes

calls(
    ServiceDiscoveryBackend,
    "create_private_dns_namespace",
    "self", "name", "creator_request_id", "description", "vpc", "tags", "properties",
    declared_in=__name__,
)  # fmt: skip
calls(
    ServiceDiscoveryBackend,
    "create_service",
    "self", "name", "namespace_id", "creator_request_id", "description", "dns_config",
    "health_check_config", "health_check_custom_config", "tags", "service_type",
    declared_in=__name__,
)  # fmt: skip
for _method, _parameters in (
    ("delete_namespace", ("self", "namespace_id")),
    ("delete_service", ("self", "service_id")),
    ("get_namespace", ("self", "namespace_id")),
    ("get_service", ("self", "service_id")),
    ("list_namespaces", ("self",)),
    ("list_services", ("self",)),
):
    calls(ServiceDiscoveryBackend, _method, *_parameters, declared_in=__name__)
requires_attributes(Namespace, "id", "arn", "name", "vpc", "dns_properties", declared_in=__name__)
requires_attributes(DiscoveryService, "id", "arn", "name", "namespace_id", declared_in=__name__)


class PrivateDnsNamespaceResource(HookedResource, CloudFormationModel):
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


class DiscoveryServiceResource(HookedResource, CloudFormationModel):
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
