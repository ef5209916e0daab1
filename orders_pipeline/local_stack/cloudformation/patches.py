"""CloudFormation stacks as AWS runs them: "No updates are to be performed." for an unchanged
UpdateStack, and a stack whose resource fails to create rolls back to ROLLBACK_COMPLETE."""

from __future__ import annotations

import json
import re
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Event, Stack
from moto.cloudformation.parsing import OutputMap, ResourceMap, get_references_from_template

from orders_pipeline.local_stack.patching import (
    calls,
    replaces,
    requires,
    requires_attributes,
    wraps,
)

# moto builds its resource type map from CloudFormationModel's direct subclasses and caches it:
# services.install() clears these once every resource model is defined.
MODEL_CACHES = ("get_model_list", "get_model_map", "get_name_type_map")
requires(parsing, *MODEL_CACHES, declared_in=__name__)
requires(CloudFormationBackend, "get_stack", "_resolve_update_parameters", declared_in=__name__)
requires(Stack, "_add_stack_event", declared_in=__name__)

calls(
    CloudFormationBackend,
    "_resolve_update_parameters",
    "self",
    "instance",
    "incoming_params",
    declared_in=__name__,
)


requires_attributes(
    ResourceMap, "_resource_json_map", "input_parameters", "resolved_parameters",
    declared_in=__name__,
)  # fmt: skip


def clear_model_caches() -> None:
    for name in MODEL_CACHES:
        getattr(parsing, name).cache_clear()


@wraps(CloudFormationBackend, "update_stack")
def update_stack(
    original: Any,
    self: Any,
    name: str,
    template: str,
    role_arn: str | None,
    parameters: list[dict[str, Any]],
    tags: dict[str, str] | None,
) -> Any:
    """UpdateStack answers "No updates are to be performed." when nothing changed, as AWS does."""
    stack = self.get_stack(name)
    parameters = _previous_values_filled_in(stack, parameters)
    resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
    unchanged = (
        stack.template == template
        and {k: str(v) for k, v in resolved.items()}
        == {k: str(v) for k, v in stack.parameters.items()}
        and (tags is None or tags == stack.tags)
        and stack.status.endswith("_COMPLETE")
    )
    if unchanged:
        raise ValidationError(name, "No updates are to be performed.")
    return original(self, name, template, role_arn, parameters, tags)


def _as_text(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


@replaces(ResourceMap, "build_resource_diff")
def build_resource_diff(
    self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """moto's diff, except that a parameter changed only when its value did: moto compares with
    the values passed explicitly, so one left at its default looks changed on every update and
    every resource referring to it is updated (a DynamoDB table fails to, and the update with
    it)."""
    old = self._resource_json_map
    new = other_template["Resources"]
    actions = {
        "Add": [name for name in new if name not in old],
        "Modify": [name for name in new if name in old and new[name] != old[name]],
        "Remove": [name for name in old if name not in new],
    }
    if parameters:
        effective = {**self.resolved_parameters, **self.input_parameters}
        changed = {
            key
            for key, value in parameters.items()
            if key not in effective or _as_text(effective[key]) != _as_text(value)
        }
        for name in new:
            if name in old and new[name] == old[name]:
                if changed & set(get_references_from_template(new[name])):
                    actions["Modify"].append(name)
    return actions


def _previous_values_filled_in(
    stack: Any, parameters: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """UsePreviousValue for a parameter the stack took from its default (moto only remembers
    explicitly passed values and fails with KeyError on the others)."""
    effective = stack.resource_map.resolved_parameters
    filled = []
    for parameter in parameters:
        key = parameter["ParameterKey"]
        if parameter.get("UsePreviousValue") and key not in stack.parameters and key in effective:
            value = effective[key]
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            parameter = {"ParameterKey": key, "ParameterValue": text}
        filled.append(parameter)
    return filled


@wraps(Stack, "create_resources")
def create_resources(original: Any, self: Any) -> None:
    """A resource that fails to create rolls the stack back to ROLLBACK_COMPLETE, as AWS does.

    moto raises out of CreateStack instead and leaves a half-made stack whose lazily resolved
    outputs retry the failed resource on every DescribeStacks.
    """
    try:
        original(self)
    except Exception as error:  # whatever the resource raised is CloudFormation's reason
        _roll_back(self, error)


def _roll_back(stack: Any, error: Exception) -> None:
    resources = stack.resource_map
    templates = stack.template_dict.get("Resources", {})
    failed = next((name for name in templates if name not in resources._parsed_resources), None)
    reason = _failure_reason(error)
    if failed is not None:
        stack.events.append(
            Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=failed,
                physical_resource_id="",
                resource_type=templates[failed].get("Type", ""),
                resource_status="CREATE_FAILED",
                resource_status_reason=reason,
                resource_properties=json.dumps(templates[failed].get("Properties", {})),
            )
        )
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(
        "ROLLBACK_IN_PROGRESS",
        resource_status_reason=(
            f"The following resource(s) failed to create: [{failed}]. Rollback requested by user."
        ),
    )
    try:
        resources.delete()
    except Exception as leftover:  # noqa: BLE001 - a resource that cannot be deleted stays, named
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=str(leftover))
        stack.status = "ROLLBACK_FAILED"
    else:
        stack._add_stack_event("ROLLBACK_COMPLETE")
        stack.status = "ROLLBACK_COMPLETE"
    # A rolled-back stack has no outputs; resolving them would retry the failed resource.
    stack.output_map = OutputMap(resources, {**stack.template_dict, "Outputs": {}}, stack.stack_id)


def _failure_reason(error: Exception) -> str:
    """The service's own message: moto's in-process calls surface it inside an unparsed body."""
    text = str(getattr(error, "message", None) or error)
    inner = re.search(r'"message": "((?:[^"\\]|\\.)*)"', text)
    return " ".join((inner.group(1) if inner else text).split())
