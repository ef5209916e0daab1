"""What the local stack's CloudFormation resource types share: moto's model classmethods written
once, template values typed, and the completion of moto's own models with what they ignore."""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

from orders_pipeline.local_stack.patching import wraps

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


def tags_as_list(tags: dict[str, str] | list[dict[str, str]] | None) -> list[dict[str, str]]:
    if isinstance(tags, dict):
        return [{"Key": k, "Value": v} for k, v in tags.items()]
    return list(tags or [])


def tags_as_dict(tags: dict[str, str] | list[dict[str, str]] | None) -> dict[str, str]:
    if isinstance(tags, list):
        return {tag["Key"]: tag["Value"] for tag in tags}
    return dict(tags or {})


class HookedResource:
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


def completes_after_moto(model: Any, complete: Any) -> None:
    """Wrap moto's create/update of `model` so `complete` applies the properties moto ignores.

    Where moto has no update for the type, an update in place applies what `complete` covers and
    a new name means replacement; moto alone would drop the resource from the stack.
    """
    updatable = not hasattr(model.update_from_cloudformation_json, "__isabstractmethod__")

    def create_completed(
        original: Any,
        cls: Any,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        resource = original(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        complete(resource, cloudformation_json.get("Properties", {}), account_id, region_name)
        return resource

    def update_completed(
        original: Any,
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        if updatable:
            resource = original(
                cls,
                original_resource,
                new_resource_name,
                cloudformation_json,
                account_id,
                region_name,
            )
        elif new_resource_name != original_resource.physical_resource_id:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        else:
            resource = original_resource
        complete(resource, cloudformation_json.get("Properties", {}), account_id, region_name)
        return resource

    for function in (create_completed, update_completed):
        function.__module__ = complete.__module__
    wraps(model, "create_from_cloudformation_json")(create_completed)
    wraps(model, "update_from_cloudformation_json")(update_completed)
