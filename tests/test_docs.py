"""The Sphinx documentation builds without a warning (``sphinx-build -W --keep-going``).

The build runs ``docs/generate.py``, which runs the AMT validation harness on the
reference set when it is found (``$AMT_REFERENCE_DIR``) and renders its table, so this
also checks that the generated pages are valid reStructuredText.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD_TIMEOUT_S = 300


def _generate_module():
    sys.path.insert(0, str(DOCS))
    try:
        import generate
    finally:
        sys.path.remove(str(DOCS))
    return generate


def test_generate_converts_markdown_tables() -> None:
    generate = _generate_module()
    rst = generate.markdown_to_rst("### Models `x`\n\nText.\n\n| a | b |\n|---|---:|\n"
                                   "| 1 | `c` |\n")
    assert "Models ``x``\n------" in rst
    assert ".. list-table::" in rst and "     - ``c``" in rst
    note = generate.benchmarks_rst(DOCS / "_generated" / "no_such_file.md")
    assert "python -m benchmarks" in note


def test_sphinx_build_has_no_warnings(tmp_path: Path) -> None:
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS),
         str(tmp_path / "html"), "-d", str(tmp_path / "doctrees")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    print(proc.stdout[-5000:])
    print(proc.stderr[-20000:])
    assert proc.returncode == 0, f"sphinx-build failed (exit {proc.returncode}):\n{proc.stderr}"
    index = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "Dau et al. (1997)" in index
    validation = (tmp_path / "html" / "validation.html").read_text(encoding="utf-8")
    if _generate_module().reference_dir().is_dir():
        assert "checks passed" in validation and "0 failed" in validation
    else:
        assert "python -m torch_amt.validation" in validation
