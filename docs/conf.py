"""Sphinx configuration of bayesfit's documentation site.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` (the test suite does, with
warnings as errors). The notebooks are rendered as committed, executed; they are not run again.
"""

import bayesfit

project = "bayesfit"
author = "The bayesfit developers"
copyright = "2026, the bayesfit developers"
release = version = bayesfit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "notebooks/figures", "notebooks/.ipynb_checkpoints"]

# The notebooks are committed executed (the test suite checks them); render their outputs.
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath"]

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}

html_theme = "alabaster"
html_title = f"bayesfit {release}"
