"""AWS::Glue::Database, Classifier and Crawler, which moto's CloudFormation skips."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.glue.models import GlueBackend, glue_backends

from orders_pipeline.local_stack.cloudformation.resources import HookedResource, tags_as_dict, typed
from orders_pipeline.local_stack.glue.classifiers import put_classifier, remove_classifier
from orders_pipeline.local_stack.patching import calls

calls(
    GlueBackend,
    "create_crawler",
    "self", "name", "role", "database_name", "description", "targets", "schedule",
    "classifiers", "table_prefix", "schema_change_policy", "recrawl_policy",
    "lineage_configuration", "configuration", "crawler_security_configuration", "tags",
    declared_in=__name__,
)  # fmt: skip
calls(
    GlueBackend,
    "update_database",
    "self",
    "database_name",
    "database_input",
    declared_in=__name__,
)
calls(GlueBackend, "delete_database", "self", "database_name", declared_in=__name__)
calls(GlueBackend, "delete_crawler", "self", "name", declared_in=__name__)


class GlueDatabaseResource(HookedResource, CloudFormationModel):
    """AWS::Glue::Database; Ref = database name, updated in place."""

    CFN_TYPE = "AWS::Glue::Database"
    # No NAME_PROPERTY: the name sits inside DatabaseInput, where moto's generic name lookup
    # cannot see it.

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> GlueDatabaseResource:
        database_input = dict(props.get("DatabaseInput") or {})
        name = database_input.setdefault("Name", name.lower())
        glue_backends[account_id][region_name].create_database(name, database_input)
        return cls(name, account_id, region_name)

    @classmethod
    def _update(
        cls,
        original: GlueDatabaseResource,
        name: str,
        props: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> bool:
        database_input = dict(props.get("DatabaseInput") or {})
        database_input.setdefault("Name", original.name)
        if database_input["Name"] != original.name:
            return False
        glue_backends[account_id][region_name].update_database(original.name, database_input)
        return True

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = glue_backends[account_id][region_name]
        if name in backend.databases:
            backend.delete_database(name)


class GlueClassifierResource(HookedResource, CloudFormationModel):
    """AWS::Glue::Classifier, stored by glue/classifiers.py (moto has none); Ref = name."""

    CFN_TYPE = "AWS::Glue::Classifier"
    # CloudFormation and the CreateClassifier API name the four kinds the same way.
    _KINDS = ("JsonClassifier", "CsvClassifier", "GrokClassifier", "XMLClassifier")

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> GlueClassifierResource:
        kinds = [kind for kind in cls._KINDS if kind in props]
        if len(kinds) != 1:
            raise ValueError(
                f"AWS::Glue::Classifier needs exactly one of {list(cls._KINDS)}, got {kinds}"
            )
        body = dict(props[kinds[0]])
        body.setdefault("Name", name)
        put_classifier(account_id, region_name, {kinds[0]: body})
        return cls(body["Name"], account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        remove_classifier(account_id, region_name, name)


class GlueCrawlerResource(HookedResource, CloudFormationModel):
    """AWS::Glue::Crawler in moto's Glue backend (no UpdateCrawler there: updates replace it)."""

    CFN_TYPE = "AWS::Glue::Crawler"
    NAME_PROPERTY = "Name"

    @classmethod
    def _create(
        cls, name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> GlueCrawlerResource:
        props = typed(props)
        # CloudFormation nests the cron expression; the API takes it as a plain string.
        schedule = (props.get("Schedule") or {}).get("ScheduleExpression")
        glue_backends[account_id][region_name].create_crawler(
            name=name,
            role=props["Role"],
            database_name=props.get("DatabaseName"),
            description=props.get("Description"),
            targets=props["Targets"],
            schedule=schedule,
            classifiers=props.get("Classifiers") or [],
            table_prefix=props.get("TablePrefix"),
            schema_change_policy=props.get("SchemaChangePolicy"),
            recrawl_policy=props.get("RecrawlPolicy"),
            lineage_configuration=props.get("LineageConfiguration"),
            configuration=props.get("Configuration"),
            crawler_security_configuration=props.get("CrawlerSecurityConfiguration"),
            tags=tags_as_dict(props.get("Tags")),
        )
        return cls(name, account_id, region_name)

    @classmethod
    def _delete(cls, name: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = glue_backends[account_id][region_name]
        if name in backend.crawlers:
            backend.delete_crawler(name)
