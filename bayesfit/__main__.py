"""Entry point of ``python -m bayesfit``."""

from bayesfit.cli import run

run()
