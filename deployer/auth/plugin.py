"""The deployer's exec credential plugin, and the child process that does the cloud SDK work.

``python -m deployer.auth.plugin token FOLDER``: what kubectl and helm run (the ``exec`` user of the kubeconfigs
``deployer.auth._base`` writes). Prints an ExecCredential (``client.authentication.k8s.io/v1``) with a bearer token
and its ``expirationTimestamp``; kubectl/helm run it again once that time has passed, so long runs always hold a
valid token. The token is cached in FOLDER (0600) and shared by every process until it is due for renewal, so
a cached answer imports no SDK (about 50 ms). Errors: a message on stderr (kubectl shows it), exit 1.

``python -m deployer.auth.plugin describe FOLDER``: run by ``exec_access`` with the environment handed in; prints
one JSON line, ``{"server": ..., "ca_data": ...}`` or ``{"error": {"kind": ..., "message": ...}}`` (exit 2), and
caches the first token when the provider got one on the way.

Deliberately light: no click, no config loading; the provider module (and its SDK) is imported only on a cache miss.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from deployer.auth import PROVIDERS
from deployer.auth._base import State, exec_credential, read_cache, stamped, write_cache
from deployer.errors import AuthError

USAGE = "usage: python -m deployer.auth.plugin token|describe FOLDER"


def _provider(state: State) -> Any:
    module, extra = PROVIDERS[state.provider]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise state.error(
            f"the Python SDK for '{state.provider}' is missing ({exc.name}): pip install 'deployer[{extra}]'",
            "missing-extra",
        ) from None


def token(folder: Path) -> int:
    try:
        state = State.load(folder)
        cached = read_cache(state)
        if cached is None:
            now = time.time()
            cached = stamped(state, _provider(state).token(state), now)
            write_cache(state, cached)
    except AuthError as exc:
        print(f"deployer: {exc.render()}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(exec_credential(cached)) + "\n")
    return 0


def describe(folder: Path) -> int:
    try:
        state = State.load(folder)
        endpoint, first = _provider(state).describe(state)
    except AuthError as exc:
        print(json.dumps({"error": {"kind": exc.kind, "message": exc.message}}))
        return 2
    if first is not None:
        write_cache(state, stamped(state, first, time.time()))
    print(json.dumps({"server": endpoint.server, "ca_data": endpoint.ca_data}))
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("token", "describe"):
        print(USAGE, file=sys.stderr)
        return 2
    folder = Path(argv[1])
    return token(folder) if argv[0] == "token" else describe(folder)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
