"""The local stack's CloudFormation models for infra/dagster.yaml, and the moto internals they
rely on: a moto upgrade that moves one fails here, loudly."""

from __future__ import annotations

import inspect
import json

import pytest
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.ecs.models import EC2ContainerServiceBackend
from moto.secretsmanager.models import SecretsManagerBackend, secretsmanager_backends
from moto.servicediscovery.models import Namespace, ServiceDiscoveryBackend
from moto.servicediscovery.models import Service as DiscoveryService

from orders_pipeline.local_stack import cloudformation_dagster, moto_hooks

# Backend methods the models call by keyword: the parameters they pass must still exist.
BACKEND_METHODS = [
    (
        SecretsManagerBackend.create_secret,
        ["self", "name", "secret_string", "secret_binary", "description", "tags", "kms_key_id"]
        + ["client_request_token", "replica_regions", "force_overwrite"],
    ),
    (
        SecretsManagerBackend.get_random_password,
        ["self", "password_length", "exclude_characters", "exclude_numbers"]
        + ["exclude_punctuation", "exclude_uppercase", "exclude_lowercase", "include_space"]
        + ["require_each_included_type"],
    ),
    (
        SecretsManagerBackend.delete_secret,
        ["self", "secret_id", "recovery_window_in_days", "force_delete_without_recovery"],
    ),
    (
        ServiceDiscoveryBackend.create_private_dns_namespace,
        ["self", "name", "creator_request_id", "description", "vpc", "tags", "properties"],
    ),
    (
        ServiceDiscoveryBackend.create_service,
        ["self", "name", "namespace_id", "creator_request_id", "description", "dns_config"]
        + ["health_check_config", "health_check_custom_config", "tags", "service_type"],
    ),
    (ServiceDiscoveryBackend.delete_namespace, ["self", "namespace_id"]),
    (ServiceDiscoveryBackend.delete_service, ["self", "service_id"]),
    (ServiceDiscoveryBackend.get_namespace, ["self", "namespace_id"]),
    (ServiceDiscoveryBackend.get_service, ["self", "service_id"]),
    (ServiceDiscoveryBackend.list_namespaces, ["self"]),
    (ServiceDiscoveryBackend.list_services, ["self"]),
]


# ECS backend methods the models call by keyword: each keyword must still be a parameter.
ECS_KEYWORDS = [
    (
        EC2ContainerServiceBackend.create_cluster,
        ["cluster_name", "tags", "cluster_settings", "configuration", "capacity_providers"]
        + ["default_capacity_provider_strategy"],
    ),
    (
        EC2ContainerServiceBackend.register_task_definition,
        ["family", "container_definitions", "volumes", "network_mode", "tags"]
        + ["requires_compatibilities", "cpu", "memory", "task_role_arn", "execution_role_arn"]
        + ["runtime_platform", "ephemeral_storage"],
    ),
    (EC2ContainerServiceBackend.deregister_task_definition, ["task_definition_str"]),
    (
        EC2ContainerServiceBackend.create_service,
        ["cluster_str", "service_name", "desired_count", "task_definition_str"]
        + ["load_balancers", "tags", "launch_type", "service_registries", "platform_version"]
        + ["propagate_tags", "network_configuration"],
    ),
    (EC2ContainerServiceBackend.update_service, ["service_properties"]),
    (EC2ContainerServiceBackend.delete_service, ["cluster_name", "service_name", "force"]),
    (EC2ContainerServiceBackend.delete_cluster, ["cluster_str"]),
]


@pytest.mark.parametrize(
    ("method", "keywords"), ECS_KEYWORDS, ids=[m.__qualname__ for m, _ in ECS_KEYWORDS]
)
def test_ecs_backend_method_still_takes_the_keywords_we_pass(method, keywords) -> None:
    assert set(keywords) <= set(inspect.signature(method).parameters)


def test_the_ecs_backend_keys_clusters_by_name_and_services_by_cluster_and_name() -> None:
    source = inspect.getsource(EC2ContainerServiceBackend)
    assert "self.clusters[cluster_name] = cluster" in source
    assert 'cluster_service_pair = f"{cluster.name}:{service_name}"' in source


@pytest.mark.parametrize("resource_type", cloudformation_dagster.TYPES)
def test_cloudformation_maps_the_type_to_our_model_after_install(resource_type) -> None:
    moto_hooks.install()
    cloudformation_dagster.install()
    model = parsing.get_model_map()[resource_type]
    assert model.__module__ == cloudformation_dagster.__name__
    assert CloudFormationModel in model.__bases__  # moto maps direct subclasses only


@pytest.mark.parametrize(
    ("method", "parameters"), BACKEND_METHODS, ids=[m.__qualname__ for m, _ in BACKEND_METHODS]
)
def test_backend_method_the_models_call_keeps_its_parameters(method, parameters) -> None:
    assert list(inspect.signature(method).parameters) == parameters


@pytest.mark.parametrize(
    ("model", "attributes"),
    [
        (Namespace, ("self.id", "self.arn", "self.name", "self.vpc", "self.dns_properties")),
        (DiscoveryService, ("self.id", "self.arn", "self.name", "self.namespace_id")),
    ],
)
def test_cloud_map_models_keep_the_attributes_we_read(model, attributes) -> None:
    source = inspect.getsource(model.__init__)
    missing = [attribute for attribute in attributes if f"{attribute} =" not in source]
    assert missing == [], f"moto's {model.__name__} no longer sets {missing}"


def test_a_generated_secret_fills_the_key_of_its_template() -> None:
    backend = secretsmanager_backends["123456789012"]["us-east-1"]
    secret = cloudformation_dagster.generated_secret_string(
        backend,
        {
            "SecretStringTemplate": '{"username": "dagster"}',
            "GenerateStringKey": "password",
            "PasswordLength": "24",
            "ExcludePunctuation": "true",
        },
    )
    document = json.loads(secret)
    assert document["username"] == "dagster"
    assert len(document["password"]) == 24 and document["password"].isalnum()


def test_a_generated_secret_without_a_template_is_the_password_alone() -> None:
    backend = secretsmanager_backends["123456789012"]["us-east-1"]
    secret = cloudformation_dagster.generated_secret_string(backend, {"PasswordLength": 16})
    assert len(secret) == 16
