"""Deploy only what changed: a release whose inputs' digest (chart content, values in order with secrets decrypted,
the helm flags that shape it) is the one recorded on its deployed revision is ``unchanged`` and helm does not run.
Real deployer, helm (3 and 4) and sops against the local stand-in; the digest and gate rules as pure functions."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from deployer.deploy import digest
from deployer.planning.gate import gate, read_outcomes
from deployer.planning.legs import HubLeg, Rollout, SupportLeg
from helpers import demo_recipient, sops_encrypt


def storage_labels(repo, release: str) -> dict[int, dict[str, str]]:
    """revision -> the labels of helm's storage Secret of that revision."""
    secrets = repo.kube.list_objects("secrets", release, label_selector=f"owner=helm,name={release}")
    return {int(s["metadata"]["labels"]["version"]): s["metadata"]["labels"] for s in secrets}


def deploy(repo, tmp_path, *args: str) -> dict[str, dict]:
    report = tmp_path / "report.json"
    done = repo.deployer("deploy", "t", "--report", str(report), *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return {r["release"]: r for r in json.loads(report.read_text())["results"]}


def statuses(results: dict[str, dict]) -> dict[str, str]:
    return {name: r["status"] for name, r in results.items()}


def secret_values(path, password: str) -> None:
    path.write_text(f"jupyterhub:\n  hub:\n    config:\n      DummyAuthenticator:\n        password: {password}\n")
    sops_encrypt(path, demo_recipient())


@pytest.mark.e2e
def test_an_unchanged_redeploy_upgrades_nothing_and_a_change_upgrades_only_its_hub(
    kube_cluster, custom_repo, tmp_path, helm_binary
):
    repo = custom_repo(kube_cluster, hubs=[("c", True), ("p1", False), ("p2", False)], secrets={"c": "first-Secret-42"})
    repo.helm = helm_binary
    c, p1, p2 = (repo.hub(n) for n in ("c", "p1", "p2"))
    assert set(statuses(deploy(repo, tmp_path)).values()) == {"deployed"}
    first = {name: storage_labels(repo, name)[1] for name in (c, p1, p2)}
    for labels in first.values():  # the digest is recorded on the release, for the revision helm recorded
        assert len(labels[digest.LABEL]) == digest.LABEL_LENGTH and labels[digest.REVISION_LABEL] == "1"

    summary = tmp_path / "summary.md"
    report = tmp_path / "again.json"
    again = repo.deployer("deploy", "t", "--report", str(report), env=repo.env(GITHUB_STEP_SUMMARY=str(summary)))
    assert again.returncode == 0, again.stderr
    results = json.loads(report.read_text())["results"]
    assert [(r["status"], r["revision"], r["live_revision"], r["error"]) for r in results] == [
        ("unchanged", None, 1, None)
    ] * 3
    assert "0 deployed, 3 unchanged, 0 failed, 0 skipped" in again.stdout
    assert f"{p1}: unchanged (revision 1 has the same inputs), not upgraded" in again.stderr
    assert f"| {p1} | hub | unchanged |  | 1 |" in summary.read_text()
    assert all(len(repo.history(name)) == 1 for name in (c, p1, p2))  # no helm upgrade ran

    own = repo.cluster_dir() / "p1.values.yaml"
    own.write_text(own.read_text().replace("Hub p1", "Hub p1, renamed"))
    results = deploy(repo, tmp_path)
    assert statuses(results) == {c: "unchanged", p1: "deployed", p2: "unchanged"}
    assert results[p1]["revision"] == 2 and storage_labels(repo, p1)[2][digest.REVISION_LABEL] == "2"

    secret_values(repo.cluster_dir() / "enc-c.secret.values.yaml", "second-Secret-43")
    assert statuses(deploy(repo, tmp_path)) == {c: "deployed", p1: "unchanged", p2: "unchanged"}
    revisions = storage_labels(repo, c)
    assert revisions[2][digest.LABEL] != revisions[1][digest.LABEL]
    derived = {hashlib.sha256(s.encode()).hexdigest() for s in ("first-Secret-42", "second-Secret-43")}
    for revision in revisions.values():  # nothing but the digest of all inputs: no clear value, no hash of it alone
        assert {k: v for k, v in revision.items() if k.startswith("deployer.")} == {
            digest.LABEL: revision[digest.LABEL],
            digest.REVISION_LABEL: revision["version"],
        }
        assert not any("Secret-4" in v or v in str(derived) for v in revision.values() if len(v) > 8)


@pytest.mark.e2e
def test_a_chart_change_upgrades_the_hubs_of_that_chart_and_force_upgrades_all(kube_cluster, custom_repo, tmp_path):
    repo = custom_repo(kube_cluster, hubs=[("a", False), ("b", False), ("d", False, "daskhub")])
    a, b, d = (repo.hub(n) for n in ("a", "b", "d"))
    deploy(repo, tmp_path)

    template = repo.root / "helm-charts" / "daskhub" / "templates" / "NOTES.txt"
    template.write_text(template.read_text() + "\n# a change to the daskhub chart\n")
    assert statuses(deploy(repo, tmp_path)) == {a: "unchanged", b: "unchanged", d: "deployed"}

    template = repo.root / "helm-charts" / "basehub" / "templates" / "hub-identity.yaml"
    template.write_text(template.read_text() + "\n# a change to basehub: daskhub's dependency too\n")
    assert statuses(deploy(repo, tmp_path)) == {a: "deployed", b: "deployed", d: "deployed"}
    assert statuses(deploy(repo, tmp_path)) == {a: "unchanged", b: "unchanged", d: "unchanged"}

    forced = deploy(repo, tmp_path, "--force-upgrade")
    assert statuses(forced) == {a: "deployed", b: "deployed", d: "deployed"}
    assert [forced[n]["revision"] for n in (a, b, d)] == [3, 3, 4]


@pytest.mark.e2e
def test_a_failed_or_pending_latest_revision_is_upgraded_never_unchanged(kube_cluster, custom_repo, tmp_path):
    repo = custom_repo(kube_cluster, hubs=[("f", False), ("h", False)])
    f, h = repo.hub("f"), repo.hub("h")
    deploy(repo, tmp_path)

    own = repo.cluster_dir() / "f.values.yaml"
    before = own.read_text()
    own.write_text(before.replace("Hub f", "Hub f, renamed"))
    kube_cluster.inject_error(500, verb="patch", namespace=f, resource="configmaps", message="injected: upgrade fails")
    failing = repo.deployer("deploy", "t")
    assert failing.returncode == 1, failing.stderr
    kube_cluster.clear_errors()
    assert repo.history(f)[-1]["status"] == "failed"
    own.write_text(before)  # the inputs of the deployed revision 1 again, but the latest revision failed
    results = deploy(repo, tmp_path)
    assert statuses(results) == {f: "deployed", h: "unchanged"} and results[f]["revision"] == 3

    # a helm upgrade by hand (here interrupted: pending), then rolled back: helm copies the old revision's labels
    repo.leave_pending(h)
    stuck = repo.deployer("deploy", "t", h)
    assert stuck.returncode == 1 and "stuck in status pending-upgrade" in stuck.stderr
    kube_cluster.helm("rollback", h, "1", "-n", h)
    assert storage_labels(repo, h)[3][digest.REVISION_LABEL] == "1"  # revision 3 carries revision 1's digest
    assert statuses(deploy(repo, tmp_path, h)) == {h: "deployed"}  # not trusted: the digest is for revision 1


def test_the_gate_counts_unchanged_as_deployed_but_not_over_a_failure():
    plan = Rollout(
        support=(SupportLeg("c", "gcp", "r"),),
        canary=(HubLeg("c", "gcp", ("staging",), "r"),),
        prod=(HubLeg("c", "gcp", ("p1",), "r"),),
    )

    def report(*results: tuple[str, str, str]) -> dict:
        return {"cluster": "c", "results": [{"release": r, "kind": k, "status": s} for r, k, s in results]}

    ok = [report(("support", "support", "unchanged"), ("staging", "hub", "unchanged"))]
    assert [leg.hubs for leg in gate(plan, "prod", read_outcomes(ok)).allowed] == [("p1",)]
    worse = [*ok, report(("staging", "hub", "failed"))]
    assert gate(plan, "prod", read_outcomes(worse)).blocked[0][1] == "canary staging failed"
    assert read_outcomes([*ok, report(("support", "support", "failed"))]).support == {"c": "failed"}


def _tgz(members: dict[str, bytes], mtime: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), mtime
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_a_rebuilt_dependency_archive_has_the_same_digest_and_a_changed_one_not():
    members = {"basehub/Chart.yaml": b"name: basehub\n", "basehub/templates/a.yaml": b"kind: ConfigMap\n"}
    one, rebuilt = _tgz(members, 1), _tgz(members, 2)
    assert one != rebuilt  # helm packages a file:// dependency afresh on every build
    chart = [("Chart.yaml", b"name: daskhub\n")]
    assert digest.chart_digest([*chart, ("charts/basehub-0.1.0.tgz", one)]) == digest.chart_digest(
        [*chart, ("charts/basehub-0.1.0.tgz", rebuilt)]
    )
    changed = _tgz({**members, "basehub/templates/a.yaml": b"kind: Secret\n"}, 1)
    assert digest.chart_digest([*chart, ("charts/basehub-0.1.0.tgz", one)]) != digest.chart_digest(
        [*chart, ("charts/basehub-0.1.0.tgz", changed)]
    )


def test_the_digest_follows_values_order_and_shape_and_ignores_vcs_files(tmp_path):
    chart = digest.chart_digest([("Chart.yaml", b"x")])
    shape = ["upgrade", "--install", "r", "helm-charts/basehub", "--namespace", "r", "--create-namespace"]
    base = digest.release_digest(chart, [b"a: 1\n", b"a: 2\n"], shape)
    assert base != digest.release_digest(chart, [b"a: 2\n", b"a: 1\n"], shape)  # helm's order decides
    assert base != digest.release_digest(chart, [b"a: 1\na: 2\n"], shape)  # files are framed, not concatenated
    assert base != digest.release_digest(chart, [b"a: 1\n", b"a: 2\n"], [*shape[:-2], "other", shape[-1]])
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "a.yaml").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    assert [p for p, _ in digest.chart_files(tmp_path)] == ["templates/a.yaml"]


def test_only_a_deployed_latest_revision_recording_the_digest_for_itself_is_unchanged():
    mine = digest.labels("ab" * 32, 2)
    assert mine == {digest.LABEL: "ab" * 28, digest.REVISION_LABEL: "2"}  # a label value is at most 63 characters
    one = {**digest.labels("ab" * 32, 1), "version": "1", "status": "superseded"}
    two = {**mine, "version": "2", "status": "deployed"}
    assert digest.unchanged("ab" * 32, [one, two]) == 2
    assert digest.unchanged("cd" * 32, [one, two]) is None  # other inputs
    assert digest.unchanged("ab" * 32, []) is None  # never installed
    for status in ("failed", "pending-upgrade", "pending-install", "superseded"):
        assert digest.unchanged("ab" * 32, [one, {**two, "status": status}]) is None
    by_hand = {**two, "version": "3"}  # helm copied revision 2's labels to a revision it made without the deployer
    assert digest.unchanged("ab" * 32, [one, {**two, "status": "superseded"}, by_hand]) is None


def test_the_labels_go_on_the_upgrade_command_line_only_when_given():
    from deployer import helm_argv

    plain = helm_argv.upgrade_args("h", "helm-charts/basehub", namespace="h", values_files=["a.yaml"], major=4)
    labelled = helm_argv.upgrade_args(
        "h", "helm-charts/basehub", namespace="h", values_files=["a.yaml"], major=4, labels=digest.labels("ab" * 32, 3)
    )
    assert "--labels" not in plain
    assert labelled == [*plain[:9], "--labels", f"deployer.digest={'ab' * 28},deployer.revision=3", *plain[9:]]
