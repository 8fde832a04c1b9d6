"""Writing what GitHub Actions reads: step outputs (``$GITHUB_OUTPUT``) and the job summary.

The paths come from the caller's environment; nothing here reads ``os.environ``. ``check_outputs`` checks, before
a command does anything, that the files it will write there can be written (``deployer.jsonfile.check_writable``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

from deployer.errors import UsageError

OUTPUT = "GITHUB_OUTPUT"
SUMMARY = "GITHUB_STEP_SUMMARY"


def check_outputs(env: Mapping[str, str], names: tuple[str, ...] = (OUTPUT, SUMMARY)) -> None:
    """Raise ``UsageError`` when a variable of ``names`` set in ``env`` names a file that cannot be written."""
    from deployer.jsonfile import check_writable

    for name in names:
        if env.get(name):
            check_writable(env[name], f"${name} ({env[name]})")


def write_outputs(path: str | Path, outputs: Mapping[str, str]) -> None:
    """Append ``name=value`` lines (heredoc form for multi-line values)."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            for name, value in outputs.items():
                if "\n" in value:
                    marker = f"EOF_{uuid.uuid4().hex}"
                    handle.write(f"{name}<<{marker}\n{value}\n{marker}\n")
                else:
                    handle.write(f"{name}={value}\n")
    except OSError as exc:
        raise UsageError(f"${OUTPUT} ({path}): cannot write the step outputs ({exc.strerror or exc})") from None


def append_summary(path: str | Path, markdown: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip() + "\n\n")
    except OSError as exc:
        raise UsageError(f"${SUMMARY} ({path}): cannot write the job summary ({exc.strerror or exc})") from None
