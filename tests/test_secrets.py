"""The sops module with the real sops binary and age keys: in-memory and private-file decryption,
cleanup on every exit path, failure messages that say what to do and leak nothing (each branch of
``explain_failure`` produced by a real sops run), and sops run through the caller's Runner."""

import os
import re
import stat
import time

import pytest

from deployer.errors import SecretsError
from deployer.run import Cancelled, Runner
from deployer.secrets import decrypt, decrypted
from helpers import in_background, other_recipient, sops_encrypt

SECRET = "SECRETS-TEST-MARKER-0042"


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "enc-x.secret.values.yaml"
    path.write_text(f"a:\n  password: {SECRET}\n")
    from helpers import demo_recipient

    sops_encrypt(path, demo_recipient())
    assert SECRET not in path.read_text()
    return path


def test_decrypt_in_memory(secret_file, demo_key_env):
    assert decrypt(secret_file, display="x", env=demo_key_env) == {"a": {"password": SECRET}}


def test_decrypted_file_is_private_and_removed(secret_file, demo_key_env):
    with decrypted(secret_file, display="x", env=demo_key_env) as plain:
        assert SECRET in plain.read_text()
        assert stat.S_IMODE(plain.stat().st_mode) == 0o600
        assert stat.S_IMODE(plain.parent.stat().st_mode) == 0o700
    assert not plain.exists() and not plain.parent.exists()


def test_decrypted_file_is_removed_when_the_body_fails(secret_file, demo_key_env):
    with pytest.raises(KeyboardInterrupt), decrypted(secret_file, display="x", env=demo_key_env) as plain:
        raise KeyboardInterrupt
    assert not plain.exists() and not plain.parent.exists()


NO_KEY = (
    "cannot decrypt: no key for this file is available here; for age keys set SOPS_AGE_KEY_FILE "
    "to a file holding the private key of one of its recipients (for KMS, log in to that cloud); "
    "'deployer validate --no-decrypt' checks everything else without keys"
)
EDITED = (
    "cannot decrypt: the file was edited after it was encrypted (sops's integrity check fails): restore its last "
    "good version ('git log -- x' lists them, 'git checkout <rev> -- x' takes one) and make the change with "
    "'sops edit x'"
)
NO_METADATA = "cannot decrypt: the file has no valid sops metadata; encrypt it with 'sops encrypt --in-place'"


def test_no_key_gives_a_message_saying_what_to_do(secret_file, tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    with pytest.raises(SecretsError) as info:
        decrypt(secret_file, display="config/x.yaml", env=env)
    assert info.value.message == NO_KEY and SECRET not in str(info.value)


def test_wrong_key_fails_and_leaves_nothing(tmp_path, demo_key_env):
    path = tmp_path / "enc-y.yaml"
    path.write_text(f"p: {SECRET}\n")
    sops_encrypt(path, other_recipient())
    before = set(os.listdir(tmp_path.parent))
    with pytest.raises(SecretsError) as info, decrypted(path, display="y", env=demo_key_env):
        pass
    assert info.value.message == NO_KEY
    assert set(os.listdir(tmp_path.parent)) == before


def test_a_removed_entry_is_a_mac_mismatch(tmp_path, demo_key_env):
    # every value still decrypts, but the MAC over all of them no longer matches: sops's own integrity check
    from helpers import demo_recipient

    path = tmp_path / "enc-z.yaml"
    path.write_text(f"a:\n  password: {SECRET}\n  other: another-value\n")
    sops_encrypt(path, demo_recipient())
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True) if "other:" not in line))
    with pytest.raises(SecretsError) as info:
        decrypt(path, display="x", env=demo_key_env)
    assert info.value.message == EDITED and SECRET not in str(info.value)


def test_a_plain_file_has_no_sops_metadata(tmp_path, demo_key_env):
    path = tmp_path / "enc-plain.yaml"
    path.write_text(f"password: {SECRET}\n")
    with pytest.raises(SecretsError) as info:
        decrypt(path, display="x", env=demo_key_env)
    assert info.value.message == NO_METADATA and SECRET not in str(info.value)


def test_other_failures_name_sops_exit_code_and_first_line(secret_file, demo_key_env):
    # YAML sops cannot parse: no branch of its own (hand edits inside the values: tests/config/test_messages.py)
    secret_file.write_text(secret_file.read_text() + "bad: [\n")
    with pytest.raises(SecretsError) as info:
        decrypt(secret_file, display="x", env=demo_key_env)
    assert re.fullmatch(
        r"sops failed with exit code [1-9]\d*: Error unmarshalling input yaml: .*", info.value.message
    ), info.value.message
    assert SECRET not in str(info.value)


def test_sops_runs_through_the_runner_given(secret_file, demo_key_env):
    lines: list[str] = []
    runner = Runner(log=lines.append)
    with decrypted(secret_file, display="x", env=demo_key_env, runner=runner):
        pass
    decrypt(secret_file, display="x", env=demo_key_env, runner=runner)
    assert len(lines) == 2
    for line in lines:
        assert re.fullmatch(rf"\$ \S*sops --decrypt {re.escape(str(secret_file))} \(\d+\.\d\d s, exit 0\)", line), line
    assert [r.argv[1:] for r in runner.records] == [("--decrypt", str(secret_file))] * 2


def test_sops_older_than_the_decrypt_subcommand_works(secret_file, demo_key_env, tmp_path):
    # sops before 3.9 had no `sops decrypt FILE` (it took `decrypt` for a file name); `--decrypt` works in every 3.x
    from deployer.tools import find_tool

    old = tmp_path / "sops-3.8"
    old.write_text(
        "#!/bin/sh\n"
        'case "$1" in --decrypt|-d) ;; *) echo "Error: cannot read $1: no such file" >&2; exit 1;; esac\n'
        f'exec {find_tool("sops")} "$@"\n'
    )
    old.chmod(0o755)
    env = {**demo_key_env, "DEPLOYER_SOPS": str(old)}
    assert decrypt(secret_file, display="x", env=env) == {"a": {"password": SECRET}}


def test_cancel_stops_a_running_sops(secret_file, demo_key_env, tmp_path):
    # sops reads its age key from a FIFO that nobody writes: it blocks until the runner is cancelled
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    runner = Runner(grace=2)
    key_env = {**demo_key_env, "SOPS_AGE_KEY_FILE": str(fifo)}
    work = in_background(runner, lambda: decrypt(secret_file, display="x", env=key_env, runner=runner))
    assert runner._live, "sops never started"
    time.sleep(0.3)
    assert work.thread.is_alive(), f"sops did not block: {work.outcome}"
    started = time.monotonic()
    runner.cancel()
    work.thread.join(10)
    assert not work.thread.is_alive() and time.monotonic() - started < 5
    assert isinstance(work.outcome[0], Cancelled)
    assert runner.records[-1].argv[1:] == ("--decrypt", str(secret_file)) and runner.records[-1].returncode != 0


SIGTERM_SCRIPT = """
import signal, sys, time
from pathlib import Path
from deployer.cli import Terminated, _on_sigterm
from deployer.secrets import decrypted
signal.signal(signal.SIGTERM, _on_sigterm)
try:
    env = {"PATH": sys.argv[2], "SOPS_AGE_KEY_FILE": sys.argv[3]}
    with decrypted(Path(sys.argv[1]), display="x", env=env) as plain:
        print(plain, flush=True)
        time.sleep(60)
except Terminated:
    sys.exit(143)
"""


def test_sigterm_removes_the_decrypted_file(secret_file, demo_key_env):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SIGTERM_SCRIPT,
            str(secret_file),
            demo_key_env["PATH"],
            demo_key_env["SOPS_AGE_KEY_FILE"],
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    plain = Path(proc.stdout.readline().strip())
    assert plain.is_file() and SECRET in plain.read_text()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 143
    assert not plain.exists() and not plain.parent.exists()
