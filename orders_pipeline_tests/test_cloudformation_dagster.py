"""The local stack's CloudFormation models for infra/dagster.yaml (Secrets Manager, Cloud Map,
ECS); the moto internals they rely on are declared in their modules and walked by
test_moto_patches."""

from __future__ import annotations

import json

import pytest
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.secretsmanager.models import secretsmanager_backends

from orders_pipeline.local_stack import services
from orders_pipeline.local_stack.secretsmanager.cloudformation import generated_secret_string

TYPES = {
    "AWS::SecretsManager::Secret": "secretsmanager",
    "AWS::ServiceDiscovery::PrivateDnsNamespace": "servicediscovery",
    "AWS::ServiceDiscovery::Service": "servicediscovery",
    "AWS::ECS::Cluster": "ecs",
    "AWS::ECS::TaskDefinition": "ecs",
    "AWS::ECS::Service": "ecs",
}


@pytest.mark.parametrize(("resource_type", "service"), TYPES.items())
def test_cloudformation_maps_the_type_to_our_model_after_install(resource_type, service) -> None:
    services.install()
    model = parsing.get_model_map()[resource_type]
    assert model.__module__ == f"orders_pipeline.local_stack.{service}.cloudformation"
    assert CloudFormationModel in model.__bases__  # moto maps direct subclasses only


def test_a_generated_secret_fills_the_key_of_its_template() -> None:
    backend = secretsmanager_backends["123456789012"]["us-east-1"]
    secret = generated_secret_string(
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
    assert len(generated_secret_string(backend, {"PasswordLength": 16})) == 16
