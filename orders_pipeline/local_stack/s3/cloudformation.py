"""AWS::S3::BucketPolicy (moto skips it) and the bucket properties moto's model ignores."""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.s3.models import FakeBucket, S3Backend, s3_backends
from moto.utilities.utils import get_partition

from orders_pipeline.local_stack.cloudformation.resources import (
    HookedResource,
    completes_after_moto,
)
from orders_pipeline.local_stack.patching import calls

calls(S3Backend, "put_bucket_policy", "self", "bucket_name", "policy", declared_in=__name__)
calls(S3Backend, "delete_bucket_policy", "self", "bucket_name", declared_in=__name__)
calls(
    S3Backend,
    "put_public_access_block",
    "self",
    "bucket_name",
    "pub_block_config",
    declared_in=__name__,
)
calls(S3Backend, "put_bucket_versioning", "self", "bucket_name", "status", declared_in=__name__)
calls(
    S3Backend,
    "put_bucket_ownership_controls",
    "self",
    "bucket_name",
    "ownership",
    declared_in=__name__,
)
calls(S3Backend, "put_bucket_lifecycle", "self", "bucket_name", "rules", declared_in=__name__)


class BucketPolicyResource(HookedResource, CloudFormationModel):
    """AWS::S3::BucketPolicy; Ref = the bucket name (AWS's physical id for it)."""

    CFN_TYPE = "AWS::S3::BucketPolicy"

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> BucketPolicyResource:
        document = props["PolicyDocument"]
        policy = document if isinstance(document, str) else json.dumps(document)
        _s3_backend(account_id, region_name).put_bucket_policy(props["Bucket"], policy.encode())
        return cls(props["Bucket"], account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = _s3_backend(account_id, region_name)
        if name in backend.buckets:
            backend.delete_bucket_policy(name)


def _s3_backend(account_id: str, region: str) -> Any:
    return s3_backends[account_id][get_partition(region)]


def complete_bucket(bucket: Any, props: dict[str, Any], account_id: str, region: str) -> None:
    backend = _s3_backend(account_id, region)
    if "PublicAccessBlockConfiguration" in props:
        backend.put_public_access_block(bucket.name, props["PublicAccessBlockConfiguration"])
    if "VersioningConfiguration" in props:
        backend.put_bucket_versioning(bucket.name, props["VersioningConfiguration"]["Status"])
    for rule in props.get("OwnershipControls", {}).get("Rules", []):
        backend.put_bucket_ownership_controls(bucket.name, rule["ObjectOwnership"])
    if "LifecycleConfiguration" in props:
        rules = [lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
        backend.put_bucket_lifecycle(bucket.name, rules)


def lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation S3 lifecycle rule in the shape of the PutBucketLifecycle API."""
    unknown = set(rule) - {
        "Id",
        "Status",
        "Prefix",
        "ExpirationInDays",
        "ExpirationDate",
        "NoncurrentVersionExpiration",
        "NoncurrentVersionExpirationInDays",
        "AbortIncompleteMultipartUpload",
        "Transitions",
        "NoncurrentVersionTransitions",
    }
    if unknown:
        raise ValueError(f"LifecycleConfiguration rule field not supported locally: {unknown}")
    api: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        api["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
    if "ExpirationDate" in rule:
        api["Expiration"] = {"Date": rule["ExpirationDate"]}
    if "NoncurrentVersionExpiration" in rule:
        days = rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(days)}
    if "NoncurrentVersionExpirationInDays" in rule:
        days = rule["NoncurrentVersionExpirationInDays"]
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(days)}
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": str(days)}
    if "Transitions" in rule:
        api["Transition"] = [
            {"Days": str(t["TransitionInDays"]), "StorageClass": t["StorageClass"]}
            for t in rule["Transitions"]
        ]
    if "NoncurrentVersionTransitions" in rule:
        api["NoncurrentVersionTransition"] = [
            {"NoncurrentDays": str(t["TransitionInDays"]), "StorageClass": t["StorageClass"]}
            for t in rule["NoncurrentVersionTransitions"]
        ]
    return api


completes_after_moto(FakeBucket, complete_bucket)
