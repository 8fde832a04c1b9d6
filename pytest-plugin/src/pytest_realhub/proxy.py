"""Finding configurable-http-proxy, JupyterHub's proxy (a Node.js program): the hubs run with the real one.

Looked for in this order: the ``proxy`` argument of ``start_hub``; pytest's ``--realhub-proxy`` option or
``realhub_proxy`` ini setting; the ``PYTEST_REALHUB_PROXY`` environment variable; ``PATH``;
``node_modules/.bin`` under the rootdir (``npm install configurable-http-proxy`` without ``-g``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from pytest_realhub.errors import JupyterHubError

PROGRAM = "configurable-http-proxy"
ENV_VAR = "PYTEST_REALHUB_PROXY"


class ProxyNotFound(JupyterHubError):
    """configurable-http-proxy is missing; the message says how to install it or point to it."""


def find_proxy(explicit: str | os.PathLike[str] | None, env: Mapping[str, str], rootdir: Path | None) -> str:
    """The absolute path of the proxy program to run, or ``ProxyNotFound``."""
    named = str(explicit) if explicit else env.get(ENV_VAR, "")
    if named:
        found = shutil.which(named, path=env.get("PATH")) if os.sep not in named else named
        if found and os.access(found, os.X_OK) and Path(found).is_file():
            return os.path.abspath(found)
        raise ProxyNotFound(
            f"{named!r} (given as the proxy to use) is not an executable file: correct --realhub-proxy, the "
            f"realhub_proxy ini setting or {ENV_VAR}, or unset it to look on PATH"
        )
    found = shutil.which(PROGRAM, path=env.get("PATH"))
    if not found and rootdir is not None:
        local = rootdir / "node_modules" / ".bin" / PROGRAM
        found = str(local) if os.access(local, os.X_OK) else None
    if found:
        return os.path.abspath(found)
    raise ProxyNotFound(
        f"{PROGRAM} (JupyterHub's proxy, a Node.js program) was not found on PATH. Install it with "
        f"`npm install -g {PROGRAM}` (needs Node.js), or point to it with --realhub-proxy=PATH, the "
        f"realhub_proxy ini setting, or the {ENV_VAR} environment variable."
    )
