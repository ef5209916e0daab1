"""Click commands of the `orders-pipeline` CLI, one module per command."""
