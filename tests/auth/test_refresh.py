"""Token refresh: the stand-in accepts each token for 3 seconds only, the plugin caps its tokens' life at 2
seconds (DEPLOYER_AUTH_TOKEN_MAX_AGE), and a real `helm upgrade --install --wait` lasting longer than that still
succeeds, because helm ran the exec plugin again and presented fresh tokens."""

from __future__ import annotations

import threading

import pytest

from authkit import helm
from deployer.auth import cluster_access
from helpers import PROJECT

CHART = PROJECT / "tests" / "testing" / "charts" / "webapp"
PREFIX = {"eks": "k8s-aws-v1.", "gke": "gke-fake-", "aks": "aks-fake-"}


@pytest.mark.parametrize("cluster", sorted(PREFIX))
def test_long_helm_run_gets_fresh_tokens(cluster, repo, base_env, standin, short_lived_tokens, workdir):
    env = {**base_env, "DEPLOYER_AUTH_TOKEN_MAX_AGE": "2"}
    namespace = f"refresh-{cluster}"
    with cluster_access(repo.cluster(cluster), root=repo.root, env=env, workdir=workdir) as access:
        before, rejected_before = len(short_lived_tokens.presented), len(short_lived_tokens.rejected)
        standin.readiness = False  # the release's Deployment stays unready until the timer below
        timer = threading.Timer(5.0, lambda: setattr(standin, "readiness", True))
        timer.start()
        try:
            got = helm(
                access,
                env,
                "upgrade",
                "--install",
                "web",
                str(CHART),
                "-n",
                namespace,
                "--create-namespace",
                "--wait",
                "--timeout",
                "60s",
            )
        finally:
            timer.cancel()
            standin.readiness = True
        assert got.returncode == 0, got.stderr
        tokens = {t for t in short_lived_tokens.presented[before:] if t.startswith(PREFIX[cluster])}
        assert len(tokens) >= 2, "helm never asked the plugin for a fresh token"
        assert short_lived_tokens.rejected[rejected_before:] == []
        assert helm(access, env, "status", "web", "-n", namespace).returncode == 0
