"""The operator's guides (docs/guides/*.md) are run: every ```sh block of a guide, in order, as one bash script
(``set -euo pipefail``) from the root of a copy of the example fleet's ``local`` cluster (a git repository, with the
demo age key and ``.sops.yaml``), against a fresh Kubernetes API stand-in whose context is ``deployer-local``, as the
example's cluster.yaml names it. A command in a guide that stops working fails CI.

Conventions a guide follows (docs/guides/README.md says them to readers): ```sh blocks are run; ```text, ```yaml
and ```console blocks are shown only (output, file content, commands for a real cloud). A guide may use the
variables the reader is told to set in its text; the tests set them (``GUIDE_VARIABLES``). A guide that needs a
situation first (a release stuck pending) gets it from ``SITUATIONS``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import DEMO_KEY, PROJECT

GUIDES = PROJECT / "docs" / "guides"
RUN = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
GUIDE_FILES = sorted(p for p in GUIDES.glob("*.md") if p.name != "README.md")


def new_age_recipient(folder: Path) -> str:
    """A new age key pair (as `age-keygen -o FILE` makes one); its public key."""
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    (folder / "new-member.age-key.txt").write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    return str(identity.to_public())


def _leave_staging_pending(repo) -> None:
    assert repo.deployer("deploy", "local", "staging").returncode == 0
    repo.leave_pending("staging", values=("common.values.yaml", "staging.values.yaml"))  # the same objects


def _staging_deployed(repo) -> None:
    assert repo.deployer("deploy", "local", "staging").returncode == 0


def _prod_deployed(repo) -> None:
    assert repo.deployer("deploy", "local", "prod").returncode == 0


SITUATIONS = {
    "recover-a-pending-release": _leave_staging_pending,
    "debug-a-hub": _staging_deployed,
    "remove-a-hub": _prod_deployed,
}


def script_of(guide: Path) -> str:
    return "\n".join(RUN.findall(guide.read_text()))


@pytest.fixture
def fleet(kube_cluster, deploy_repo):
    """A copy of the example ``local`` cluster as a git repository, reaching the stand-in."""
    repo = deploy_repo(kube_cluster, suffix=False)
    for name in (".sops.yaml", ".gitignore"):
        shutil.copy(PROJECT / name, repo.root / name)
    shutil.copytree(PROJECT / ".github", repo.root / ".github")
    for cluster in (PROJECT / "config" / "clusters").iterdir():  # the rest of the example fleet, never deployed
        if not (repo.root / "config" / "clusters" / cluster.name).exists():
            shutil.copytree(cluster, repo.root / "config" / "clusters" / cluster.name)
    shutil.copy(DEMO_KEY, repo.root / "config" / DEMO_KEY.name)
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-qm", "the fleet")):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo.root, check=True)
    return repo


def test_there_are_guides_and_each_runs_something():
    assert len(GUIDE_FILES) >= 8, GUIDE_FILES
    for guide in GUIDE_FILES:
        assert script_of(guide).strip(), f"{guide.name}: no ```sh block to run"


def test_the_readme_and_the_index_link_every_guide():
    index = (GUIDES / "README.md").read_text()
    readme = (PROJECT / "README.md").read_text()
    for guide in GUIDE_FILES:
        assert f"({guide.name})" in index, f"docs/guides/README.md does not link {guide.name}"
    assert "docs/guides/" in readme


def test_every_message_of_the_troubleshooting_guide_is_one_the_deployer_prints():
    """Each heading of troubleshooting.md quotes the start of a message; the deployer's source must still hold it
    (each part between the ``…`` that stand for names and numbers), so the page cannot drift from the messages."""
    headings = re.findall(r"^### `(.+)`$", (GUIDES / "troubleshooting.md").read_text(), re.MULTILINE)
    assert len(headings) >= 8, headings
    source = "\n".join(p.read_text() for p in (PROJECT / "deployer").rglob("*.py"))
    missing = [h for h in headings if not all(part.strip() in source for part in h.split("…"))]
    assert not missing, f"troubleshooting.md quotes messages the deployer no longer prints: {missing}"


@pytest.mark.parametrize("guide", GUIDE_FILES, ids=[g.stem for g in GUIDE_FILES])
def test_the_guide_runs(guide, fleet, tmp_path):
    situation = SITUATIONS.get(guide.stem)
    if situation is not None:
        situation(fleet)
    env = {
        **fleet.env(),
        "PATH": f"{PROJECT / '.venv' / 'bin'}:{fleet.env()['PATH']}",
        "SOPS_AGE_KEY_FILE": str(fleet.root / "config" / DEMO_KEY.name),
        "NEW_AGE_RECIPIENT": new_age_recipient(tmp_path),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail -x\n" + script_of(guide)],
        cwd=fleet.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{guide.name}:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    check = AFTERWARDS.get(guide.stem)
    if check is not None:
        check(fleet, env, tmp_path)


def _new_member_can_decrypt(repo, env, folder: Path) -> None:
    """After re-encrypting to a new recipient, the new member's key alone decrypts every secret file."""
    for secret in sorted((repo.root / "config" / "clusters" / "local").glob("enc-*")):
        done = subprocess.run(
            ["sops", "decrypt", str(secret)],
            env={**env, "SOPS_AGE_KEY_FILE": str(folder / "new-member.age-key.txt")},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr


def _prod_is_gone(repo, env, folder: Path) -> None:
    assert repo.history("prod") == []
    assert repo.kube.get_object("namespaces", "prod") is None


def _lab_is_deployed(repo, env, folder: Path) -> None:
    assert [e["status"] for e in repo.history("lab")] == ["deployed"]


AFTERWARDS = {
    "rotate-a-secret": _new_member_can_decrypt,
    "remove-a-hub": _prod_is_gone,
    "add-a-hub": _lab_is_deployed,
}


def test_the_readmes_daily_commands_run(fleet):
    """README "Daily use": its commands work on the example fleet as written (origin/main is the fleet's main
    branch here; the health check needs a running hub, which the stand-in has not: only its --help is run)."""
    readme = (PROJECT / "README.md").read_text()
    section = readme.split("## Daily use", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```bash\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    commands = [line.split("#", 1)[0].strip() for line in blocks[-1].splitlines() if line.strip()]
    assert [c.split()[1] for c in commands] == ["validate", "generate-matrix", "diff", "deploy", "health-check"]
    subprocess.run(["git", "update-ref", "refs/remotes/origin/main", "HEAD"], cwd=fleet.root, check=True)
    env = {**fleet.env(), "PATH": f"{PROJECT / '.venv' / 'bin'}:{fleet.env()['PATH']}"}
    for command in commands:
        if command.startswith("deployer health-check"):
            command += " --help"
        done = subprocess.run(["bash", "-c", command], cwd=fleet.root, env=env, capture_output=True, text=True)
        allowed = (0, 1) if command.startswith("deployer diff") else (0,)
        assert done.returncode in allowed, f"{command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    assert [e["status"] for e in fleet.history("staging")] == ["deployed"]
