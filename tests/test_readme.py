"""The README's quick-start code runs as written (documentation stays true)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_runs():
    text = README.read_text()
    match = re.search(r"## Quick start\n\n```python\n(.*?)```", text, re.S)
    assert match, "README.md has no python quick-start block"
    namespace: dict = {}
    exec(compile(match.group(1), "README quick start", "exec"), namespace)
    assert len(namespace["out"]) == namespace["model"].fc.numel()


def test_ci_runs_the_readme_test_command():
    ci = (README.parent / ".ci" / "run").read_text()
    assert "test-command" in ci
    block = re.search(r"<!-- test-command -->\n```bash\n(.+?)\n```", README.read_text(), re.S)
    assert block and "pytest" in block.group(1)
