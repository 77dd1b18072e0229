"""`python -m client`: the `crs` command line."""

from client.cli import run

run()
