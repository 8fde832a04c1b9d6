"""The export's ``deploy.sh``: plain helm (and sops for encrypted values), runnable from the bundle. Pure.

The helm line comes from ``deployer.helm_argv.install_args``, the builder the deploy uses; wait and target flags are
left to whoever runs it (``./deploy.sh --kube-context X --wait``)."""

from __future__ import annotations

from collections.abc import Sequence

from deployer import helm_argv
from deployer.shellwords import Raw, shell_join, sops_check, sops_decrypt


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
        lines += [sops_check(path) for path in encrypted]
        lines.append("")
    values = [sops_decrypt(path) if enc else path for path, enc in files]
    argv = [
        "helm",
        *helm_argv.install_args(
            Raw('"$RELEASE"'), f"./chart/{chart}", namespace=Raw('"$NAMESPACE"'), values_files=values
        ),
        Raw('"$@"'),
    ]
    lines.append(shell_join(argv).replace(" --values ", " \\\n  --values ").replace(' "$@"', ' \\\n  "$@"'))
    return "\n".join(lines) + "\n"
