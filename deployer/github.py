"""Writing what GitHub Actions reads: step outputs (``$GITHUB_OUTPUT``) and the job summary.

The paths come from the caller's environment; nothing here reads ``os.environ``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path


def write_outputs(path: str | Path, outputs: Mapping[str, str]) -> None:
    """Append ``name=value`` lines (heredoc form for multi-line values)."""
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            if "\n" in value:
                marker = f"EOF_{uuid.uuid4().hex}"
                handle.write(f"{name}<<{marker}\n{value}\n{marker}\n")
            else:
                handle.write(f"{name}={value}\n")


def append_summary(path: str | Path, markdown: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown.rstrip() + "\n\n")
