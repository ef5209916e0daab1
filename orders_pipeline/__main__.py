"""`python -m orders_pipeline` runs the CLI."""

from orders_pipeline.cli import main

main()
