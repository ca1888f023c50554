"""Entry point of ``python -m bayesfit``."""

from .cli import run

run()
