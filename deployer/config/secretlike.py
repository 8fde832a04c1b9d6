"""Secret-looking values in a plain (not encrypted) values file: pure rules, no I/O.

``secret_like(data)`` yields the key path of each value that looks like a secret; the values themselves are
never returned, so no message can quote one. The rules:

- A key looks secret when, split into words (camelCase, ``_``, ``-``, ``.``; case ignored), its LAST word is
  ``password``, ``passwd``, ``passphrase``, ``secret`` or ``token`` (``password``, ``client_secret``,
  ``cookieSecret``, ``secretToken``, ``apiToken``, ``GITHUB_TOKEN``), or its last two words are one of
  ``private key``, ``secret key``, ``access key``, ``api key``, ``signing key``, ``encryption key``,
  ``crypto key`` (``privateKey``, ``AWS_SECRET_ACCESS_KEY``).
- Keys that name or point at a secret rather than hold one never match: the last word decides, so
  ``secretName``, ``secretKeyRef``, ``tokenSecretFile``, ``extraSecretMounts`` or ``passwordKey`` (a key *name*
  inside a Secret) do not; nor does a key whose first word is ``existing`` (``existingSecret``: the name of a
  Secret object the chart reads).
- Only non-empty strings count: ``null``, booleans (``enableToken: true``), numbers, empty or blank strings, and
  references resolved elsewhere (``{{ ... }}`` templates, ``${...}`` / ``$(...)`` substitutions) are skipped.
  A placeholder such as ``changeme`` is NOT skipped: deployed, it is a real (weak) password.
- A mapping or list is never a value: it is searched (a list's scalar items are judged by the list's key).
- Any string holding a PEM private key (``-----BEGIN ... PRIVATE KEY-----``) matches, whatever its key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

KeyPath = tuple[str | int, ...]

SECRET_WORDS = frozenset({"password", "passwd", "passphrase", "secret", "token"})
SECRET_KEY_QUALIFIERS = frozenset({"private", "secret", "access", "api", "signing", "encryption", "crypto"})
REFERENCE_FIRST_WORDS = frozenset({"existing"})

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_REFERENCE = re.compile(r"^\s*(\{\{.*\}\}|\$\{.*\}|\$\(.*\))\s*$", re.DOTALL)


def words(key: str) -> list[str]:
    """``client_secret`` -> ``["client", "secret"]``; ``apiToken`` -> ``["api", "token"]``; lower case."""
    return [w.lower() for w in _WORD.findall(key)]


def is_secret_key(key: str) -> bool:
    """True when the key's name says its value is a secret (see the module docstring)."""
    parts = words(key)
    if not parts or parts[0] in REFERENCE_FIRST_WORDS:
        return False
    if parts[-1] in SECRET_WORDS:
        return True
    return len(parts) >= 2 and parts[-1] == "key" and parts[-2] in SECRET_KEY_QUALIFIERS


def is_private_key(value: Any) -> bool:
    """True for a string holding a PEM private key block."""
    return isinstance(value, str) and _PRIVATE_KEY.search(value) is not None


def is_set(value: Any) -> bool:
    """True for a value that could be a secret: a non-blank string that is not a reference resolved elsewhere."""
    return isinstance(value, str) and bool(value.strip()) and not _REFERENCE.match(value)


def secret_like(data: Any, path: KeyPath = (), key: str | None = None) -> Iterator[KeyPath]:
    """The key path of every secret-looking value in ``data`` (parsed YAML), in document order."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from secret_like(v, (*path, k), str(k))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from secret_like(item, (*path, i), key)
    elif is_private_key(data) or (key is not None and is_secret_key(key) and is_set(data)):
        yield path


def encrypted_name(name: str) -> str:
    """The ``enc-*`` file to move a plain file's secrets into: ``staging.values.yaml`` ->
    ``enc-staging.secret.values.yaml`` (the fleet's naming, matched by .sops.yaml's ``enc-*`` rule)."""
    for suffix in (".values.yaml", ".values.yml"):
        if name.endswith(suffix):
            return f"enc-{name[: -len(suffix)]}.secret{suffix}"
    return f"enc-{name}"
