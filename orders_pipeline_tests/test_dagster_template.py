"""infra/dagster.yaml: private by construction, one role per service, secrets never in plain
environment, and containers given every variable the instance config and workspace read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "infra" / "dagster.yaml"
INSTANCE_FILES = [
    REPO_ROOT / "infra" / "dagster" / name for name in ("dagster.yaml", "workspace.yaml")
]
SERVICE_ROLES = {
    "WebserverTaskDefinition": "WebserverTaskRole",
    "DaemonTaskDefinition": "DaemonTaskRole",
    "CodeLocationTaskDefinition": "CodeLocationTaskRole",
    "RunTaskDefinition": "RunTaskRole",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, errors = decode(str(TEMPLATE_PATH))
    assert not errors, errors
    return parsed


def _of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def _containers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: definition["ContainerDefinitions"][0]
        for name, definition in _of_type(template, "AWS::ECS::TaskDefinition").items()
    }


def test_no_security_group_accepts_traffic_from_an_address_range(template) -> None:
    inline = [
        rule
        for group in _of_type(template, "AWS::EC2::SecurityGroup").values()
        for rule in group.get("SecurityGroupIngress", [])
    ]
    separate = list(_of_type(template, "AWS::EC2::SecurityGroupIngress").values())
    assert inline == []
    assert separate and all("SourceSecurityGroupId" in rule for rule in separate)
    assert not any("CidrIp" in rule or "CidrIpv6" in rule for rule in separate)


def test_the_database_accepts_only_the_dagster_tasks_on_5432(template) -> None:
    rules = [
        rule
        for rule in _of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if rule["GroupId"] == {"Ref": "DatabaseSecurityGroup"}
    ]
    sources = sorted(rule["SourceSecurityGroupId"]["Ref"] for rule in rules)
    assert sources == ["CodeLocationSecurityGroup", "DaemonSecurityGroup", "WebserverSecurityGroup"]
    assert {(rule["FromPort"], rule["ToPort"]) for rule in rules} == {(5432, 5432)}


def test_nothing_is_public_no_load_balancer_no_public_ip(template) -> None:
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert not any(t.startswith("AWS::ElasticLoadBalancing") for t in types)
    for service in _of_type(template, "AWS::ECS::Service").values():
        network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"


def test_the_database_is_encrypted_private_and_in_the_private_subnets(template) -> None:
    (database,) = _of_type(template, "AWS::RDS::DBInstance").values()
    assert database["StorageEncrypted"] is True
    assert database["PubliclyAccessible"] is False
    assert database["DBSubnetGroupName"] == {"Ref": "DatabaseSubnetGroup"}
    (group,) = _of_type(template, "AWS::RDS::DBSubnetGroup").values()
    assert group["SubnetIds"] == {"Ref": "PrivateSubnetIds"}


def test_the_database_password_is_generated_into_secrets_manager(template) -> None:
    (database,) = _of_type(template, "AWS::RDS::DBInstance").values()
    assert database["MasterUserPassword"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:password}}"
    }
    secret = template["Resources"]["DatabaseSecret"]["Properties"]
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "password"


def test_database_credentials_reach_the_containers_only_as_ecs_secrets(template) -> None:
    for name, container in _containers(template).items():
        secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
        assert secrets == {
            "DAGSTER_PG_USERNAME": {"Fn::Sub": "${DatabaseSecret}:username::"},
            "DAGSTER_PG_PASSWORD": {"Fn::Sub": "${DatabaseSecret}:password::"},
        }, name
        plain = {variable["Name"] for variable in container["Environment"]}
        assert not plain & set(secrets), name


def _variables_read(path: Path) -> set[str]:
    return set(re.findall(r"env:\s*([A-Z][A-Z0-9_]*)", path.read_text()))


@pytest.mark.parametrize("instance_file", INSTANCE_FILES, ids=lambda path: path.name)
def test_every_container_gets_each_variable_the_instance_files_read(
    template, instance_file
) -> None:
    read = _variables_read(instance_file)
    for name, container in _containers(template).items():
        given = {v["Name"] for v in container["Environment"]} | {
            s["Name"] for s in container["Secrets"]
        }
        assert read <= given, f"{name} lacks {sorted(read - given)}"


@pytest.mark.parametrize(("definition", "role"), SERVICE_ROLES.items())
def test_each_task_definition_has_its_own_task_role(template, definition, role) -> None:
    properties = template["Resources"][definition]["Properties"]
    assert properties["TaskRoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
    assert properties["ExecutionRoleArn"] == {"Fn::GetAtt": ["TaskExecutionRole", "Arn"]}


@pytest.mark.parametrize("role", [*SERVICE_ROLES.values(), "TaskExecutionRole"])
def test_every_task_role_trusts_only_ecs_tasks_of_this_account(template, role) -> None:
    (statement,) = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


def test_the_pipeline_access_policy_is_one_policy_for_the_code_and_the_runs(template) -> None:
    holders = [
        name
        for name, policy in _of_type(template, "AWS::IAM::Policy").items()
        if any(s["Sid"] == "QueryInWorkgroup" for s in policy["PolicyDocument"]["Statement"])
    ]
    assert holders == ["PipelineAccessPolicy"]
    roles = template["Resources"]["PipelineAccessPolicy"]["Properties"]["Roles"]
    assert roles == [{"Ref": "CodeLocationTaskRole"}, {"Ref": "RunTaskRole"}]


def test_the_daemon_may_pass_only_the_run_task_roles(template) -> None:
    statements = template["Resources"]["DaemonTaskRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"]
    (passing,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passing["Resource"] == [
        {"Fn::GetAtt": ["RunTaskRole", "Arn"]},
        {"Fn::GetAtt": ["TaskExecutionRole", "Arn"]},
    ]
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }


def test_only_one_daemon_task_runs_even_during_a_deploy(template) -> None:
    deployment = template["Resources"]["DaemonService"]["Properties"]["DeploymentConfiguration"]
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (0, 100)


def test_the_code_location_registers_in_cloud_map_and_only_the_webserver_allows_exec(
    template,
) -> None:
    services = _of_type(template, "AWS::ECS::Service")
    registries = services["CodeLocationService"]["ServiceRegistries"]
    assert registries == [{"RegistryArn": {"Fn::GetAtt": ["CodeLocationDiscoveryService", "Arn"]}}]
    assert [name for name, s in services.items() if s.get("EnableExecuteCommand")] == [
        "WebserverService"
    ]


def test_every_log_group_has_a_retention(template) -> None:
    groups = _of_type(template, "AWS::Logs::LogGroup")
    assert len(groups) == 4
    assert {g["RetentionInDays"]["Ref"] for g in groups.values()} == {"LogRetentionInDays"}
