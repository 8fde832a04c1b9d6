"""Output files that cannot be written (``--report``, ``--comment``, ``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``)
are bad input found BEFORE anything is deployed or run: exit 2 and one line naming the path, never a traceback
after the work is done. Every command that writes such a file, with every kind of unwritable path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deployer.errors import UsageError
from deployer.jsonfile import check_writable


def _folder(tmp: Path) -> Path:
    (tmp / "a-folder").mkdir()
    return tmp / "a-folder"


def _under_a_file(tmp: Path) -> Path:
    (tmp / "a-file").write_text("x")
    return tmp / "a-file" / "reports" / "out.json"  # a missing parent that cannot be created


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "a-fifo")  # nobody reads it: writing would hang
    return tmp / "a-fifo"


def _proc(tmp: Path) -> Path:
    return Path("/proc/version")


def _read_only(tmp: Path) -> Path:
    folder = tmp / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return folder / "out.json"


UNWRITABLE = {
    "a folder": (_folder, "is a folder"),
    "under a file": (_under_a_file, "is not a folder, so the file cannot be created"),
    "a fifo nobody reads": (_fifo, "is a FIFO that nobody reads"),
    "in /proc": (_proc, "is in /proc, a kernel file system"),
}
if os.geteuid() != 0:  # root writes into read-only folders anyway
    UNWRITABLE["a read-only folder"] = (_read_only, "cannot create files in")


@pytest.fixture(params=sorted(UNWRITABLE))
def unwritable(request, tmp_path):
    make, words = UNWRITABLE[request.param]
    path = make(tmp_path)
    yield path, words
    if path.parent.name == "read-only":
        path.parent.chmod(0o700)


def assert_refused(result, option: str, path: Path, words: str) -> None:
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    [line] = result.err.splitlines()  # one line, nothing run before it
    assert line.startswith(f"{option}") and str(path) in line and words in line, line
    assert "give a file path in a folder you can write to" in line


@pytest.mark.parametrize("command", ["deploy", "deploy-support"])
def test_deploy_report_is_checked_before_deploying(cli, mini_repo, unwritable, command):
    path, words = unwritable
    result = cli("--repo", str(mini_repo), command, "c1", "--report", str(path), env={})
    assert_refused(result, f"--report {path}", path, words)


def test_deploy_step_summary_is_checked_before_deploying(cli, mini_repo, unwritable):
    path, words = unwritable
    result = cli("--repo", str(mini_repo), "deploy", "c1", env={"GITHUB_STEP_SUMMARY": str(path)})
    assert_refused(result, f"$GITHUB_STEP_SUMMARY ({path})", path, words)


def test_health_check_report_is_checked_before_checking(cli, unwritable, tmp_path):
    path, words = unwritable
    result = cli(
        "health-check", "--url", "http://127.0.0.1:9/", "--token", "t", "--timeout", "2", "--report", str(path)
    )
    assert_refused(result, f"--report {path}", path, words)


@pytest.mark.parametrize("variable", ["GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "--comment"])
def test_generate_matrix_outputs_are_checked_before_planning(cli, mini_repo, unwritable, variable):
    path, words = unwritable
    args = ["--repo", str(mini_repo), "generate-matrix", "config/clusters/c1/cluster.yaml"]
    if variable == "--comment":
        result = cli(*args, "--comment", str(path), env={})
        assert_refused(result, f"--comment {path}", path, words)
    else:
        result = cli(*args, env={variable: str(path)})
        assert_refused(result, f"${variable} ({path})", path, words)
    assert result.out == ""  # no plan printed


def test_gate_output_is_checked_before_deciding(cli, mini_repo, unwritable, tmp_path):
    path, words = unwritable
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"prod": [{"cluster": "c1", "hubs": ["h1"]}]}))
    args = ["--repo", str(mini_repo), "gate", "--plan", str(plan), "--stage", "prod", "--results", str(tmp_path)]
    result = cli(*args, env={"GITHUB_OUTPUT": str(path)})
    assert_refused(result, f"$GITHUB_OUTPUT ({path})", path, words)
    assert result.out == ""


def test_writable_paths_pass_and_nothing_is_created(tmp_path):
    check_writable(tmp_path / "new" / "deeper" / "r.json", "--report r.json")  # parents are created when written
    (tmp_path / "exists.json").write_text("kept")
    check_writable(tmp_path / "exists.json", "--report exists.json")
    check_writable("/dev/null", "--report /dev/null")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.json"]
    assert (tmp_path / "exists.json").read_text() == "kept"
    with pytest.raises(UsageError, match=r"^--report x: is a folder"):
        check_writable(tmp_path, "--report x")
