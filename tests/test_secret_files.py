"""deployer.secret_files: the one answer to "is this file secret" (by name) and "is this content encrypted"
(parsed or raw, checked against files the real sops wrote)."""

from __future__ import annotations

import json

import pytest

from deployer import yamlio
from deployer.secret_files import ENCRYPTED_PREFIX, is_encrypted, is_secret_file, plain_name
from helpers import demo_recipient, sops_encrypt


@pytest.mark.parametrize(
    ("path", "secret"),
    [
        ("enc-a.yaml", True),
        ("a.secret.values.yaml", True),
        ("SECRET.json", True),
        ("config/clusters/c/enc-x.secret.values.yaml", True),
        ("a.values.yaml", False),
        ("config/clusters/enc-dir/x.values.yaml", False),  # the folder's name does not count
        ("config/clusters/secret-dir/x.values.yaml", False),
        ("encrypted.yaml", False),
    ],
)
def test_is_secret_file_by_name(path, secret) -> None:
    assert is_secret_file(path) is secret


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"sops": {"mac": "x"}}, True),
        ({"sops": "x"}, False),
        ({"a": 1}, False),
        (None, False),
        ([], False),
        (b"password=secret\n", False),
        (b"", False),
    ],
)
def test_is_encrypted_parsed_and_raw(data, expected) -> None:
    assert is_encrypted(data) is expected


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".env", ".ini"])
def test_is_encrypted_recognises_what_sops_writes(tmp_path, suffix) -> None:
    path = tmp_path / f"{ENCRYPTED_PREFIX}x{suffix}"
    path.write_text(
        {
            ".yaml": "password: x-secret\n",
            ".json": json.dumps({"password": "x-secret"}),
            ".env": "PASSWORD=x-secret\n",
            ".ini": "[s]\npassword = x-secret\n",
        }[suffix]
    )
    plain_raw = path.read_bytes()
    sops_encrypt(path, demo_recipient())
    raw = path.read_bytes()
    assert is_encrypted(raw) and not is_encrypted(plain_raw)
    if suffix in (".yaml", ".json"):
        assert is_encrypted(yamlio.loads(raw.decode()))
        assert not is_encrypted(yamlio.loads(plain_raw.decode()))


def test_plain_name() -> None:
    assert plain_name("enc-x.secret.values.yaml") == "x.secret.values.yaml"
    assert plain_name("x.values.yaml") == "x.values.yaml"
