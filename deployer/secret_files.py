"""Which files hold secrets, and whether content is sops-encrypted: the one answer to each (pure, no I/O).

- ``is_secret_file(path)``: by name. A file named ``enc-*``, or with ``secret`` (any case) in its name, holds
  secrets. ``deployer validate`` enforces that such a file is named ``enc-*`` and is sops-encrypted (and that
  an encrypted file is named ``enc-*``). Deploy, diff and export validate the releases they touch first, then
  use this same test to decide what to decrypt; the dry run (``deploy --dry-run``) checks only that the files
  exist, and prints a ``sops`` decrypt command for each file this test calls secret.
- ``is_encrypted(content)``: the content carries sops metadata, given either parsed (a mapping with a ``sops``
  mapping, as sops writes YAML and JSON) or as raw bytes (any format sops writes: the ``sops`` key of YAML and
  JSON, the ``[sops]`` section of ini files, the ``sops_mac`` entry of dotenv files).
- ``plain_name(name)``: the name without the ``enc-`` prefix (for a decrypted copy).
- ``creation_rule_matches(sops_config, path)``: whether a creation rule of the parsed ``.sops.yaml`` applies to
  ``path``, as sops picks one (``path_regex`` searched in the path relative to ``.sops.yaml``; a rule without one
  applies to every path).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

ENCRYPTED_PREFIX = "enc-"
_SOPS_METADATA = re.compile(rb'^(?:sops:|\[sops\]|sops_mac=)|"sops"\s*:', re.MULTILINE)


def is_secret_file(path: str) -> bool:
    """True for a file (repo-relative path or bare name) named ``enc-*`` or with ``secret`` in its name."""
    name = PurePosixPath(path).name
    return name.startswith(ENCRYPTED_PREFIX) or "secret" in name.lower()


def is_encrypted(content: Any) -> bool:
    """True when ``content`` (parsed YAML/JSON, or the file's raw bytes) carries sops metadata."""
    if isinstance(content, (bytes, bytearray)):
        return _SOPS_METADATA.search(content) is not None
    return isinstance(content, dict) and isinstance(content.get("sops"), dict)


def plain_name(name: str) -> str:
    """``enc-x.yaml`` -> ``x.yaml``; other names unchanged."""
    return name[len(ENCRYPTED_PREFIX) :] if name.startswith(ENCRYPTED_PREFIX) else name


def creation_rule_matches(sops_config: Any, path: str) -> bool:
    """True when some creation rule of ``sops_config`` (the parsed ``.sops.yaml``) applies to ``path``
    (repo-relative, POSIX), so that ``sops encrypt`` knows the recipients. A ``path_regex`` Python cannot
    compile counts as not matching."""
    rules = sops_config.get("creation_rules") if isinstance(sops_config, dict) else None
    for rule in rules if isinstance(rules, list) else []:
        regex = rule.get("path_regex") if isinstance(rule, dict) else None
        if regex is None and isinstance(rule, dict):
            return True
        try:
            if isinstance(regex, str) and re.search(regex, path):
                return True
        except re.error:
            continue
    return False
