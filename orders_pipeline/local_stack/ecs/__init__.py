"""ECS: cluster, task definition and service models that keep what infra/dagster.yaml sets."""
