"""Finding the config repository: walk up, --repo, DEPLOYER_REPO; clear message when there is none."""

from pathlib import Path

from deployer.cli import run
from helpers import run_deployer


def test_root_is_found_from_a_subfolder(mini_repo, cli):
    result = cli("list", cwd=mini_repo / "config" / "clusters" / "c1", env={})
    assert result.code == 0, result.output
    assert "h1" in result.out and "h2" in result.out


def test_repo_option_and_environment_variable(mini_repo, cli, tmp_path):
    assert cli("--repo", str(mini_repo), "list", cwd=tmp_path, env={}).code == 0
    assert cli("list", cwd=tmp_path, env={"DEPLOYER_REPO": str(mini_repo)}).code == 0


def test_the_environment_given_to_run_is_the_only_one_read(mini_repo, tmp_path, monkeypatch, capsys):
    # the process's own DEPLOYER_REPO points nowhere; run() reads the env it is given (and starts where told)
    monkeypatch.setenv("DEPLOYER_REPO", str(tmp_path / "nowhere"))
    assert run(["list"], env={}, start=mini_repo / "config") == 0
    assert run(["list"], env={"DEPLOYER_REPO": str(mini_repo)}, start=tmp_path) == 0
    assert run(["list"], env={}, start=tmp_path) == 2
    assert "h1" in capsys.readouterr().out


def test_no_repository_is_a_clear_error(tmp_path, cli):
    result = cli("list", cwd=tmp_path, env={})
    assert result.code == 2
    assert "no config/clusters/ folder found" in result.err and "--repo" in result.err
    assert "Traceback" not in result.output


def test_repo_option_pointing_at_a_non_repository(tmp_path, cli):
    result = cli("--repo", str(tmp_path), "validate", env={})
    assert result.code == 2 and "not a deployer config repository" in result.err


def test_messages_use_paths_relative_to_the_root(mini_repo, demo_key_env):
    (mini_repo / "config/clusters/c1/h2.values.yaml").write_text("identiti: 1\n")
    proc = run_deployer("validate", env=demo_key_env, cwd=mini_repo / "helm-charts")
    assert proc.returncode == 2
    assert proc.stderr.startswith("config/clusters/c1/h2.values.yaml:1: ")
    assert str(Path(mini_repo)) not in proc.stderr
