"""What deploys show: the report (JSON, table, markdown), the progress lines, and the dry run's shell words (pure;
no cluster). The dry run's access commands are in tests/auth/test_manual.py."""

from __future__ import annotations

import io
import json

import pytest

from deployer.deploy.engine import Event
from deployer.deploy.jobs import Job
from deployer.deploy.report import ReleaseResult, Report
from deployer.shellwords import Raw, shell_join

REPORT = Report(
    "c1",
    [
        ReleaseResult("support", "support", "deployed", 4, 1.234, live_revision=4),
        ReleaseResult("staging", "hub", "failed", 2, 30.5, "Error: UPGRADE FAILED: timed out\nmore", live_revision=1),
        ReleaseResult("prod", "hub", "skipped", None, 0.0, "not deployed because canary 'staging' failed"),
    ],
    seconds=33.0,
)


def test_report_json_is_exactly_the_gates_format() -> None:
    data = json.loads(REPORT.to_json())
    assert data == {
        "cluster": "c1",
        "results": [
            {
                "release": "support",
                "kind": "support",
                "status": "deployed",
                "revision": 4,
                "live_revision": 4,
                "seconds": 1.23,
                "error": None,
            },
            {
                "release": "staging",
                "kind": "hub",
                "status": "failed",
                "revision": 2,
                "live_revision": 1,
                "seconds": 30.5,
                "error": "Error: UPGRADE FAILED: timed out\nmore",
            },
            {
                "release": "prod",
                "kind": "hub",
                "status": "skipped",
                "revision": None,
                "live_revision": None,
                "seconds": 0.0,
                "error": "not deployed because canary 'staging' failed",
            },
        ],
    }
    failure = REPORT.failure()
    assert not REPORT.ok and failure is not None and failure.exit_code == 1
    assert Report("c1", [REPORT.results[0]]).failure() is None


def test_table_and_markdown() -> None:
    table = REPORT.table().splitlines()
    assert table[0].split() == ["RELEASE", "KIND", "STATUS", "REVISION", "LIVE", "SECONDS"]
    assert table[2].split() == ["staging", "hub", "failed", "2", "1", "30.5"]
    assert table[3].split() == ["prod", "hub", "skipped", "0.0"]
    assert table[-1] == "cluster c1: 1 deployed, 1 failed, 1 skipped in 33.0 s"
    md = REPORT.markdown()
    assert "| support | support | deployed | 4 | 4 | 1.2 |" in md
    assert "- `staging` failed: Error: UPGRADE FAILED: timed out" in md


def test_a_failure_before_any_revision_shows_none_attempted_and_the_live_one() -> None:
    refused = Report("c1", [ReleaseResult("h", "hub", "failed", None, 1.0, "values don't meet the schema", 3)])
    assert refused.to_dict()["results"][0] | {"error": ""} == {
        "release": "h",
        "kind": "hub",
        "status": "failed",
        "revision": None,
        "live_revision": 3,
        "seconds": 1.0,
        "error": "",
    }
    header, row = refused.table().splitlines()[:2]
    assert row[header.index("REVISION") : header.index("LIVE")].strip() == ""
    assert row[header.index("LIVE") : header.index("SECONDS")].strip() == "3"
    assert "| h | hub | failed |  | 3 | 1.0 |" in refused.markdown()


JOB = Job("prod", "hub", "helm-charts/basehub", "prod", ())


@pytest.mark.parametrize("tty", [False, True])
def test_progress_lines(tty) -> None:
    from deployer.cli._deploying import Progress

    stream = io.StringIO()
    progress = Progress(stream, tty=tty)
    progress(Event(JOB))
    progress(Event(JOB, ReleaseResult("prod", "hub", "failed", 3, 2.0, "Error: boom")))
    out = stream.getvalue()
    assert "prod: FAILED after 2.0 s\n    Error: boom\n" in out
    if tty:
        assert "\r\033[K" in out and "deploying: prod (0 done)" in out
    else:
        assert out.splitlines()[0] == "prod: deploying (hub, chart helm-charts/basehub, namespace prod)"
        assert "\033" not in out


def test_shell_join_quotes_all_but_raw_words() -> None:
    assert shell_join(["helm", "a b", "$HOME", Raw("<(sops --decrypt f)")]) == "helm 'a b' '$HOME' <(sops --decrypt f)"
