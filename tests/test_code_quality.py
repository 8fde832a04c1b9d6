"""The code-quality gate, run by the test command (scripts/test, so CI too): ruff's lint and format check and
mypy, as pyproject.toml configures them (mypy strict on ``deployer``, lenient on ``tests``; strict on the
pytest plugin in ``pytest-plugin/`` with its own settings), report nothing.

They run from this virtualenv (the ``test`` extra installs them), in the project root. mypy keeps its cache in
``.mypy_cache/`` (git-ignored): about 15 s cold, under 1 s warm.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import PROJECT

CHECKS = {
    "ruff-check": ["ruff", "check", "--no-fix", "."],
    "ruff-format": ["ruff", "format", "--check", "."],
    "mypy": ["mypy"],  # the files and options of [tool.mypy]
    "mypy-plugin": ["mypy", "--config-file", "pytest-plugin/pyproject.toml", "pytest-plugin/src"],  # strict
}


@pytest.mark.parametrize("check", CHECKS)
def test_clean(check: str) -> None:
    argv = [sys.executable, "-m", *CHECKS[check]]
    done = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"`{' '.join(CHECKS[check])}` failed:\n{done.stdout}{done.stderr}"
