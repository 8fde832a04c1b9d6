"""Shell words for the scripts the deployer prints (``deploy --dry-run``, an export's ``deploy.sh``). Pure.

Every printed sops command is built here (``sops_decrypt``, ``sops_check``, ``sops_to_file``, ``sops_extract``).

Every word is quoted for bash (``shlex.quote``) except a ``Raw`` word, which is printed as is: process
substitution, a variable, an option glued to either.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence


class Raw(str):
    """A shell word printed as is (process substitution, a variable); every other word is quoted."""


def shell_join(argv: Sequence[str]) -> str:
    return " ".join(a if isinstance(a, Raw) else shlex.quote(a) for a in argv)


# ``sops --decrypt FILE``, not the ``sops decrypt FILE`` subcommand (sops >= 3.9): the flag works with every sops 3.x,
# and printed scripts (an export's deploy.sh above all) run wherever their readers have sops, however old. The
# deployer's own call (``deployer.secrets``) uses the same flag: its sops may be the one on PATH
# (``deployer.tools``), not only the pinned one.
DECRYPT_FLAG = "--decrypt"


def _sops(rel: str, *options: str) -> str:
    return shell_join(["sops", DECRYPT_FLAG, *options, rel])


def sops_decrypt(rel: str) -> Raw:
    """``<(sops --decrypt FILE)``: a decrypted file read through a pipe, never written to disk."""
    return Raw(f"<({_sops(rel)})")


def sops_check(rel: str) -> str:
    """``sops --decrypt FILE > /dev/null``: a line that stops a ``set -e`` script when FILE cannot be decrypted
    (a failure inside ``<(...)`` would not)."""
    return f"{_sops(rel)} > /dev/null"


def sops_to_file(rel: str, target: str) -> str:
    """``sops --decrypt FILE > TARGET``: the plaintext written to ``target`` (a word: quoted unless ``Raw``)."""
    return f"{_sops(rel)} > {shell_join([target])}"


def sops_extract(rel: str, key: str, *, quiet: bool = False) -> Raw:
    """``"$(sops --decrypt --extract '["KEY"]' FILE)"``: one top-level value of a decrypted YAML/JSON file;
    ``quiet``: sops's complaint (a missing key) goes to ``/dev/null``, for an optional value."""
    return Raw('"$(' + _sops(rel, "--extract", f'["{key}"]') + (" 2>/dev/null" if quiet else "") + ')"')
