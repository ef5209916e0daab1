"""The `orders-pipeline` command line: one group, one module per command under `commands/`."""

import click

from orders_pipeline.commands.generate import generate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="orders-pipeline")
def main() -> None:
    """Real-time ecommerce orders CDC pipeline on AWS, and the same pipeline offline.

    Every command talks to AWS through its real APIs; point AWS_ENDPOINT_URL at the
    local stack (`orders-pipeline local up`) to run everything on this machine.
    """


main.add_command(generate)
