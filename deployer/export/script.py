"""The export's ``deploy.sh``: plain helm (and sops for encrypted values), runnable from the bundle. Pure."""

from __future__ import annotations

import shlex
from typing import Sequence


def deploy_script(*, hub: str, chart: str, files: Sequence[tuple[str, bool]]) -> str:
    """``files``: (path in the bundle, encrypted?) in helm's order."""
    encrypted = [path for path, enc in files if enc]
    lines = [
        "#!/usr/bin/env bash",
        f"# Deploy the JupyterHub `{hub}` with plain helm. Run from anywhere; extra arguments go to helm",
        "# (e.g. --kube-context NAME, --wait --timeout 10m). RELEASE and NAMESPACE may be overridden.",
        "set -euo pipefail",
        'cd "$(dirname "${BASH_SOURCE[0]}")"',
        f'RELEASE="${{RELEASE:-{hub}}}"',
        f'NAMESPACE="${{NAMESPACE:-{hub}}}"',
        "",
    ]
    if encrypted:
        lines.append("# Stop here, before helm runs, if a secret file cannot be decrypted with the keys at hand.")
        lines += [f"sops --decrypt {shlex.quote(path)} > /dev/null" for path in encrypted]
        lines.append("")
    command = [f'helm upgrade --install "$RELEASE" ./chart/{shlex.quote(chart)} --namespace "$NAMESPACE" --create-namespace']
    for path, enc in files:
        command.append(f"--values <(sops --decrypt {shlex.quote(path)})" if enc else f"--values {shlex.quote(path)}")
    command.append('"$@"')
    lines.append(" \\\n  ".join(command))
    return "\n".join(lines) + "\n"
