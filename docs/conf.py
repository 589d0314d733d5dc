"""Sphinx configuration of the torch_amt documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` from the repository
root. At build time :mod:`generate` (next to this file) writes the validation table (by
running the AMT validation harness when the reference set is found) and the benchmark
table into ``docs/_generated/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))

import generate  # noqa: E402  (needs the paths above)

import torch_amt  # noqa: E402

project = "torch_amt"
author = "torch_amt developers"
copyright = "torch_amt developers; GPL-3.0-or-later"  # noqa: A001  (Sphinx's name)
release = torch_amt.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

exclude_patterns = ["_build", "_generated", "generate.py"]
templates_path: list[str] = []

# NumPy-style docstrings; "Shape(s)" is a section of the module docstrings
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_custom_sections = ["Shape", "Shapes"]
napoleon_use_rtype = False

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"show-inheritance": False}
autoclass_content = "class"
# forward, extra_repr, ... of nn.Modules: only what the classes document themselves
autodoc_inherit_docstrings = False

html_theme = "alabaster"
html_title = f"torch_amt {release}"
html_theme_options = {
    "description": "AMT auditory models in PyTorch, validated against AMT 1.4.0",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
html_static_path: list[str] = []


def _generate(app) -> None:  # noqa: ANN001  (Sphinx application)
    generate.main()


def setup(app) -> None:  # noqa: ANN001  (Sphinx application)
    app.connect("builder-inited", _generate)
