"""The README's client and LangChain examples, run as written against a real serve."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Serve

README = Path(__file__).parents[2] / "README.md"


def example(section: str) -> str:
    """The first ```python block of the README section headed `## {section}`."""
    text = README.read_text()
    start = text.index(f"\n## {section}\n")
    block = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert block is not None, section
    return block.group(1)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("Python client", "[('pg', 'PostgreSQL is a relational database.')]\n['pg', 'banana']\n"),
        ("LangChain", "pg\n['Bananas are a yellow fruit.']\n"),
    ],
)
def test_readme_example_runs(
    pgsearch_serve: Serve, tmp_path: Path, section: str, expected: str
) -> None:
    code = example(section)
    assert len(code.strip().splitlines()) <= 12, "the README promises about ten lines"
    env = {**os.environ, "PGSEARCH_URL": pgsearch_serve.url}
    env["PGSEARCH_API_KEY"] = pgsearch_serve.admin_key
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == expected
