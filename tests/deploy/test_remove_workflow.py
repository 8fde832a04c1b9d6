"""The remove-hub workflow (.github/workflows/remove-hub.yaml) EXECUTED by ``tests/github_actions.py`` with the real
deployer and helm against the local stand-in, for a manual dispatch; its static shape (manual only, inputs through
``env:``); and the plan comment that lists the hubs a merge would orphan."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from deployer.planning.legs import Removed, Rollout
from deployer.planning.table import rollout_markdown
from github_actions import Runner
from helpers import DEMO_KEY, PROJECT

WORKFLOW = PROJECT / ".github" / "workflows" / "remove-hub.yaml"


def test_the_workflow_only_runs_by_hand_and_passes_inputs_through_env():
    wf = yaml.safe_load(WORKFLOW.read_text())
    triggers = wf[True] if True in wf else wf["on"]  # PyYAML reads the key `on` as True (YAML 1.1)
    assert list(triggers) == ["workflow_dispatch"]  # never on push or pull_request: nothing deletes by itself
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert {name: spec["required"] for name, spec in inputs.items()} == {"cluster": True, "hub": True}
    assert wf["permissions"] == {"contents": "read"}
    [step] = [s for s in wf["jobs"]["remove"]["steps"] if "deployer remove" in s.get("run", "")]
    assert step["run"].startswith('deployer remove "$CLUSTER" "$HUB" --yes')
    assert step["env"] == {"CLUSTER": "${{ github.event.inputs.cluster }}", "HUB": "${{ github.event.inputs.hub }}"}


def test_the_plan_comment_lists_the_hubs_a_merge_orphans():
    text = rollout_markdown(Rollout(removed=(Removed("c1", "old"), Removed("c2", "gone"))))
    assert "**A merge orphans 2 hub(s)**" in text and "Nothing is deleted automatically" in text
    assert "- `c1` / `old`: `deployer remove c1 old`" in text and "`remove-hub` workflow" in text
    assert "orphans" not in rollout_markdown(Rollout())


def dispatch(repo, tmp_path: Path, hub: str, name: str) -> dict:
    """Run the workflow for ``workflow_dispatch`` with inputs cluster t and ``hub``; the runs by job."""
    bin_dir = tmp_path / f"bin-{name}"
    bin_dir.mkdir()
    (bin_dir / "pip").write_text("#!/bin/sh\nexit 0\n")  # `pip install .`: the deployer is installed already
    (bin_dir / "pip").chmod(0o755)
    (bin_dir / "deployer").symlink_to(Path(sys.executable).with_name("deployer"))
    env = {
        **repo.env(),
        "PATH": os.pathsep.join([str(bin_dir), repo.env()["PATH"]]),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),  # what setup-deployer puts in GITHUB_ENV
    }
    github = {"event_name": "workflow_dispatch", "repository": "o/r", "event": {"inputs": {"cluster": "t", "hub": hub}}}
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return Runner(workflow, repo.root, tmp_path / f"runner-{name}", env, github).run()


@pytest.mark.e2e
def test_a_dispatch_removes_only_a_hub_gone_from_the_config(kube_cluster, custom_repo, tmp_path):
    repo = custom_repo(kube_cluster, hubs=[("old", False), ("kept", False)])
    old = repo.hub("old")
    deployed = repo.deployer("deploy", "t", old)
    assert deployed.returncode == 0, deployed.stderr

    refused = dispatch(repo, tmp_path, old, "refused")  # still in cluster.yaml
    assert refused["resolve"][0].result == "success" and refused["resolve"][0].outputs == {"provider": "kubeconfig"}
    [step] = [s for s in refused["remove"][0].steps if s.name == f"Remove {old} from t"]
    assert step.outcome == "failure" and "still in cluster 't'" in step.stderr, step.stderr
    assert repo.history(old)[-1]["status"] == "deployed"

    cluster_yaml = repo.cluster_dir() / "cluster.yaml"
    text = cluster_yaml.read_text()
    start = text.index(f"  - name: {old}\n")
    cluster_yaml.write_text(text[:start] + text[text.index("  - name: ", start + 1) :])
    removed = dispatch(repo, tmp_path, old, "removed")
    [step] = [s for s in removed["remove"][0].steps if s.name == f"Remove {old} from t"]
    assert step.outcome == "success", step.stderr
    assert f"helm release {old} (namespace {old}, revision 1, deployed" in step.stdout
    assert repo.history(old) == [] and kube_cluster.get_object("namespaces", old) is None
