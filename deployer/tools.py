"""Where the command-line tools the deployer drives (helm, kubectl, sops) are found.

One rule for every tool, first match wins:

1. ``DEPLOYER_<NAME>`` of the given environment (``DEPLOYER_HELM=/opt/helm3/helm``): an explicit choice, which must
   exist and be executable (a wrong path is an error, never silently replaced by another binary);
2. ``<name>`` on the environment's ``PATH`` (what a user already has installed, e.g. the fleet's helm 3);
3. the pinned binaries of ``scripts/install-tools``: ``<repo>/.tools/bin`` of the config repository, then of the
   deployer's own checkout (so a config tree elsewhere still finds them).

Nothing is cached globally; callers ask once per run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from deployer.errors import ToolMissingError, UsageError

_OWN_CHECKOUT = Path(__file__).resolve().parents[1]


def override_variable(name: str) -> str:
    """``helm`` -> ``DEPLOYER_HELM``; ``configurable-http-proxy`` -> ``DEPLOYER_CONFIGURABLE_HTTP_PROXY``."""
    return "DEPLOYER_" + name.upper().replace("-", "_")


def find_tool(name: str, root: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    variable = override_variable(name)
    chosen = env.get(variable)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise UsageError(
                f"{variable}={chosen}: no executable file there; point it at a {name} binary, or unset "
                f"it to use {name} from PATH"
            )
        return str(path.absolute())
    found = shutil.which(name, path=env.get("PATH", ""))
    if found:
        return found
    for folder in (d / ".tools" / "bin" for d in (root, _OWN_CHECKOUT) if d is not None):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise ToolMissingError(
        f"{name}: not found on PATH; install it (or run scripts/install-tools in the deployer checkout), or set "
        f"{variable} to its path"
    )
