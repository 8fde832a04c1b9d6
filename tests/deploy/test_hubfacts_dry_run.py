"""`deploy --dry-run` hands plain helm each hub's generated deployer-facts.values.yaml, first in the values order.
(That the printed commands deploy exactly what the deployer deploys, values included, is
test_deploy_dry_run.py's end-to-end test.)"""

from __future__ import annotations

import shlex
import subprocess

from deployer.config.load import load_cluster
from deployer.hubfacts import HubFacts, facts_text
from helpers import PROJECT


def test_dry_run_writes_each_hubs_facts_and_passes_them_first(cli, demo_key_env):
    result = cli("--repo", str(PROJECT), "deploy", "demo-aws", "--dry-run", env=demo_key_env)
    assert result.code == 0, result.output
    lines = result.out.splitlines()
    cluster = load_cluster(PROJECT, "demo-aws")
    for hub in cluster.hubs:
        expected = facts_text(HubFacts.of(cluster, hub), PROJECT / hub.chart_path)
        assert expected is not None
        var = "facts_" + hub.name
        start = lines.index(f"{var}=\"$(cat <<'DEPLOYER_FACTS'")
        end = lines.index(')"', start)
        # bash itself reads the heredoc: the variable holds the generated text, byte for byte
        shown = subprocess.run(
            ["bash", "-c", "\n".join([*lines[start : end + 1], f"printf '%s\\n' \"${var}\""])],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert shown == expected
        [helm] = [line for line in lines[end:] if line.startswith(f"helm upgrade --install {hub.name} ")][:1]
        argv = shlex.split(helm.replace(f"<(printf '%s\\n' \"${var}\")", "FACTS"))
        values = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--values"]
        assert values[0] == "FACTS", helm
        assert values[1] == hub.values_files[0]  # then the hub's own files, in order


def test_the_support_chart_gets_no_facts(cli, demo_key_env):
    result = cli("--repo", str(PROJECT), "deploy", "demo-gcp", "--dry-run", env=demo_key_env)
    assert result.code == 0, result.output
    [support] = [line for line in result.out.splitlines() if line.startswith("helm upgrade --install support ")]
    assert "facts" not in support and "--values config/clusters/demo-gcp/support.values.yaml" in support
