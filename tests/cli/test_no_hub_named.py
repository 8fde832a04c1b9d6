"""One "no hub named X" message for every command that takes hub names (``ClusterConfig.require_hubs``): the
cluster file, the unknown names with a "did you mean" for near misses, and the cluster's hubs; exit 2, no
traceback, and nothing deployed, exported or checked."""

from __future__ import annotations

import pytest

from deployer.config.model import ClusterConfig, HubConfig
from deployer.errors import UsageError
from helpers import PROJECT

EXPECTED = (
    "config/clusters/local/cluster.yaml: no hub named 'stagign' (did you mean 'staging'?), 'zzz' in "
    "cluster 'local'; its hubs: staging, prod"
)


@pytest.mark.parametrize(
    "command",
    [
        ("deploy", "local", "stagign", "zzz"),
        ("validate", "local", "stagign", "zzz"),
        ("diff", "local", "stagign", "zzz"),
    ],
)
def test_commands_taking_several_hubs(cli, demo_key_env, tmp_path, command):
    result = cli("--repo", str(PROJECT), *command, env={**demo_key_env, "KUBECONFIG": str(tmp_path / "none")})
    assert result.code == 2, result.output
    assert EXPECTED in result.err and "Traceback" not in result.output


@pytest.mark.parametrize(
    "command",
    [
        ("export", "local", "stagign", "{tmp}/out"),
        ("health-check", "local", "stagign"),
    ],
)
def test_commands_taking_one_hub(cli, demo_key_env, tmp_path, command):
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    result = cli("--repo", str(PROJECT), *args, env={**demo_key_env, "KUBECONFIG": str(tmp_path / "none")})
    assert result.code == 2, result.output
    assert (
        "config/clusters/local/cluster.yaml: no hub named 'stagign' (did you mean 'staging'?) in cluster "
        "'local'; its hubs: staging, prod"
    ) in result.err
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_require_hubs_returns_the_hubs_in_the_order_asked():
    hubs = tuple(HubConfig(n, f"{n}.org", "basehub", ()) for n in ("a", "b", "c"))
    cluster = ClusterConfig("x", "kubeconfig", None, "config/clusters/x", hubs=hubs)
    assert [h.name for h in cluster.require_hubs(["c", "a"])] == ["c", "a"]
    assert cluster.require_hubs([]) == []
    with pytest.raises(UsageError) as err:
        ClusterConfig("y", "kubeconfig", None, "config/clusters/y").require_hubs(["a"])
    assert str(err.value) == "config/clusters/y/cluster.yaml: no hub named 'a' in cluster 'y'; its hubs: (none)"
