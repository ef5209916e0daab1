"""AWS::SecretsManager::Secret, which moto's CloudFormation skips; GenerateSecretString honoured."""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.secretsmanager.models import SecretsManagerBackend, secretsmanager_backends

from orders_pipeline.local_stack.cloudformation.resources import HookedResource, typed
from orders_pipeline.local_stack.patching import calls, requires_attributes

calls(
    SecretsManagerBackend,
    "create_secret",
    "self", "name", "secret_string", "secret_binary", "description", "tags", "kms_key_id",
    "client_request_token", "replica_regions", "force_overwrite",
    declared_in=__name__,
)  # fmt: skip
calls(
    SecretsManagerBackend,
    "get_random_password",
    "self", "password_length", "exclude_characters", "exclude_numbers", "exclude_punctuation",
    "exclude_uppercase", "exclude_lowercase", "include_space", "require_each_included_type",
    declared_in=__name__,
)  # fmt: skip
calls(
    SecretsManagerBackend,
    "delete_secret",
    "self", "secret_id", "recovery_window_in_days", "force_delete_without_recovery",
    declared_in=__name__,
)  # fmt: skip
requires_attributes(SecretsManagerBackend, "secrets", declared_in=__name__)


class SecretResource(HookedResource, CloudFormationModel):
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
