"""The sops module with the real sops binary and age keys: in-memory and private-file decryption,
cleanup on every exit path, and failure messages that say what to do and leak nothing."""

import os
import stat

import pytest

from deployer.errors import SecretsError
from deployer.secrets import decrypt, decrypted, is_encrypted, needs_encryption
from helpers import other_recipient, sops_encrypt

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
    with pytest.raises(KeyboardInterrupt):
        with decrypted(secret_file, display="x", env=demo_key_env) as plain:
            raise KeyboardInterrupt
    assert not plain.exists() and not plain.parent.exists()


def test_no_key_gives_a_message_saying_what_to_do(secret_file, tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    with pytest.raises(SecretsError) as info:
        decrypt(secret_file, display="config/x.yaml", env=env)
    assert "SOPS_AGE_KEY_FILE" in info.value.message and SECRET not in str(info.value)


def test_wrong_key_fails_and_leaves_nothing(tmp_path, demo_key_env):
    path = tmp_path / "enc-y.yaml"
    path.write_text(f"p: {SECRET}\n")
    sops_encrypt(path, other_recipient())
    before = set(os.listdir(tmp_path.parent))
    with pytest.raises(SecretsError, match="cannot decrypt"):
        with decrypted(path, display="y", env=demo_key_env):
            pass
    assert set(os.listdir(tmp_path.parent)) == before


def test_tampered_file_is_explained(secret_file, demo_key_env):
    text = secret_file.read_text().replace("password: ENC[AES256_GCM,data:", "password: ENC[AES256_GCM,data:AA", 1)
    secret_file.write_text(text)
    with pytest.raises(SecretsError) as info:
        decrypt(secret_file, display="x", env=demo_key_env)
    assert "cannot decrypt" in info.value.message or "sops failed" in info.value.message
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("data, expected", [({"sops": {"mac": "x"}}, True), ({"sops": "x"}, False), ({"a": 1}, False), (None, False)])
def test_is_encrypted(data, expected):
    assert is_encrypted(data) is expected


@pytest.mark.parametrize("name, expected", [("enc-a.yaml", True), ("a.secret.values.yaml", True), ("SECRET.json", True), ("a.values.yaml", False)])
def test_needs_encryption(name, expected):
    assert needs_encryption(name) is expected


SIGTERM_SCRIPT = """
import signal, sys, time
from pathlib import Path
from deployer.cli import Terminated, _on_sigterm
from deployer.secrets import decrypted
signal.signal(signal.SIGTERM, _on_sigterm)
try:
    with decrypted(Path(sys.argv[1]), display="x", env={"PATH": sys.argv[2], "SOPS_AGE_KEY_FILE": sys.argv[3]}) as plain:
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
        [sys.executable, "-c", SIGTERM_SCRIPT, str(secret_file), demo_key_env["PATH"], demo_key_env["SOPS_AGE_KEY_FILE"]],
        stdout=subprocess.PIPE, text=True,
    )
    plain = Path(proc.stdout.readline().strip())
    assert plain.is_file() and SECRET in plain.read_text()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 143
    assert not plain.exists() and not plain.parent.exists()
