"""sops, and only here: decrypting secret files without leaking them.

- ``plaintext(path, ...) -> bytes``: the plaintext, in memory, exactly as sops writes it (the caller decides
  where it goes: an export writes it straight into its private staging folder).
- ``decrypt(path, ...)``: the plaintext, parsed, in memory (for validation).
- ``encrypt(clear, as_path=..., root=...) -> bytes``: ``clear`` encrypted as the repository's ``.sops.yaml``
  says for a file at ``as_path`` (its creation rules); the plaintext goes to sops through a private temporary file,
  removed on every exit path.
- ``decrypted(path, ...)``: a context manager yielding a private temporary file (``deployer.private``: folder
  0700, file 0600) holding the plaintext; it is removed on every exit path (errors, Ctrl-C, and SIGTERM, which
  the CLI turns into an exception so that ``finally`` blocks run).

sops runs through the ``Runner`` handed in (``deployer.run``; default: a fresh one), so ``-v`` logs it and
``cancel()`` stops it like any other command. Which files are secret and whether content is encrypted is
``deployer.secret_files``. Keys come from the environment handed in (``SOPS_AGE_KEY_FILE`` for age, cloud KMS
credentials for KMS): sops handles them. Failures become ``SecretsError`` whose message never contains file
content nor sops's raw output (``NoKeyError`` when no key is available here; a file edited by hand after encryption,
which sops reports many ways, gets one explanation of how to recover), except for a failure sops has no known words for.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from deployer import yamlio
from deployer.errors import CommandError, NoKeyError, SecretsError
from deployer.private import private_dir, private_file
from deployer.run import Runner
from deployer.shellwords import DECRYPT_FLAG
from deployer.tools import find_tool
from deployer.userfiles import MAX_CONFIG_FILE, Refused, check_capped, read_capped


def sops_argv(sops: str, path: Path) -> list[str]:
    """``sops --decrypt PATH``: the flag every sops 3.x knows (``deployer.shellwords.DECRYPT_FLAG`` says why)."""
    return [sops, DECRYPT_FLAG, str(path)]


def plaintext(
    path: Path, *, display: str, env: Mapping[str, str], root: Path | None = None, runner: Runner | None = None
) -> bytes:
    """The decrypted content of ``path``, in memory (``display``: the name used in errors)."""
    try:  # sops would read a file of any size (or wait on a FIFO): check it first
        check_capped(path, MAX_CONFIG_FILE, "one encrypted file")
    except Refused as exc:
        raise SecretsError(display, str(exc)) from None
    except OSError:
        pass  # sops says what is wrong with it
    runner = runner or Runner()
    sops = find_tool("sops", root, env)
    try:
        done = runner.run(sops_argv(sops, path), env=env, check=False, binary=True)
    except CommandError as exc:  # sops could not be started
        raise SecretsError(display, exc.stderr) from None
    if done.returncode != 0:
        if missing_key(done.stderr) and holds_a_recipient_key(path, env):  # our key, but its block is damaged
            raise SecretsError(display, edited_message(display))
        message = runner.redactor(explain_failure(done.returncode, done.stderr, display))
        raise (NoKeyError if missing_key(done.stderr) else SecretsError)(display, message)
    return done.stdout_bytes


NO_KEY_HELP = (
    "for age keys set SOPS_AGE_KEY_FILE to a file holding the private key of one of {whose} recipients (for KMS, "
    "log in to that cloud); 'deployer validate --no-decrypt' checks everything else without keys"
)

# What sops says when a file was edited by hand after it was encrypted: a value (or its key, which is part of the
# value's authenticated data) changed inside ENC[...], a value left in clear, the MAC or lastmodified line edited, an
# entry removed (MAC mismatch), an entry added in clear, or the key stanza in the sops metadata damaged.
_EDITED = (
    "message authentication failed",
    "MAC mismatch",
    "Cannot decrypt MAC",
    "does not match sops' data format",
    "interface conversion",  # a number or boolean left in clear where sops expects ENC[...] (sops panics)
    "Could not decrypt value",
    "failed to read header",
    "parsing age header",
    "tampered with",
    "invalid armor",
)


def explain_failure(returncode: int, stderr: str, display: str = "FILE") -> str:
    """A message for a failed ``sops --decrypt`` of ``display`` that tells the user what to do (never file content
    nor sops's own words, except as the last resort of an unknown failure)."""
    if any(marker in stderr for marker in _EDITED):
        return edited_message(display)
    if missing_key(stderr):
        return f"cannot decrypt: no key for this file is available here; {NO_KEY_HELP.format(whose='its')}"
    if "sops metadata not found" in stderr or "not a valid" in stderr.lower():
        return "cannot decrypt: the file has no valid sops metadata; encrypt it with 'sops encrypt --in-place'"
    first = next((line.strip() for line in stderr.splitlines() if line.strip()), "")
    return f"sops failed with exit code {returncode}: {first[:200]}"


def edited_message(display: str) -> str:
    return (
        "cannot decrypt: the file was edited after it was encrypted (sops's integrity check fails): restore its "
        f"last good version ('git log -- {display}' lists them, 'git checkout <rev> -- {display}' takes one) "
        f"and make the change with 'sops edit {display}'"
    )


_RECIPIENT = re.compile(r"""recipient["']?\s*[:=]\s*["']?(age1[0-9a-z]{20,100})""")
_PUBLIC_KEY = re.compile(r"^#\s*public key:\s*(age1[0-9a-z]{20,100})\s*$", re.MULTILINE)
MAX_KEY_FILE = 1024 * 1024


def recipient_key_held(encrypted: str, key_file: str) -> bool:
    """Whether ``key_file`` (the text of an age key file, as age-keygen writes it: ``# public key: age1...`` above
    each key) holds the key of an age recipient named in ``encrypted`` (the sops file's text). Pure."""
    return bool(set(_RECIPIENT.findall(encrypted)) & set(_PUBLIC_KEY.findall(key_file)))


def holds_a_recipient_key(path: Path, env: Mapping[str, str]) -> bool:
    """When sops found no key for ``path``: does ``SOPS_AGE_KEY_FILE`` hold the key of one of its age recipients?
    Then the key is here and what failed is the file's own key block, damaged by a hand edit (sops cannot tell the
    two apart: an edited block reads as a key that is not ours). Unreadable files: False (the no-key message)."""
    key_file = env.get("SOPS_AGE_KEY_FILE")
    if not key_file:
        return False
    try:
        keys = read_capped(key_file, MAX_KEY_FILE, "an age key file").decode("utf-8", errors="replace")
        encrypted = read_capped(path, MAX_CONFIG_FILE, "one encrypted file").decode("utf-8", errors="replace")
    except (OSError, Refused):
        return False
    return recipient_key_held(encrypted, keys)


def missing_key(stderr: str) -> bool:
    """Whether a failed ``sops --decrypt`` found no key for the file (rather than a file edited by hand)."""
    if any(marker in stderr for marker in _EDITED):
        return False
    return "Failed to get the data key" in stderr or "no identity matched" in stderr.lower()


def no_key_message(others: Sequence[str], shown: int = 4) -> str:
    """The one message for a file and ``others`` that no key here decrypts (at most ``shown`` others named)."""
    named = ", ".join(others[:shown]) + (f" and {len(others) - shown} more" if len(others) > shown else "")
    return (
        f"cannot decrypt this file and {len(others)} more ({named}): no key for them is available here; "
        f"{NO_KEY_HELP.format(whose='their')}"
    )


def decrypt(
    path: Path, *, display: str, env: Mapping[str, str], root: Path | None = None, runner: Runner | None = None
) -> Any:
    """Decrypt ``path`` and parse it (YAML or JSON), in memory."""
    text = plaintext(path, display=display, env=env, root=root, runner=runner).decode("utf-8", errors="replace")
    try:
        return yamlio.loads(text)
    except yamlio.YamlError:
        raise SecretsError(display, "decrypted content is not valid YAML/JSON") from None


@contextlib.contextmanager
def decrypted(
    path: Path,
    *,
    display: str,
    env: Mapping[str, str],
    root: Path | None = None,
    workdir: Path | None = None,
    runner: Runner | None = None,
) -> Iterator[Path]:
    """Yield a 0600 temporary file (in ``workdir``, else in a new private folder) holding the plaintext of
    ``path``; removed on every exit path."""
    with contextlib.ExitStack() as stack:
        folder = workdir if workdir is not None else stack.enter_context(private_dir())
        clear = plaintext(path, display=display, env=env, root=root, runner=runner)
        yield stack.enter_context(private_file(folder, clear, prefix="decrypted-", suffix=path.suffix))


SOPS_CONFIG = ".sops.yaml"


def encrypt(clear: bytes, *, as_path: str, root: Path, env: Mapping[str, str], runner: Runner | None = None) -> bytes:
    """``clear`` encrypted by sops with the creation rule of the repository's ``.sops.yaml`` that matches
    ``as_path`` (repo-relative, POSIX: the file the result will be written to), as sops writes that file. The
    plaintext exists only in a private temporary file for sops to read. No ``.sops.yaml``, no matching rule, or
    sops failing is a ``SecretsError`` (exit 2) saying what to do."""
    config = root / SOPS_CONFIG
    if not config.is_file():
        raise SecretsError(
            as_path,
            f"no {SOPS_CONFIG} at the repository root: add one whose creation_rules name the "
            "recipients (age keys, KMS keys) new secret files are encrypted to",
        )
    runner = runner or Runner()
    sops = find_tool("sops", root, env)
    with private_dir() as folder, private_file(folder, clear, prefix="plain-", suffix=Path(as_path).suffix) as plain:
        argv = [sops, "--encrypt", "--config", str(config), "--filename-override", as_path, str(plain)]
        try:
            done = runner.run(argv, env=env, cwd=root, check=False, binary=True)
        except CommandError as exc:  # sops could not be started
            raise SecretsError(as_path, exc.stderr) from None
    if done.returncode != 0:
        if "no matching creation rules" in done.stderr:
            message = (
                f"no creation rule of {SOPS_CONFIG} matches this path: add one (path_regex) naming the "
                "recipients new secret files are encrypted to"
            )
        else:
            first = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "")
            message = (
                f"sops could not encrypt (exit code {done.returncode}): {first[:200]}; check {SOPS_CONFIG}'s "
                "recipients and, for KMS keys, your cloud login"
            )
        raise SecretsError(as_path, runner.redactor(message))
    return done.stdout_bytes
