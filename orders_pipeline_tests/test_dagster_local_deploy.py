"""infra/dagster.yaml on the local stack: deploy beside the pipeline stack, re-run, delete."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from orders_pipeline.commands.deploy_dagster import deploy_dagster
from orders_pipeline.dagster_deploy import deploy_dagster_stack, ui_access
from orders_pipeline.deploy import delete_stack

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"  # the local stack's region
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/orders-pipeline-dagster:test"
# Local only: the test tears the stack down, which deletion protection would refuse.
LOCAL_PARAMETERS = {"DatabaseDeletionProtection": "false"}


def create_network(ec2) -> tuple[str, list[str]]:
    """A VPC of its own with two private subnets in two AZs (the template's inputs).

    One per stack: moto allows a single Cloud Map namespace per VPC.
    """
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{REGION}{az}")[
            "Subnet"
        ]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    return vpc, subnets


@pytest.fixture(scope="module")
def network(local_stack, aws_client):
    return create_network(aws_client("ec2"))


@pytest.fixture(scope="module")
def dagster_stack(local_stack, deployed_stack, network):
    """The Dagster stack under unique names next to the session's pipeline stack."""
    suffix = uuid.uuid4().hex[:8]
    name = f"dagster-{suffix}"
    parameters = {
        **LOCAL_PARAMETERS,
        "ClusterName": f"dagster-{suffix}",
        "ServiceDiscoveryNamespaceName": f"dagster-{suffix}.internal",
    }
    vpc, subnets = network
    outputs = deploy_dagster_stack(
        image_uri=IMAGE,
        vpc_id=vpc,
        subnet_ids=subnets,
        stack_name=name,
        parameters=parameters,
        poll_interval=0.2,
    )
    yield name, parameters, outputs
    delete_stack(name, poll_interval=0.2)


def test_deploy_creates_the_cluster_and_its_three_services(aws_client, dagster_stack):
    _, _, outputs = dagster_stack
    ecs = aws_client("ecs")
    services = ecs.describe_services(
        cluster=outputs["ClusterName"],
        services=[
            outputs["WebserverServiceName"],
            outputs["DaemonServiceName"],
            outputs["CodeLocationServiceName"],
        ],
    )["services"]
    assert sorted(s["serviceName"] for s in services) == ["code-location", "daemon", "webserver"]


def test_the_services_run_on_fargate_in_the_private_subnets_without_public_ip(
    aws_client, dagster_stack, network
):
    _, _, outputs = dagster_stack
    _, subnets = network
    services = aws_client("ecs").describe_services(
        cluster=outputs["ClusterName"], services=["webserver", "daemon", "code-location"]
    )["services"]
    for service in services:
        assert service["launchType"] == "FARGATE"
        vpc = service["networkConfiguration"]["awsvpcConfiguration"]
        assert (vpc["subnets"], vpc["assignPublicIp"]) == (subnets, "DISABLED")


def test_the_code_location_service_registers_in_cloud_map(aws_client, dagster_stack):
    _, _, outputs = dagster_stack
    (service,) = aws_client("ecs").describe_services(
        cluster=outputs["ClusterName"], services=["code-location"]
    )["services"]
    (registry,) = service["serviceRegistries"]
    discovery = aws_client("servicediscovery")
    services = discovery.list_services()["Services"]
    assert registry["registryArn"] in [s["Arn"] for s in services if s["Name"] == "code-location"]


def test_the_run_task_definition_has_its_own_role_and_the_database_secret(
    aws_client, dagster_stack
):
    _, _, outputs = dagster_stack
    definition = aws_client("ecs").describe_task_definition(
        taskDefinition=outputs["RunTaskDefinitionArn"]
    )["taskDefinition"]
    (container,) = definition["containerDefinitions"]
    assert (container["name"], container["image"]) == ("run", IMAGE)
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert definition["networkMode"] == "awsvpc"
    role = aws_client("iam").get_role(RoleName=definition["taskRoleArn"].rsplit("/", 1)[1])
    assert "RunTaskRole" in role["Role"]["RoleName"]
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert secrets["DAGSTER_PG_PASSWORD"] == f"{outputs['DatabaseSecretArn']}:password::"


def test_the_database_credentials_are_generated_into_secrets_manager(aws_client, dagster_stack):
    _, _, outputs = dagster_stack
    secret = aws_client("secretsmanager").get_secret_value(SecretId=outputs["DatabaseSecretArn"])
    credentials = json.loads(secret["SecretString"])
    assert credentials["username"] == "dagster"
    assert len(credentials["password"]) == 32 and credentials["password"].isalnum()


def test_the_database_is_postgres_encrypted_and_private(aws_client, dagster_stack):
    _, _, outputs = dagster_stack
    (instance,) = [
        db
        for db in aws_client("rds").describe_db_instances()["DBInstances"]
        if db["Endpoint"]["Address"] == outputs["DatabaseEndpoint"]
    ]
    assert instance["Engine"] == "postgres"
    assert instance["StorageEncrypted"] is True
    assert instance["PubliclyAccessible"] is False


def test_log_groups_exist_with_retention(aws_client, dagster_stack):
    _, _, outputs = dagster_stack
    logs = aws_client("logs")
    for key in ("WebserverLogGroupName", "DaemonLogGroupName", "CodeLocationLogGroupName"):
        (group,) = logs.describe_log_groups(logGroupNamePrefix=outputs[key])["logGroups"]
        assert group["retentionInDays"] == 30


def test_the_code_location_is_registered_in_cloud_map(aws_client, dagster_stack):
    _, parameters, outputs = dagster_stack
    discovery = aws_client("servicediscovery")
    names = {ns["Id"]: ns["Name"] for ns in discovery.list_namespaces()["Namespaces"]}
    assert parameters["ServiceDiscoveryNamespaceName"] in names.values()
    assert (
        outputs["CodeLocationHost"]
        == f"code-location.{parameters['ServiceDiscoveryNamespaceName']}"
    )


def test_redeploy_with_nothing_changed_is_a_no_op(aws_client, dagster_stack, network):
    name, parameters, outputs = dagster_stack
    cloudformation = aws_client("cloudformation")
    events_before = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    messages = []
    vpc, subnets = network
    again = deploy_dagster_stack(
        image_uri=IMAGE,
        vpc_id=vpc,
        subnet_ids=subnets,
        stack_name=name,
        parameters=parameters,
        poll_interval=0.2,
        progress=messages.append,
    )
    assert again == outputs
    assert f"{name}: no changes" in messages
    assert cloudformation.describe_stack_events(StackName=name)["StackEvents"] == events_before


def test_without_a_running_webserver_task_the_ui_hint_says_how_to_find_it(
    aws_client, dagster_stack
):
    _, _, outputs = dagster_stack
    access = ui_access(outputs, ecs=aws_client("ecs"))
    assert access.task_id is None
    assert f"aws ecs list-tasks --cluster {outputs['ClusterName']}" in access.command


def test_cli_ui_only_prints_the_hint_for_the_deployed_stack(dagster_stack):
    name, _, outputs = dagster_stack
    result = CliRunner().invoke(deploy_dagster, ["--stack-name", name, "--ui-only"])
    assert result.exit_code == 0, result.output
    assert f"--cluster {outputs['ClusterName']} --service-name webserver" in result.stdout


@pytest.fixture
def scratch_stack(aws_client, local_stack, deployed_stack):
    """A Dagster stack in a VPC of its own, for a test that changes or deletes it."""
    name = f"dagster-{uuid.uuid4().hex[:8]}"
    vpc, subnets = create_network(aws_client("ec2"))
    request = {
        "vpc_id": vpc,
        "subnet_ids": subnets,
        "stack_name": name,
        "parameters": {
            **LOCAL_PARAMETERS,
            "ClusterName": name,
            "ServiceDiscoveryNamespaceName": f"{name}.internal",
        },
        "poll_interval": 0.2,
    }
    outputs = deploy_dagster_stack(image_uri=IMAGE, **request)
    yield name, request, outputs
    delete_stack(name, poll_interval=0.2)  # a no-op once the test deleted it


def test_a_new_image_tag_is_a_new_revision_of_every_task_definition(aws_client, scratch_stack):
    name, request, outputs = scratch_stack
    upgraded = IMAGE.replace(":test", ":v2")

    deploy_dagster_stack(image_uri=upgraded, **request)

    # By family: the newest revision. (On AWS the services then roll to it; moto does not
    # re-apply a resource whose referenced resource was replaced, so services are not checked.)
    ecs = aws_client("ecs")
    for role in ("webserver", "daemon", "code-location", "run"):
        definition = ecs.describe_task_definition(taskDefinition=f"{name}-{role}")["taskDefinition"]
        assert definition["revision"] == 2
        assert definition["containerDefinitions"][0]["image"] == upgraded
    previous = ecs.describe_task_definition(taskDefinition=outputs["RunTaskDefinitionArn"])
    assert previous["taskDefinition"]["status"] == "INACTIVE"


def test_delete_removes_cluster_task_definitions_database_secret_logs_and_namespace(
    aws_client, scratch_stack
):
    name, _, outputs = scratch_stack

    delete_stack(name, poll_interval=0.2)

    (cluster,) = aws_client("ecs").describe_clusters(clusters=[outputs["ClusterName"]])["clusters"]
    assert cluster["status"] == "INACTIVE"  # as on AWS: a deleted cluster stays listed a while
    definition = aws_client("ecs").describe_task_definition(
        taskDefinition=outputs["RunTaskDefinitionArn"]
    )["taskDefinition"]
    assert definition["status"] == "INACTIVE"
    assert outputs["DatabaseEndpoint"] not in [
        db["Endpoint"]["Address"] for db in aws_client("rds").describe_db_instances()["DBInstances"]
    ]
    groups = aws_client("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{name}/")
    assert groups["logGroups"] == []
    namespaces = aws_client("servicediscovery").list_namespaces()["Namespaces"]
    assert f"{name}.internal" not in [ns["Name"] for ns in namespaces]
    with pytest.raises(ClientError):
        aws_client("secretsmanager").describe_secret(SecretId=outputs["DatabaseSecretArn"])
