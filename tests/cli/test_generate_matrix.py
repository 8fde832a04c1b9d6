"""`deployer generate-matrix` end to end: path sources, --base with a real git repository, GitHub outputs,
the comment table, folding, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import run_deployer

C1 = "config/clusters/c1"


def git(repo, *args):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_repo(mini_repo):
    git(mini_repo, "init", "-q", "-b", "main")
    git(mini_repo, "add", "-A")
    git(mini_repo, "commit", "-q", "-m", "base")
    return mini_repo


def legs(data, key):
    return [f"{leg['cluster']}/{'+'.join(leg['hubs'])}" for leg in data[key]]


def test_paths_as_arguments(cli, mini_repo):
    result = cli("--repo", str(mini_repo), "generate-matrix", f"{C1}/h2.values.yaml", env={})
    assert result.code == 0, result.output
    data = json.loads(result.out)
    assert set(data) == {"support", "canary", "prod", "removed"}
    assert legs(data, "canary") == ["c1/h1"] and legs(data, "prod") == ["c1/h2"]
    assert data["prod"][0] == {
        "cluster": "c1",
        "provider": "kubeconfig",
        "hubs": ["h2"],
        "reason": f"{C1}/h2.values.yaml changed (values file)",
    }


def test_paths_from_a_file_and_stdin(mini_repo, tmp_path, demo_key_env):
    listing = tmp_path / "changed.txt"
    listing.write_text(f"{C1}/support.values.yaml\n\n# a comment\n./{C1}/h2.values.yaml\n")
    proc = run_deployer("--repo", str(mini_repo), "generate-matrix", "--from", str(listing), env=demo_key_env)
    data = json.loads(proc.stdout)
    assert [s["cluster"] for s in data["support"]] == ["c1"] and legs(data, "prod") == ["c1/h2"]
    exe = os.path.join(os.path.dirname(sys.executable), "deployer")
    proc = subprocess.run(
        [exe, "--repo", str(mini_repo), "generate-matrix", "--from", "-"],
        input=f"{C1}/h2.values.yaml\n",
        capture_output=True,
        text=True,
        env=demo_key_env,
    )
    assert legs(json.loads(proc.stdout), "prod") == ["c1/h2"]


def test_base_revision_plans_only_changed_hub_entries(cli, git_repo):
    cluster = git_repo / C1 / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("domain: h2.c1.example.org", "domain: h2-new.c1.example.org"))
    git(git_repo, "commit", "-q", "-am", "change h2's domain")
    result = cli("--repo", str(git_repo), "generate-matrix", "--base", "HEAD~1", env={})
    assert result.code == 0, result.output
    data = json.loads(result.out)
    assert data["support"] == [] and legs(data, "canary") == ["c1/h1"] and legs(data, "prod") == ["c1/h2"]
    assert data["prod"][0]["reason"] == f"{C1}/cluster.yaml: hub entry changed"


def test_base_revision_lists_removed_hubs(cli, git_repo):
    cluster = git_repo / C1 / "cluster.yaml"
    text = cluster.read_text()
    cluster.write_text(text[: text.index("  - name: h2")])
    (git_repo / C1 / "h2.values.yaml").unlink()
    git(git_repo, "commit", "-q", "-am", "remove h2")
    data = json.loads(cli("--repo", str(git_repo), "generate-matrix", "--base", "HEAD~1", env={}).out)
    assert data["removed"] == [{"cluster": "c1", "hub": "h2"}]
    assert data["prod"] == [] and data["canary"] == []


def test_base_from_a_subfolder_config_root(cli, tmp_path, mini_repo):
    # the config repository may be a folder inside a bigger git repository: paths stay root-relative
    outer = tmp_path / "outer"
    outer.mkdir()
    mini_repo.rename(outer / "infra")
    git(outer, "init", "-q", "-b", "main")
    git(outer, "add", "-A")
    git(outer, "commit", "-q", "-m", "base")
    (outer / "infra" / C1 / "h2.values.yaml").write_text("identity:\n  displayName: changed\n")
    git(outer, "commit", "-q", "-am", "change")
    data = json.loads(cli("--repo", str(outer / "infra"), "generate-matrix", "--base", "HEAD~1", env={}).out)
    assert legs(data, "prod") == ["c1/h2"]


def test_bad_base_is_a_clear_error(cli, git_repo):
    result = cli("--repo", str(git_repo), "generate-matrix", "--base", "no-such-ref", env={})
    assert result.code == 2 and "git rev-parse" in result.err and "Traceback" not in result.output


def test_github_outputs_summary_and_comment(cli, mini_repo, tmp_path):
    out, summary, comment = tmp_path / "out", tmp_path / "summary.md", tmp_path / "comment.md"
    result = cli(
        "--repo",
        str(mini_repo),
        "generate-matrix",
        f"{C1}/common.values.yaml",
        "--comment",
        str(comment),
        env={"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.code == 0, result.output
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert set(outputs) == {"support", "canary", "prod", "removed"}
    assert json.loads(outputs["prod"]) == json.loads(result.out)["prod"] and "\n" not in outputs["prod"]
    table = comment.read_text()
    assert "| c1 | canary | h1 |" in table and "| c1 | prod | h2 |" in table
    assert table.strip() in summary.read_text()


def test_folding_under_max_legs(cli, mini_repo):
    cluster = mini_repo / C1 / "cluster.yaml"
    extra = "".join(
        f"  - name: p{i}\n    domain: p{i}.c1.example.org\n    helm_chart: basehub\n"
        f"    helm_chart_values_files: [common.values.yaml]\n"
        for i in range(5)
    )
    cluster.write_text(cluster.read_text() + extra)
    data = json.loads(
        cli("--repo", str(mini_repo), "generate-matrix", f"{C1}/common.values.yaml", "--max-legs", "2", env={}).out
    )
    assert len(data["prod"]) == 2
    assert sorted(h for leg in data["prod"] for h in leg["hubs"]) == ["h2", "p0", "p1", "p2", "p3", "p4"]


def test_verbose_lists_unmatched_paths(cli, mini_repo):
    result = cli("--repo", str(mini_repo), "generate-matrix", "-v", "nowhere/x.txt", "README.md", env={})
    assert result.code == 0 and "unmatched (deploys nothing): nowhere/x.txt" in result.err
    assert "README.md" not in result.err


def test_broken_config_is_refused(cli, mini_repo):
    (mini_repo / C1 / "cluster.yaml").write_text("name: c1\nprovider: kubeconfig\nkubeconfig: {}\nhubs: 3\n")
    result = cli("--repo", str(mini_repo), "generate-matrix", f"{C1}/h2.values.yaml", env={})
    assert result.code == 2
    assert result.err.startswith(f"{C1}/cluster.yaml:4: hubs: must be a list") and "Traceback" not in result.output


@pytest.mark.parametrize(
    "tail, words",
    [(b"dependencies: [\n", "invalid YAML"), (b"description: caf\xe9\n", "is not UTF-8 text (byte 0xe9)")],
    ids=["bad-yaml", "not-utf8"],
)
def test_broken_chart_is_refused_not_a_traceback(cli, mini_repo, tail, words):
    with open(mini_repo / "helm-charts/daskhub/Chart.yaml", "ab") as handle:
        handle.write(tail)
    result = cli("--repo", str(mini_repo), "generate-matrix", f"{C1}/h2.values.yaml", env={})
    assert result.code == 2, result.output
    assert result.err.startswith("helm-charts/daskhub/Chart.yaml:") and "Traceback" not in result.output
    assert words in result.err, result.err


def test_git_runs_with_the_environment_given_not_the_processs(cli, git_repo, tmp_path):
    # git is found on the PATH of the run's environment (a recording git first on it), never os.environ's
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    real = subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout.strip()
    (bin_dir / "git").write_text(f'#!/bin/sh\necho "$MARK $*" >> {calls}\nexec {real} "$@"\n')
    (bin_dir / "git").chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "MARK": "given-env"}
    result = cli("--repo", str(git_repo), "generate-matrix", "--base", "HEAD", env=env)
    assert result.code == 0, result.output
    lines = calls.read_text().splitlines()
    assert lines and all(line.startswith("given-env ") for line in lines)
    assert any(" diff --name-only --no-renames HEAD...HEAD" in line for line in lines)
    missing = cli("--repo", str(git_repo), "generate-matrix", "--base", "HEAD", env={"PATH": str(tmp_path / "none")})
    assert missing.code == 2 and missing.err.strip() == "git is not installed; --base needs it", missing.output


def bad_from_file(tmp_path, kind: str) -> str:
    path = tmp_path / f"changed-{kind}"
    if kind == "binary":
        path.write_bytes(b"README.md\n\xff\xfe paths\n")
    elif kind == "latin-1":
        path.write_bytes("README.md\nconfig/clusters/c1/caf\u00e9.values.yaml\n".encode("latin-1"))
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        return "/dev/zero"  # endless: must not be read
    return str(path)  # "missing": never created


@pytest.mark.parametrize(
    "kind, says",
    [
        ("binary", ":2: not UTF-8 text (byte 0xff)"),
        ("latin-1", ":2: not UTF-8 text (byte 0xe9)"),
        ("folder", ": is a folder, not a list of changed paths (a text file or a pipe)"),
        ("device", ": is a special file, not a list of changed paths (a text file or a pipe)"),
        ("missing", ": cannot be read (No such file or directory)"),
    ],
)
def test_a_bad_from_file_is_one_clear_line(mini_repo, tmp_path, demo_key_env, kind, says):
    name = bad_from_file(tmp_path, kind)
    exe = os.path.join(os.path.dirname(sys.executable), "deployer")
    proc = subprocess.run(
        [exe, "--repo", str(mini_repo), "generate-matrix", "--from", name],
        capture_output=True,
        text=True,
        env=demo_key_env,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"--from {name}{says}; give a text file of changed paths"), proc.stderr


def test_from_reads_a_pipe_and_never_waits_for_a_missing_writer(mini_repo, tmp_path, demo_key_env):
    exe = os.path.join(os.path.dirname(sys.executable), "deployer")
    fifo = tmp_path / "changed"
    os.mkfifo(fifo)
    # as bash's <(...) gives it: a writer on the other end
    writer = subprocess.Popen(["sh", "-c", f"echo {C1}/h2.values.yaml > {fifo}"])
    proc = subprocess.run(
        [exe, "--repo", str(mini_repo), "generate-matrix", "--from", str(fifo)],
        capture_output=True,
        text=True,
        env=demo_key_env,
        timeout=60,
    )
    writer.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert legs(json.loads(proc.stdout), "prod") == ["c1/h2"]
    # nobody writes: read as empty at once, never a hang
    lonely = tmp_path / "lonely"
    os.mkfifo(lonely)
    proc = subprocess.run(
        [exe, "--repo", str(mini_repo), "generate-matrix", "--from", str(lonely)],
        capture_output=True,
        text=True,
        env=demo_key_env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["prod"] == []


def test_bad_bytes_on_stdin_are_one_clear_line(mini_repo, demo_key_env):
    exe = os.path.join(os.path.dirname(sys.executable), "deployer")
    proc = subprocess.run(
        [exe, "--repo", str(mini_repo), "generate-matrix", "--from", "-"],
        input=b"README.md\r\nREADME.md\n\x80\n",
        capture_output=True,
        env=demo_key_env,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.decode().startswith("--from standard input:3: not UTF-8 text (byte 0x80); ")


def test_uncommitted_changes_are_warned_about_on_stderr_not_in_the_json(cli, tmp_path, mini_repo):
    # the config root inside a bigger work tree: the paths are listed relative to it, as --base plans them
    outer = tmp_path / "outer"
    outer.mkdir()
    mini_repo.rename(outer / "infra")
    root = outer / "infra"
    git(outer, "init", "-q", "-b", "main")
    git(outer, "add", "-A")
    git(outer, "commit", "-q", "-m", "base")
    clean = cli("--repo", str(root), "generate-matrix", "--base", "HEAD", env={})
    assert clean.code == 0 and clean.err == "", clean.output
    (root / C1 / "h2.values.yaml").write_text("identity:\n  displayName: not committed\n")
    new = [f"{C1}/new-{i}.values.yaml" for i in range(6)]
    for path in new:
        (root / path).write_text("a: 1\n")
    (root / "NOTES.md").write_text("outside config/ and helm-charts/: not listed\n")
    result = cli("--repo", str(root), "generate-matrix", "--base", "HEAD", env={})
    assert result.code == 0, result.output
    assert result.out == clean.out and json.loads(result.out)["prod"] == []  # the plan is what was committed
    listed = sorted([f"{C1}/h2.values.yaml", *new])
    assert result.err.count("\n") == 1 and result.err.startswith("warning: uncommitted changes are not in this plan")
    assert f": {', '.join(listed[:5])} and 2 more; commit them" in result.err
    assert "git diff --name-only HEAD | deployer generate-matrix --base HEAD --from -" in result.err
    assert "NOTES.md" not in result.err
    named = cli("--repo", str(root), "generate-matrix", "--base", "HEAD", *listed, env={})
    assert named.code == 0 and named.err == "" and legs(json.loads(named.out), "prod") == ["c1/h2"], named.output


def test_no_uncommitted_warning_without_base_or_on_a_clean_checkout(cli, git_repo):
    (git_repo / C1 / "h2.values.yaml").write_text("identity:\n  displayName: not committed\n")
    without_base = cli("--repo", str(git_repo), "generate-matrix", f"{C1}/h2.values.yaml", env={})
    assert without_base.code == 0 and without_base.err == "", without_base.output
    git(git_repo, "commit", "-q", "-am", "committed")
    committed = cli("--repo", str(git_repo), "generate-matrix", "--base", "HEAD~1", env={})
    assert committed.code == 0 and committed.err == "", committed.output
    assert legs(json.loads(committed.out), "prod") == ["c1/h2"]
