"""How a person reaches a cluster by hand: the bash lines ``deploy --dry-run`` prints before its helm commands.

Each provider has a module here, ``deployer.auth.manual.<provider>``, with one function::

    def manual_access(cluster: ClusterConfig) -> ManualAccess

the by-hand counterpart of its ``deployer.auth.<provider>.access`` (which uses the SDK). These modules import no
cloud SDK: printing the commands needs none installed. ``deployer.auth.manual_access`` dispatches to them through
the provider registry.

What the printed lines promise, and keep:

- nothing outside a private temporary folder (``mktemp -d``, 0700) changes: no line writes to your kubeconfig or
  your gcloud/az configuration; the folder holds the cluster's kubeconfig and whatever a CLI must store, and a
  ``trap ... EXIT`` removes it when the script ends, however it ends;
- what lands in that folder is said in a comment above the lines: a decrypted kubeconfig, gcloud's or az's stored
  credentials. AWS keys are only read into the shell's environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deployer.helm_argv import KubeTarget
from deployer.shellwords import Raw

FOLDER = "access_dir"  # the shell variable naming the private folder
KUBECONFIG = Raw(f'"${FOLDER}/kubeconfig"')  # the cluster's kubeconfig inside it


@dataclass(frozen=True)
class ManualAccess:
    """Bash lines (comments included) that make a cluster reachable, and the flags helm then needs."""

    lines: tuple[str, ...]
    target: KubeTarget = field(default_factory=KubeTarget)


def private_folder() -> list[str]:
    """A private temporary folder in ``$access_dir``, removed when the script exits."""
    return [f'{FOLDER}="$(mktemp -d)"; trap \'rm -rf "${FOLDER}"\' EXIT']


def comment(text: str, width: int = 116) -> list[str]:
    """``text`` as bash comment lines of at most ``width`` characters."""
    import textwrap

    return ["# " + line for line in textwrap.wrap(text, width - 2, break_on_hyphens=False, break_long_words=False)]
