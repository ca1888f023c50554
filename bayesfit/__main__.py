"""Entry point of ``python -m bayesfit``."""

import sys

from .cli import main

sys.exit(main())
