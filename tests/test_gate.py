"""The gate between stages, from recorded leg results: exact cluster names, missing reports count as failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from deployer.errors import UsageError
from deployer.planning.gate import gate, read_outcomes
from deployer.planning.legs import HubLeg, Removed, Rollout, SupportLeg


def leg(cluster: str, *hubs: str) -> HubLeg:
    return HubLeg(cluster, "gcp", hubs, "r")


PLAN = Rollout(
    support=(
        SupportLeg("a", "gcp", "r"),
        SupportLeg("b", "gcp", "r"),
        SupportLeg("c", "gcp", "r"),
        SupportLeg("a-eu", "gcp", "r"),
    ),
    canary=(leg("a", "staging"), leg("b", "staging"), leg("c", "staging"), leg("a-eu", "staging")),
    prod=(leg("a", "p1"), leg("a", "p2"), leg("b", "p1"), leg("c", "p1"), leg("a-eu", "p1")),
)


def deploy_report(cluster: str, *results: tuple[str, str, str]) -> dict:
    return {
        "cluster": cluster,
        "results": [
            {"release": rel, "kind": kind, "status": status, "revision": 1, "seconds": 1.0, "error": None}
            for rel, kind, status in results
        ],
    }


def health(cluster: str, hub: str, healthy: bool) -> dict:
    return {"cluster": cluster, "hub": hub, "healthy": healthy, "steps": []}


REPORTS = [
    deploy_report("a", ("support", "support", "deployed")),
    deploy_report("a", ("staging", "hub", "failed")),  # A's canary failed
    deploy_report("b", ("support", "support", "failed")),  # B's support failed
    deploy_report("c", ("support", "support", "deployed")),
    deploy_report("c", ("staging", "hub", "deployed")),
    health("c", "staging", True),
    deploy_report("a-eu", ("support", "support", "deployed")),  # a name that contains "a": must not be confused
    deploy_report("a-eu", ("staging", "hub", "deployed")),
    health("a-eu", "staging", True),
]


def clusters(legs) -> list[str]:
    return [f"{lg.cluster}/{'+'.join(lg.hubs)}" for lg in legs]


def test_prod_gate_drops_exactly_the_failed_clusters():
    result = gate(PLAN, "prod", read_outcomes(REPORTS), require_health=True)
    assert clusters(result.allowed) == ["c/p1", "a-eu/p1"]
    blocked = {f"{lg.cluster}/{lg.hubs[0]}": why for lg, why in result.blocked}
    assert blocked == {
        "a/p1": "canary staging failed",
        "a/p2": "canary staging failed",
        "b/p1": "support failed; canary staging has no report (the leg did not finish)",
    }


def test_canary_gate_needs_only_support():
    result = gate(PLAN, "canary", read_outcomes(REPORTS))
    assert clusters(result.allowed) == ["a/staging", "c/staging", "a-eu/staging"]
    assert [(lg.cluster, why) for lg, why in result.blocked] == [("b", "support failed")]


def test_missing_reports_count_as_failures():
    result = gate(PLAN, "prod", read_outcomes([]))
    assert result.allowed == ()
    assert all("has no report" in why for _, why in result.blocked)


@pytest.mark.parametrize(
    "healthy, require, allowed", [(False, False, False), (None, True, False), (None, False, True), (True, True, True)]
)
def test_unhealthy_canary_blocks_prod(healthy, require, allowed):
    reports = [deploy_report("c", ("support", "support", "deployed"), ("staging", "hub", "deployed"))]
    if healthy is not None:
        reports.append(health("c", "staging", healthy))
    plan = Rollout(support=(SupportLeg("c", "gcp", "r"),), canary=(leg("c", "staging"),), prod=(leg("c", "p1"),))
    assert bool(gate(plan, "prod", read_outcomes(reports), require_health=require).allowed) is allowed


def test_a_release_failed_in_any_report_is_failed():
    reports = [
        deploy_report("c", ("support", "support", "deployed")),
        deploy_report("c", ("support", "support", "failed")),
    ]
    assert read_outcomes(reports).support == {"c": "failed"}


def test_plan_json_round_trip():
    data = {
        "support": [{"cluster": "a", "provider": "gcp", "reason": "x"}],
        "canary": [{"cluster": "a", "provider": "gcp", "hubs": ["s"], "reason": "y"}],
        "prod": [],
        "removed": [{"cluster": "a", "hub": "old"}],
    }
    assert Rollout.from_json(data).to_json() == data


def test_gate_cli_with_report_files(tmp_path, cli, mini_repo):
    (tmp_path / "plan.json").write_text(json.dumps(PLAN.to_json()))
    for i, report in enumerate(REPORTS):
        folder = tmp_path / "reports" / f"report-{i}"
        folder.mkdir(parents=True)
        (folder / "r.json").write_text(json.dumps(report))
    out = tmp_path / "github_output"
    result = cli(
        "--repo",
        str(mini_repo),
        "gate",
        "--plan",
        str(tmp_path / "plan.json"),
        "--stage",
        "prod",
        "--results",
        str(tmp_path / "reports"),
        "--require-health",
        env={"GITHUB_OUTPUT": str(out)},
    )
    assert result.code == 0, result.output
    assert [lg["cluster"] for lg in json.loads(result.out)["allowed"]] == ["c", "a-eu"]
    assert "held back: a p1: canary staging failed" in result.err
    legs = json.loads(out.read_text().split("legs=", 1)[1])
    assert [lg["cluster"] for lg in legs] == ["c", "a-eu"] and set(legs[0]) == {"cluster", "provider", "hubs", "reason"}


@pytest.mark.parametrize(
    "plan, where",
    [
        ('{"canary": [{"no": 1}]}', "canary[0]: missing key 'cluster'"),
        ("[]", "the top level: must be an object, not a list"),
        ('{"support": [1]}', "support[0]: must be an object, not a number"),
        ('{"support": {"cluster": "a"}}', "support: must be a list, not an object"),
        ('{"prod": [{"cluster": "a", "hubs": "h1"}]}', "prod[0].hubs: must be a list, not a string"),
        ('{"prod": [{"cluster": "a", "hubs": [1]}]}', "prod[0].hubs: must be a non-empty list of hub names"),
        ('{"prod": [{"cluster": "a", "hubs": []}]}', "prod[0].hubs: must be a non-empty list of hub names"),
        ('{"prod": [{"cluster": ["a"], "hubs": ["h"]}]}', "prod[0].cluster: must be a non-empty string"),
        ('{"prod": [{"cluster": "a", "hubs": ["h"], "reason": null}]}', "prod[0].reason: must be a string"),
        ('{"removed": [{"cluster": "a"}]}', "removed[0]: missing key 'hub'"),
        (
            '{"canary": [' + ",".join(['{"cluster":"a","hubs":["h"]}'] * 100_001) + "]}",
            "canary: 100001 entries, more than the limit of 100000",
        ),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
        ("not json", "not JSON"),
        ("\udcff\udcfe", "not JSON"),
    ],
)
def test_gate_cli_rejects_a_bad_plan(tmp_path, cli, mini_repo, plan, where):
    path = tmp_path / "plan.json"
    path.write_text(plan, errors="surrogateescape")
    result = cli(
        "--repo",
        str(mini_repo),
        "gate",
        "--plan",
        str(path),
        "--stage",
        "prod",
        "--results",
        str(tmp_path / "none"),
        env={},
    )
    assert result.code == 2 and "Traceback" not in result.output, result.output
    assert result.err.startswith(f"{path}: not a plan printed by 'deployer generate-matrix' (")
    assert where in result.err and "pass the plan file that generate-matrix wrote" in result.err


def test_a_leg_reads_back_what_it_wrote_and_refuses_anything_else():
    for value in (SupportLeg("a", "gcp", "r"), HubLeg("a", "gcp", ("h1", "h2"), "r"), Removed("a", "h"), PLAN):
        assert type(value).from_json(value.to_json()) == value
    assert Rollout.from_json({}) == Rollout()  # missing lists are empty
    with pytest.raises(UsageError, match=r"^p\.json: .*support\[0\]: must be an object"):
        Rollout.from_json({"support": ["a"]}, source="p.json")
    with pytest.raises(UsageError, match="hub leg: missing key 'hubs'"):
        HubLeg.from_json({"cluster": "a"})


@pytest.mark.parametrize("junk", ["[1]", '{"cluster": "c", "results": [1]}', '{"cluster": "c", "results": 3}', "{"])
def test_malformed_reports_count_as_missing(tmp_path, cli, mini_repo, junk):
    plan = Rollout(support=(SupportLeg("c", "gcp", "r"),), prod=(leg("c", "p1"),))
    (tmp_path / "plan.json").write_text(json.dumps(plan.to_json()))
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "r.json").write_text(junk)
    result = cli(
        "--repo",
        str(mini_repo),
        "gate",
        "--plan",
        str(tmp_path / "plan.json"),
        "--stage",
        "prod",
        "--results",
        str(tmp_path / "reports"),
        env={},
    )
    assert result.code == 0 and "Traceback" not in result.output, result.output
    assert json.loads(result.out)["allowed"] == [] and "support has no report" in result.err


HOSTILE_NAMES = [
    "staging; curl x|sh",
    "$(reboot)",
    "prod\n",
    " prod",
    "Prod",
    "-prod",
    "prod-",
    "a" * 64,
    "",
]


@pytest.mark.parametrize("bad", HOSTILE_NAMES)
@pytest.mark.parametrize(
    "where, plan",
    [
        ("support[0].cluster", lambda bad: {"support": [{"cluster": bad, "provider": "gcp", "reason": "r"}]}),
        ("canary[0].cluster", lambda bad: {"canary": [{"cluster": bad, "provider": "gcp", "hubs": ["h"]}]}),
        ("prod[0].hubs", lambda bad: {"prod": [{"cluster": "c", "provider": "gcp", "hubs": ["h", bad]}]}),
        ("removed[0].hub", lambda bad: {"removed": [{"cluster": "c", "hub": bad}]}),
    ],
)
def test_gate_refuses_a_plan_with_names_that_are_not_names(tmp_path, cli, mini_repo, where, plan, bad):
    # Legs go into a workflow's commands: a name the config schema would refuse must never get that far.
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan(bad)))
    out = tmp_path / "github_output"
    args = ("--repo", str(mini_repo), "gate", "--plan", str(path), "--stage", "prod", "--results", str(tmp_path))
    result = cli(*args, env={"GITHUB_OUTPUT": str(out)})
    assert result.code == 2 and result.out == "" and result.err.count("\n") == 1, result.output
    assert result.err.startswith(f"{path}: not a plan printed by 'deployer generate-matrix' ({where}")
    assert "must be a" in result.err
    assert not out.exists() or out.read_text() == ""


@pytest.mark.parametrize(
    "plan, says",
    [
        ({"prod": [{"cluster": "c", "hubs": ["support"]}]}, "prod[0].hubs[0]: must be a hub name"),
        ({"prod": [{"cluster": "c", "hubs": ["a" * 54]}]}, "prod[0].hubs[0]: must be a hub name"),
        ({"prod": [{"cluster": "c", "provider": "gcp; x", "hubs": ["h"]}]}, "prod[0].provider: must be one of gcp"),
        ({"prod": [{"cluster": "c", "hubs": "h1"}]}, "prod[0].hubs: must be a list, not a string"),
    ],
)
def test_gate_refuses_reserved_long_names_and_unknown_providers(tmp_path, cli, mini_repo, plan, says):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    result = cli("--repo", str(mini_repo), "gate", "--plan", str(path), "--stage", "prod", "--results", "x", env={})
    assert result.code == 2 and says in result.err and result.err.count("\n") == 1, result.output


def test_plan_names_follow_the_schema_rule():
    from deployer.planning import legs as rules
    from helpers import PROJECT

    schema = json.loads((PROJECT / "schemas" / "cluster.schema.json").read_text())
    label, hub_name = schema["$defs"]["dns1123Label"], schema["$defs"]["hub"]["properties"]["name"]

    def core(pattern: str) -> str:  # the rule without its anchors (^ ... $ or $(?!\n))
        return pattern.removeprefix("^").removesuffix("$(?!\\n)").removesuffix("$")

    assert core(label["pattern"]) == core(hub_name["pattern"]) == rules.NAME_RULE.pattern
    assert (label["maxLength"], hub_name["maxLength"]) == (rules.CLUSTER_NAME_MAX, rules.HUB_NAME_MAX)
    assert hub_name["not"] == {"const": "support"} and {"support"} == rules.RESERVED_HUB_NAMES
    assert tuple(schema["properties"]["provider"]["enum"]) == rules.PROVIDERS


PLAN_C = Rollout(support=(SupportLeg("c", "gcp", "r"),), canary=(leg("c", "staging"),), prod=(leg("c", "p1"),))
GOOD_C = [
    deploy_report("c", ("support", "support", "deployed"), ("staging", "hub", "deployed")),
    health("c", "staging", True),
]


def run_gate(tmp_path, mini_repo, files: dict, *extra: str):
    """The real CLI in a child process (a FIFO must not hang the test run): (exit code, allowed clusters, stderr)."""
    (tmp_path / "plan.json").write_text(json.dumps(PLAN_C.to_json()))
    reports = tmp_path / "reports"
    reports.mkdir()
    for name, make in files.items():
        make(reports / name)
    exe = os.path.join(os.path.dirname(sys.executable), "deployer")
    argv = [exe, "--repo", str(mini_repo), "gate", "--plan", str(tmp_path / "plan.json"), "--stage", "prod"]
    proc = subprocess.run(
        [*argv, "--results", str(reports), *extra],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        timeout=60,
    )
    allowed = [lg["cluster"] for lg in json.loads(proc.stdout)["allowed"]] if proc.returncode == 0 else None
    return proc.returncode, allowed, proc.stderr


def sparse_17mb(path) -> None:
    path.touch()
    os.truncate(path, 17 * 1024 * 1024)


def writes(data) -> object:
    return lambda path: path.write_text(data if isinstance(data, str) else json.dumps(data))


def test_the_good_reports_let_prod_go_on(tmp_path, mini_repo):
    files = {f"r{i}.json": writes(report) for i, report in enumerate(GOOD_C)}
    assert run_gate(tmp_path, mini_repo, files, "--require-health")[:2] == (0, ["c"])


@pytest.mark.parametrize(
    "name, make, says",
    [
        ("d.json", lambda p: p.mkdir(), "is a folder, not a report file"),
        ("f.json", os.mkfifo, "is a FIFO, not a report file"),
        ("z.json", lambda p: p.symlink_to("/dev/zero"), "is a special file, not a report file"),
        ("big.json", sparse_17mb, "more than 16777216 bytes, not a report file"),
        (
            "deep.json",
            writes('{"cluster": "c", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"),
            "not JSON (or nested too deep)",
        ),
        ("bin.json", lambda p: p.write_bytes(b'{"cluster": "c\xff"}'), "not JSON (or nested too deep)"),
    ],
)
def test_a_report_file_that_is_no_report_is_ignored_and_its_leg_did_not_finish(tmp_path, mini_repo, name, make, says):
    # The canary's deploy report is replaced by something that is not a report: prod stays held back, exit 0.
    files = {"health.json": writes(GOOD_C[1]), name: make}
    code, allowed, err = run_gate(tmp_path, mini_repo, files, "--require-health")
    assert (code, allowed) == (0, []), err
    assert f"{name}: {says}; ignored (its leg counts as not finished)" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "bad",
    [
        {"cluster": "c", "results": [{"release": "staging", "kind": "hub", "status": ["failed"]}]},
        {"cluster": "c", "results": [{"release": ["staging"], "kind": "hub", "status": "failed"}]},
        {"cluster": "c", "results": [["staging", "failed"]]},
        {"cluster": "c", "results": "staging failed"},
        {"cluster": "c", "results": {"staging": "failed"}},
        {"cluster": "c"},
        {"cluster": "c", "hub": ["staging"], "healthy": False},
    ],
)
def test_a_malformed_report_never_lets_a_leg_go_on(tmp_path, mini_repo, bad):
    # Alongside reports that say everything went well, a malformed report of the cluster holds its legs back.
    files = {f"r{i}.json": writes(report) for i, report in enumerate(GOOD_C)} | {"bad.json": writes(bad)}
    code, allowed, err = run_gate(tmp_path, mini_repo, files, "--require-health")
    assert (code, allowed) == (0, []), err
    assert "held back: c p1: a report of c is malformed (" in err


@pytest.mark.parametrize("healthy", ["no", "true", 1, "yes", None, {"ok": True}, [True]])
def test_require_health_accepts_only_json_true(tmp_path, mini_repo, healthy):
    files = {"r.json": writes(GOOD_C[0]), "h.json": writes({"cluster": "c", "hub": "staging", "healthy": healthy})}
    code, allowed, err = run_gate(tmp_path, mini_repo, files, "--require-health")
    assert (code, allowed) == (0, []) and "canary staging unhealthy" in err, err


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda p: p.mkdir(), "is a folder, not a plan file"),
        (os.mkfifo, "is a FIFO, not a plan file"),
        (lambda p: None, "cannot be read (No such file or directory)"),
    ],
)
def test_a_plan_that_is_not_a_file_is_one_clear_line(tmp_path, mini_repo, make, says):
    plan = tmp_path / "plan.json"
    make(plan)
    exe = os.path.join(os.path.dirname(sys.executable), "deployer")
    proc = subprocess.run(
        [exe, "--repo", str(mini_repo), "gate", "--plan", str(plan), "--stage", "prod", "--results", str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert proc.stderr == f"{plan}: {says}; pass the plan file that 'deployer generate-matrix' wrote\n"
