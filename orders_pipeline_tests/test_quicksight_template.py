"""infra/quicksight.yaml: lint-clean, the local page's visuals, datasets true to the tables."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from orders_pipeline import tables as registry
from orders_pipeline.dashboard.charts import CHART_TITLES
from orders_pipeline.dashboard.kpis import KPI_LABELS
from orders_pipeline.dashboard.tables import MONEY_COLUMNS
from orders_pipeline_tests.prerequisites import checkov

DASHBOARD_TABLES = [t.name for t in registry.DASHBOARD_TABLES]

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "infra" / "quicksight.yaml"
QUICKSIGHT_TYPES = (
    "AWS::QuickSight::DataSource",
    "AWS::QuickSight::DataSet",
    "AWS::QuickSight::Dashboard",
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, errors = decode(str(TEMPLATE_PATH))
    assert not errors, errors
    return parsed


@pytest.fixture(scope="module")
def definition(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["OrdersDashboard"]["Properties"]["Definition"]


def _of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def _visuals(definition: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """visual id -> (visual type, visual)."""
    found = {}
    for sheet in definition["Sheets"]:
        for visual in sheet["Visuals"]:
            ((kind, body),) = visual.items()
            found[body["VisualId"]] = (kind, body)
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _dataset_columns(template: dict[str, Any]) -> dict[str, set[str]]:
    """Dashboard dataset identifier -> the columns its dataset exposes."""
    by_resource = {}
    for name, properties in _of_type(template, "AWS::QuickSight::DataSet").items():
        ((table,),) = [properties["PhysicalTableMap"].values()]
        source = table.get("RelationalTable") or table["CustomSql"]
        columns = source.get("InputColumns") or source["Columns"]
        by_resource[name] = {column["Name"] for column in columns}
    declarations = template["Resources"]["OrdersDashboard"]["Properties"]["Definition"][
        "DataSetIdentifierDeclarations"
    ]
    return {d["Identifier"]: by_resource[d["DataSetArn"]["Fn::GetAtt"][0]] for d in declarations}


def test_cfn_lint_reports_no_findings() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", str(TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_checkov_passes() -> None:
    result = subprocess.run(
        [
            checkov(),
            *("-f", str(TEMPLATE_PATH), "--framework", "cloudformation"),
            *("--compact", "--skip-download", "--output", "json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    assert report["results"]["failed_checks"] == []
    assert report["summary"]["passed"] > 0


def test_the_data_source_is_athena_on_the_pipeline_workgroup(template: dict[str, Any]) -> None:
    (source,) = _of_type(template, "AWS::QuickSight::DataSource").values()
    assert source["Type"] == "ATHENA"
    athena = source["DataSourceParameters"]["AthenaParameters"]
    assert athena["WorkGroup"] == {"Ref": "AthenaWorkGroupName"}
    assert template["Parameters"]["AthenaWorkGroupName"]["Default"] == "orders-pipeline"


@pytest.mark.parametrize("table", DASHBOARD_TABLES)
def test_each_aggregate_table_has_a_direct_query_dataset_with_its_columns(
    template: dict[str, Any], table: str
) -> None:
    datasets = [
        (properties, physical["RelationalTable"])
        for properties in _of_type(template, "AWS::QuickSight::DataSet").values()
        for physical in properties["PhysicalTableMap"].values()
        if physical.get("RelationalTable", {}).get("Name") == table
    ]
    ((properties, relational),) = datasets
    assert properties["ImportMode"] == "DIRECT_QUERY"  # no SPICE copy to go stale
    assert relational["Schema"] == {"Ref": "GlueDatabaseName"}
    columns = {column["Name"]: column for column in relational["InputColumns"]}
    assert list(columns) == list(registry.table(table).dashboard_columns)
    for money in MONEY_COLUMNS.get(table, ()):
        assert (columns[money]["Type"], columns[money].get("SubType")) == ("DECIMAL", "FIXED")


@pytest.mark.parametrize(("kpi", "label"), KPI_LABELS)
def test_every_kpi_of_the_local_page_is_a_kpi_visual(
    definition: dict[str, Any], kpi: str, label: str
) -> None:
    kind, visual = _visuals(definition)[f"kpi-{kpi.replace('_', '-')}"]
    assert kind == "KPIVisual"
    assert visual["Title"]["FormatText"]["PlainText"] == label


@pytest.mark.parametrize(("chart", "title"), CHART_TITLES)
def test_every_chart_of_the_local_page_has_a_visual_with_its_title(
    definition: dict[str, Any], chart: str, title: str
) -> None:
    _, visual = _visuals(definition)[chart.replace("_", "-")]
    assert visual["Title"]["FormatText"]["PlainText"] == title


def test_every_visual_is_laid_out_once_and_the_layout_names_only_visuals(
    definition: dict[str, Any],
) -> None:
    (sheet,) = definition["Sheets"]
    (layout,) = sheet["Layouts"]
    elements = [e["ElementId"] for e in layout["Configuration"]["GridLayout"]["Elements"]]
    assert sorted(elements) == sorted(_visuals(definition))


def test_every_column_a_visual_uses_exists_in_its_dataset(
    template: dict[str, Any], definition: dict[str, Any]
) -> None:
    columns = _dataset_columns(template)
    for field in definition["CalculatedFields"]:
        columns[field["DataSetIdentifier"]].add(field["Name"])
    used = [
        (node["DataSetIdentifier"], node["ColumnName"])
        for node in _walk(definition["Sheets"])
        if "ColumnName" in node
    ]
    assert used
    assert [(ds, c) for ds, c in used if c not in columns[ds]] == []


def test_field_ids_are_unique_and_every_sort_names_a_field(definition: dict[str, Any]) -> None:
    nodes = list(_walk(definition["Sheets"]))
    declared = [n["FieldId"] for n in nodes if "FieldId" in n and "Column" in n]
    sorted_by = [n["FieldSort"]["FieldId"] for n in nodes if "FieldSort" in n]
    assert len(declared) == len(set(declared))
    assert set(sorted_by) <= set(declared)


@pytest.mark.parametrize("resource_type", QUICKSIGHT_TYPES)
def test_the_principal_parameter_owns_every_quicksight_resource(
    template: dict[str, Any], resource_type: str
) -> None:
    for properties in _of_type(template, resource_type).values():
        principals = [p["Principal"] for p in properties["Permissions"]]
        assert principals == [{"Ref": "QuickSightPrincipalArn"}]


def test_the_athena_role_grants_no_wildcard_actions_or_whole_bucket_reads(
    template: dict[str, Any],
) -> None:

    (role,) = _of_type(template, "AWS::IAM::Role").values()
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    actions = [a for s in statements for a in _as_list(s["Action"])]
    assert not [a for a in actions if "*" in a]
    object_resources = [
        s["Resource"]["Fn::Sub"] for s in statements if "s3:GetObject" in s["Action"]
    ]
    assert object_resources == [
        "arn:${AWS::Partition}:s3:::${DataBucketName}/analytics/*",
        "arn:${AWS::Partition}:s3:::${DataBucketName}/athena-results/*",
    ]
