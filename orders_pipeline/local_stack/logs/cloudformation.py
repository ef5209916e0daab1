"""AWS::Logs::LogStream (moto skips it) and the log group retention moto's model ignores."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.logs.models import LogGroup, LogsBackend, logs_backends

from orders_pipeline.local_stack.cloudformation.resources import (
    HookedResource,
    completes_after_moto,
)
from orders_pipeline.local_stack.patching import calls

calls(
    LogsBackend,
    "create_log_stream",
    "self",
    "log_group_name",
    "log_stream_name",
    declared_in=__name__,
)
calls(
    LogsBackend,
    "delete_log_stream",
    "self",
    "log_group_name",
    "log_stream_name",
    declared_in=__name__,
)


class LogStreamResource(HookedResource, CloudFormationModel):
    """AWS::Logs::LogStream in an existing log group; Ref = stream name."""

    CFN_TYPE = "AWS::Logs::LogStream"
    NAME_PROPERTY = "LogStreamName"

    def __init__(self, group: str, name: str, account_id: str, region: str) -> None:
        super().__init__(name, account_id, region)
        self.group = group

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> LogStreamResource:
        group = props["LogGroupName"]
        logs_backends[account_id][region_name].create_log_stream(group, name)
        return cls(group, name, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        group = props["LogGroupName"]
        backend = logs_backends[account_id][region_name]
        if group in backend.groups and name in backend.groups[group].streams:
            backend.delete_log_stream(group, name)

    def delete(self, account_id: str, region_name: str) -> None:
        # The stream is only found through its group, which the model remembers.
        self._delete(self.name, {"LogGroupName": self.group}, account_id, region_name)


def complete_log_group(group: Any, props: dict[str, Any], account_id: str, region: str) -> None:
    backend = logs_backends[account_id][region]
    if "RetentionInDays" in props:
        backend.put_retention_policy(group.name, props["RetentionInDays"])
    else:
        backend.delete_retention_policy(group.name)


completes_after_moto(LogGroup, complete_log_group)
