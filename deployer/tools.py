"""Where the command-line tools the deployer drives (helm, kubectl, sops) are found.

Order: ``<repo>/.tools/bin`` (installed by ``scripts/install-tools``), the deployer's own checkout's
``.tools/bin`` (so a config tree elsewhere still uses the pinned tools), then ``PATH`` of the given
environment. Nothing is cached globally; callers ask once per run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Mapping

from deployer.errors import ToolMissingError

_OWN_CHECKOUT = Path(__file__).resolve().parents[1]


def find_tool(name: str, root: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    dirs = [d / ".tools" / "bin" for d in (root, _OWN_CHECKOUT) if d is not None]
    for folder in dirs:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name, path=(env if env is not None else os.environ).get("PATH"))
    if found:
        return found
    raise ToolMissingError(
        f"{name}: not installed; run scripts/install-tools in the deployer checkout, or put {name} on PATH"
    )
