"""sops, and only here: detecting encrypted files and decrypting them without leaking.

- ``is_encrypted(data)``: a parsed file carries sops metadata (a top-level ``sops`` mapping).
- ``decrypt(path, ...)``: the plaintext, parsed, in memory (for validation).
- ``decrypted(path, ...)``: a context manager yielding a private temporary file (folder 0700, file 0600)
  holding the plaintext; it is removed on every exit path (errors, Ctrl-C, and SIGTERM, which the CLI
  turns into an exception so that ``finally`` blocks run).

Keys come from the environment handed in (``SOPS_AGE_KEY_FILE`` for age, cloud KMS credentials for
KMS): sops handles them. Failures become ``SecretsError`` whose message never contains file content.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

from deployer.config import yamlfile
from deployer.errors import SecretsError
from deployer.tools import find_tool

ENCRYPTED_PREFIX = "enc-"


def is_encrypted(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("sops"), dict)


def needs_encryption(filename: str) -> bool:
    """Files named ``enc-*`` or with ``secret`` in their name must be sops-encrypted."""
    return filename.startswith(ENCRYPTED_PREFIX) or "secret" in filename.lower()


def _sops_argv(sops: str, path: Path, output_type: str | None) -> list[str]:
    argv = [sops, "decrypt"]
    if output_type:
        argv += ["--output-type", output_type]
    return argv + [str(path)]


def _plaintext(path: Path, *, display: str, env: Mapping[str, str], root: Path | None) -> bytes:
    sops = find_tool("sops", root, env)
    try:
        proc = subprocess.run(
            _sops_argv(sops, path, None), env=dict(env), capture_output=True, check=False, stdin=subprocess.DEVNULL
        )
    except OSError as exc:
        raise SecretsError(display, f"cannot run sops: {exc.strerror}") from None
    if proc.returncode != 0:
        raise SecretsError(display, explain_failure(proc.returncode, proc.stderr.decode(errors="replace")))
    return proc.stdout


def explain_failure(returncode: int, stderr: str) -> str:
    """A message for a failed ``sops decrypt`` that tells the user what to do (never file content)."""
    if "Failed to get the data key" in stderr or "no identity matched" in stderr.lower():
        return (
            "cannot decrypt: no key for this file is available here; for age keys set SOPS_AGE_KEY_FILE "
            "to a file holding the private key of one of its recipients (for KMS, log in to that cloud)"
        )
    if "MAC mismatch" in stderr:
        return "cannot decrypt: the file was changed after encryption (MAC mismatch); re-encrypt it with 'sops edit'"
    if "sops metadata not found" in stderr or "not a valid" in stderr.lower():
        return "cannot decrypt: the file has no valid sops metadata; encrypt it with 'sops encrypt --in-place'"
    first = next((line.strip() for line in stderr.splitlines() if line.strip()), "")
    return f"sops failed with exit code {returncode}: {first[:200]}"


def decrypt(path: Path, *, display: str, env: Mapping[str, str], root: Path | None = None) -> Any:
    """Decrypt ``path`` and parse it (YAML or JSON), in memory."""
    text = _plaintext(path, display=display, env=env, root=root).decode("utf-8", errors="replace")
    try:
        return yamlfile.loads(text)
    except yamlfile.YamlError:
        raise SecretsError(display, "decrypted content is not valid YAML/JSON") from None


@contextlib.contextmanager
def private_dir(prefix: str = "deployer-", parent: Path | None = None) -> Iterator[Path]:
    """A temporary folder (in ``parent``, default the system's) only this user can read (0700), removed on
    every exit path."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        os.chmod(folder, 0o700)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def decrypted(
    path: Path, *, display: str, env: Mapping[str, str], root: Path | None = None, workdir: Path | None = None
) -> Iterator[Path]:
    """Yield a 0600 temporary file holding the plaintext of ``path``; removed on every exit path."""
    with contextlib.ExitStack() as stack:
        folder = workdir if workdir is not None else stack.enter_context(private_dir())
        fd, name = tempfile.mkstemp(dir=folder, prefix="decrypted-", suffix=path.suffix)
        target = Path(name)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(_plaintext(path, display=display, env=env, root=root))
            yield target
        finally:
            target.unlink(missing_ok=True)
