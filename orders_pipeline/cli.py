"""The `orders-pipeline` command line: one group, one module per command under `commands/`.
Commands load lazily, so `generate` does not pay for importing Dagster.
"""

import importlib

import click

COMMANDS = {
    "generate": "orders_pipeline.commands.generate:generate",
    "deploy": "orders_pipeline.commands.deploy:deploy",
    "deploy-dagster": "orders_pipeline.commands.deploy_dagster:deploy_dagster",
    "local": "orders_pipeline.commands.local:local",
    "run": "orders_pipeline.commands.run:run",
    "demo": "orders_pipeline.commands.demo:demo",
    "dashboard": "orders_pipeline.commands.dashboard:dashboard",
    "cost": "orders_pipeline.commands.cost:cost",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when one is run or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="orders-pipeline")
def main() -> None:
    """Real-time ecommerce orders CDC pipeline on AWS, and the same pipeline offline.

    Every command talks to AWS through its real APIs; point AWS_ENDPOINT_URL at the
    local stack (`orders-pipeline local up`) to run everything on this machine.
    `orders-pipeline run` starts that stack with the Dagster UI (what `make run` does).
    """
