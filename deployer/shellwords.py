"""Shell words for the scripts the deployer prints (``deploy --dry-run``, an export's ``deploy.sh``). Pure.

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


def sops_decrypt(rel: str) -> Raw:
    """``<(sops --decrypt FILE)``: a decrypted file read through a pipe, never written to disk."""
    return Raw(f"<(sops --decrypt {shlex.quote(rel)})")


def sops_extract(rel: str, key: str) -> Raw:
    """``"$(sops --decrypt --extract '["KEY"]' FILE)"``: one top-level value of a decrypted YAML/JSON file."""
    return Raw('"$(' + shell_join(["sops", "--decrypt", "--extract", f'["{key}"]', rel]) + ')"')
