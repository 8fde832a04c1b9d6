"""The provider block's credentials file, one name per provider (``kubeconfig.file``, ``<cloud>.key``), read through
``ClusterConfig.key_file``/``key_field``: validate names it with its line, and refuses it unencrypted."""

from __future__ import annotations

import os
import shutil

import pytest

from deployer.config.model import AwsSpec, ClusterConfig, KubeconfigSpec
from helpers import PROJECT, run_deployer


@pytest.mark.parametrize(
    ("spec", "field", "key_file"),
    [
        (KubeconfigSpec(file="enc-kc.yaml"), "file", "config/clusters/c/enc-kc.yaml"),
        (KubeconfigSpec(context="x"), "file", None),
        (
            AwsSpec(account_id="123456789012", region="r", cluster="k", key="enc-k.yaml"),
            "key",
            "config/clusters/c/enc-k.yaml",
        ),
    ],
)
def test_key_file_and_field(spec, field, key_file):
    config = ClusterConfig(name="c", provider="x", spec=spec, dir="config/clusters/c")
    assert (config.key_field, config.key_file) == (field, key_file)
    assert not hasattr(KubeconfigSpec(), "key")  # one name: no alias


def test_validate_names_the_kubeconfig_file_and_refuses_it_unencrypted(tmp_path):
    shutil.copytree(PROJECT / "schemas", tmp_path / "schemas")
    folder = tmp_path / "config" / "clusters" / "c"
    folder.mkdir(parents=True)
    (folder / "cluster.yaml").write_text("name: c\nprovider: kubeconfig\nkubeconfig:\n  file: kc.yaml\n")
    env = {"PATH": os.pathsep.join([str(PROJECT / ".tools" / "bin"), os.environ["PATH"]]), "HOME": str(tmp_path)}
    missing = run_deployer("--repo", str(tmp_path), "validate", env=env)
    assert missing.returncode == 2
    assert (
        "config/clusters/c/cluster.yaml:4: kubeconfig.file: 'kc.yaml' does not exist (config/clusters/c/kc.yaml)"
        in missing.stderr
    )
    (folder / "kc.yaml").write_text("apiVersion: v1\n")
    plain = run_deployer("--repo", str(tmp_path), "validate", env=env)
    assert plain.returncode == 2
    assert "config/clusters/c/kc.yaml: holds cluster credentials but is not sops-encrypted" in plain.stderr
