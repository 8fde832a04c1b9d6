"""Huge and hostile files in the config repository: every file the deployer reads is bounded in size (1 MiB for a
cluster.yaml, 8 MiB for another config file, helm's 5 MiB for a chart file: ``deployer.userfiles``), refused from
its size alone (a 10 GB sparse file gives exit 2 at once, never a MemoryError), and an error deep inside a file just
under the limit still gets its line within seconds. Alias bombs and deep nesting are refused by ``deployer.yamlio``
with the file and line."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from deployer import secrets
from deployer.errors import SecretsError
from deployer.userfiles import MAX_CONFIG_FILE

C1 = "config/clusters/c1"
CY = f"{C1}/cluster.yaml"
TEN_GB = 10 * 10**9
LIMIT = r"is 9\.3 GiB, more than the 8 MiB limit for one (YAML|encrypted) file: split it or remove what is not needed"
CLUSTER_LIMIT = (
    r"is 9\.3 GiB, more than the 1 MiB limit for a cluster\.yaml: split the cluster's hubs over more clusters, or "
    "remove what is not needed"
)
CHART_LIMIT = (
    r"is 9\.3 GiB, more than the 5 MiB limit for a chart file \(helm's own limit\): helm would refuse the chart too; "
    "make the file smaller"
)


def sparse(path: Path) -> None:
    """``path`` becomes a 10 GB file that takes no disk (a hole after its own text)."""
    os.truncate(path, TEN_GB)


def validate(cli, mini_repo: Path, env: dict[str, str]) -> tuple[int, str, float]:
    start = time.monotonic()
    result = cli("--repo", str(mini_repo), "validate", env=env)
    elapsed = time.monotonic() - start
    assert "Traceback" not in result.output and "MemoryError" not in result.output, result.output[-3000:]
    return result.code, result.err, elapsed


@pytest.mark.parametrize(
    "rel, says",
    [
        (CY, CLUSTER_LIMIT),
        (f"{C1}/h2.values.yaml", LIMIT),
        (f"{C1}/enc-h1.secret.values.yaml", LIMIT),
        ("helm-charts/basehub/Chart.yaml", CHART_LIMIT),
        ("helm-charts/basehub/values.yaml", CHART_LIMIT),
        ("helm-charts/basehub/values.schema.json", CHART_LIMIT),
        ("helm-charts/basehub/Chart.lock", CHART_LIMIT),
    ],
    ids=["cluster-yaml", "values", "encrypted-values", "chart-yaml", "chart-values", "chart-schema", "chart-lock"],
)
def test_a_10gb_sparse_file_is_refused_at_once(mini_repo, cli, demo_key_env, rel, says):
    sparse(mini_repo / rel)
    code, err, elapsed = validate(cli, mini_repo, demo_key_env)
    assert code == 2 and elapsed < 10, err
    problems = err.splitlines()[:-1]
    assert problems and all(re.fullmatch(rf"{re.escape(rel)}: {says}", p) for p in problems), err
    assert err.endswith(f"\n{len(problems)} problem(s) found.\n"), err


def test_a_huge_dependency_archive_is_refused_at_once(mini_repo, cli, demo_key_env):
    archive = next((mini_repo / "helm-charts/basehub/charts").glob("*.tgz"))
    sparse(archive)
    code, err, elapsed = validate(cli, mini_repo, demo_key_env)
    assert code == 2 and elapsed < 10, err
    assert err.startswith(
        f"helm-charts/basehub/charts/{archive.name}: is 9.3 GiB, more than the 100 MiB limit for a chart archive "
        "(helm's own limit): helm would refuse it too; delete it and run 'helm dependency build' on its chart\n"
    ), err


def test_a_huge_encrypted_file_is_refused_before_sops_runs(tmp_path):
    path = tmp_path / "enc-x.secret.values.yaml"
    path.write_text("sops: {}\n")
    sparse(path)
    start = time.monotonic()
    with pytest.raises(SecretsError) as caught:  # with no sops on PATH: refused before looking for it
        secrets.plaintext(path, display="c/enc-x.secret.values.yaml", env={"PATH": str(tmp_path)})
    assert time.monotonic() - start < 1
    assert re.fullmatch(rf"c/enc-x\.secret\.values\.yaml: {LIMIT}", str(caught.value)), caught.value


def test_a_fifo_values_file_is_refused_without_waiting(mini_repo, cli, demo_key_env):
    values = mini_repo / C1 / "h2.values.yaml"
    values.unlink()
    os.mkfifo(values)
    code, err, elapsed = validate(cli, mini_repo, demo_key_env)
    assert code == 2 and elapsed < 10, err
    assert err == f"{CY}:22: hub 'h2': 'h2.values.yaml' is not a file\n1 problem(s) found.\n", err


def billion_laughs(levels: int) -> str:
    return "lol0: &a0 [lol, lol]\n" + "".join(
        f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, levels)
    )


def test_an_alias_bomb_values_file_is_refused_fast(mini_repo, cli, demo_key_env):
    values = mini_repo / C1 / "h2.values.yaml"
    values.write_text("identity: {}\n" + billion_laughs(12))  # 10^11 nodes once expanded
    code, err, elapsed = validate(cli, mini_repo, demo_key_env)
    assert code == 2 and elapsed < 5, err
    assert re.fullmatch(
        rf"{C1}/h2\.values\.yaml:7: its aliases \(\*name\) expand to more than 100,000 nodes[^\n]*\n"
        r"1 problem\(s\) found\.\n",
        err,
    ), err


def test_a_values_file_just_under_the_limit_gets_its_error_line_fast(mini_repo, cli, demo_key_env):
    """An error at the end of a values file of nearly 8 MiB (200,000 entries) is reported with its line in seconds
    (finding the line took 19 s alone with ruamel's round-trip parse; benchmarks/README.md has the figures)."""
    values = mini_repo / C1 / "h2.values.yaml"
    env = "".join(f"      VARIABLE_NUMBER_{i}: value-{i}\n" for i in range(200_000))
    values.write_text(f"identity: {{}}\njupyterhub:\n  hub:\n    extraEnv:\n{env}networkPolicy:\n  enabled: maybe\n")
    assert MAX_CONFIG_FILE - 100_000 < values.stat().st_size <= MAX_CONFIG_FILE
    code, err, elapsed = validate(cli, mini_repo, demo_key_env)
    assert code == 2, err
    assert err.startswith(f"{C1}/h2.values.yaml:200006: hub 'h2' (chart basehub): networkPolicy.enabled: must be"), err
    assert elapsed < 10, elapsed


DEEP_VALUES = "deep: " + "[" * 1_000 + "]" * 1_000 + "\n"


def test_deep_values_are_one_problem_for_template_too(mini_repo, cli, demo_key_env):
    """The commands that check values before running helm (template, like deploy) refuse 1,000-deep values with
    the file and line, instead of overflowing the stack while coalescing them."""
    values = mini_repo / C1 / "h2.values.yaml"
    values.write_text(values.read_text() + DEEP_VALUES)
    start = time.monotonic()
    result = cli("--repo", str(mini_repo), "template", "c1", "h2", env=demo_key_env)
    assert time.monotonic() - start < 20
    assert result.code == 2 and "Traceback" not in result.output, result.output[-3000:]
    assert re.search(rf"^{C1}/h2\.values\.yaml:5: nested deeper than 100 levels", result.err, re.M), result.err


def test_deploy_dry_run_with_deep_values_does_not_crash(mini_repo, cli, demo_key_env):
    """``deploy --dry-run`` prints the commands without reading values files: deep values change nothing."""
    values = mini_repo / C1 / "h2.values.yaml"
    values.write_text(values.read_text() + DEEP_VALUES)
    result = cli("--repo", str(mini_repo), "deploy", "c1", "--dry-run", env=demo_key_env)
    assert result.code == 0 and "Traceback" not in result.output, result.output[-3000:]
    assert "--values config/clusters/c1/h2.values.yaml" in result.out


def test_a_huge_or_deep_kubeconfig_is_refused_with_its_name(tmp_path):
    """Kubeconfigs (YAML or JSON) are read by ``yamlio`` too: size and depth bounded, one message naming them."""
    from deployer.errors import UsageError
    from deployer.kube import merged_kubeconfig

    huge, deep = tmp_path / "huge-config", tmp_path / "deep-config.json"
    huge.write_text("apiVersion: v1\n")
    sparse(huge)
    deep.write_text('{"apiVersion": "v1", "clusters": ' + "[" * 5_000 + "]" * 5_000 + "}")
    start = time.monotonic()
    with pytest.raises(UsageError) as caught:
        merged_kubeconfig([huge])
    assert str(caught.value) == (
        f"{huge}: not a valid kubeconfig (is 9.3 GiB, more than the 8 MiB limit for one YAML file: split it or "
        "remove what is not needed)"
    )
    with pytest.raises(UsageError, match=r"deep-config\.json: not a valid kubeconfig \(line 1: nested deeper than"):
        merged_kubeconfig([deep])
    assert time.monotonic() - start < 2


def test_a_deep_chart_schema_is_one_problem(mini_repo, cli, demo_key_env):
    """A values.schema.json nested 300 deep (valid JSON for Python's parser) is refused before it is compiled."""
    schema = mini_repo / "helm-charts/basehub/values.schema.json"
    schema.write_text('{"type": "object", "x": ' + "[" * 300 + "]" * 300 + "}")
    code, err, elapsed = validate(cli, mini_repo, demo_key_env)
    assert code == 2 and elapsed < 10, err
    assert err == (
        "helm-charts/basehub/values.schema.json: nested deeper than 100 levels: flatten it (with $defs)\n"
        "1 problem(s) found.\n"
    ), err
