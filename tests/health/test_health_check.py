"""``deployer health-check`` against REAL JupyterHubs (the ``jupyterhub`` fixtures: real hub, real
configurable-http-proxy, real jupyter_server and kernels), run through the CLI entry point."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
from pytest_realhub import running_hub

STEPS = ["hub-api", "user", "spawn", "proxy", "kernel", "stop", "remove-user"]
FAILING_SERVER = [sys.executable, "-c", "import sys; sys.exit('this single-user server is broken on purpose')"]
SLOW_SERVER = [sys.executable, "-c", "import time; time.sleep(30)"]
READER_TOKEN = "reader-token-0123456789"


@pytest.fixture(scope="module")
def odd_hub(tmp_path_factory):
    """One hub whose spawner misbehaves by user name (one hub instead of one per case: each costs ~3 s).

    broken-*: the server command exits at once; slow-*: it takes 30 s to come up; flaky-*: it fails the first
    time only (like a node still pulling the image); any other name gets a working server. It also has a
    service ``reader`` whose token lacks the scopes the health check needs."""
    tmp = tmp_path_factory.mktemp("odd-hub")
    misbehave = f"""
import pathlib

def misbehave(spawner):
    name = spawner.user.name
    failed_once = pathlib.Path({str(tmp)!r}) / (name + ".failed-once")
    if name.startswith("broken-"):
        spawner.cmd, spawner.http_timeout = {FAILING_SERVER!r}, 4
    elif name.startswith("slow-"):
        spawner.cmd, spawner.http_timeout = {SLOW_SERVER!r}, 60
    elif name.startswith("flaky-") and not failed_once.exists():
        failed_once.touch()
        spawner.cmd, spawner.http_timeout = {FAILING_SERVER!r}, 3

c.Spawner.pre_spawn_hook = misbehave
"""
    with running_hub(
        tmp / "hub",
        extra_config=misbehave,
        services=[{"name": "reader", "api_token": READER_TOKEN}],
        roles=[{"name": "reader", "scopes": ["read:hub", "list:users"], "services": ["reader"]}],
    ) as hub:
        yield hub


def check(cli, hub, *args: str, tmp_path: Path, token: str | None = None, env: dict[str, str] | None = None):
    """Run the CLI's health check on ``hub`` with a report file; returns (result, report dict or None)."""
    report = tmp_path / "reports" / "health.json"  # a folder that does not exist yet, as in the workflow
    result = cli(
        "health-check",
        "c1",
        "h1",
        "--url",
        hub.url,
        "--token",
        token or hub.token,
        "--report",
        str(report),
        *args,
        env=env,
    )
    return result, (json.loads(report.read_text()) if report.exists() else None)


def user_exists(hub, name: str) -> bool:
    return hub.api.get(f"users/{name}").status_code == 200


def test_healthy_hub_passes_every_step_and_reports_them(cli, jupyterhub_session, tmp_path):
    hub = jupyterhub_session
    name = hub.unique_user("hc")
    before = hub.pids()
    result, report = check(cli, hub, "--user", name, tmp_path=tmp_path)

    assert result.code == 0, result.output
    assert "c1/h1 is healthy" in result.out
    assert report["healthy"] is True and report["cluster"] == "c1" and report["hub"] == "h1"
    assert report["hub_version"].split(".")[0].isdigit() and report["failed_step"] is None
    assert [s["name"] for s in report["steps"]] == STEPS
    assert all(s["ok"] and s["seconds"] >= 0 and s["message"] for s in report["steps"])
    messages = {s["name"]: s["message"] for s in report["steps"]}
    assert messages["kernel"] == "1 + 1 = 2 in kernel python3"
    assert f"/user/{name}/" in messages["spawn"] and "jupyter_server" in messages["proxy"]
    assert len(report["attempts"]) == 1
    # it cleaned up: the user is gone and no server process is left
    assert not user_exists(hub, name)
    assert hub.pids() == before


def test_broken_spawner_fails_at_spawn_with_the_hubs_message_and_cleans_up(cli, odd_hub, tmp_path):
    hub = odd_hub
    name = hub.unique_user("broken")
    result, report = check(cli, hub, "--user", name, tmp_path=tmp_path)

    assert result.code == 1, result.output
    assert "c1/h1 is unhealthy: step 'spawn' failed: Spawn failed:" in result.err
    assert "Traceback" not in result.output
    assert report["healthy"] is False and report["failed_step"] == "spawn"
    spawn = next(s for s in report["steps"] if s["name"] == "spawn")
    assert not spawn["ok"] and spawn["message"].startswith("Spawn failed: ")
    assert "didn't respond in 4 seconds" in spawn["message"]  # the hub's own words, from its progress stream
    # the steps after the failure did not run; clean-up did, and worked
    assert [s["name"] for s in report["steps"]] == ["hub-api", "user", "spawn", "stop", "remove-user"]
    assert [s.get("cleanup", False) for s in report["steps"][-2:]] == [True, True]
    assert all(s["ok"] for s in report["steps"][-2:])
    assert not user_exists(hub, name)


def test_wrong_token_is_bad_input_with_a_clear_message(cli, jupyterhub_session, tmp_path):
    hub = jupyterhub_session
    result, report = check(cli, hub, tmp_path=tmp_path, token="not-the-token")

    assert result.code == 2, result.output
    assert f"the hub at {hub.url} refused the API token (HTTP 403)" in result.err
    assert "Traceback" not in result.output
    assert report["healthy"] is False and report["failed_step"] == "setup"
    assert report["steps"][0]["name"] == "setup" and "refused the API token" in report["steps"][0]["message"]


def test_token_without_the_needed_scopes_is_bad_input(cli, odd_hub, tmp_path):
    result, _ = check(cli, odd_hub, tmp_path=tmp_path, token=READER_TOKEN)
    assert result.code == 2, result.output
    assert (
        "(service reader) lacks the scopes the health check needs: admin:users, admin:servers, access:servers"
        in result.err
    )


def test_leftover_user_from_a_crashed_run_is_reused_cleaned_and_passes(cli, jupyterhub_session, tmp_path):
    hub = jupyterhub_session
    name = hub.unique_user("crashed")
    hub.start_server(name)  # what a run killed after its spawn leaves behind: the user, with a running server
    result, report = check(cli, hub, "--user", name, tmp_path=tmp_path)

    assert result.code == 0, result.output
    user_step = report["steps"][1]
    assert user_step == {**user_step, "name": "user", "ok": True}
    assert "reused user" in user_step["message"] and "stopped its leftover server" in user_step["message"]
    assert [s["name"] for s in report["steps"]] == STEPS
    assert not user_exists(hub, name)


def test_attempts_retry_a_flaky_spawn(cli, odd_hub, tmp_path):
    result, report = check(cli, odd_hub, "--attempts", "2", "--user", odd_hub.unique_user("flaky"), tmp_path=tmp_path)
    assert result.code == 0, result.output
    first, second = report["attempts"]
    assert first["healthy"] is False and second["healthy"] is True
    assert [s["name"] for s in first["steps"]] == ["hub-api", "user", "spawn", "stop", "remove-user"]
    assert report["steps"] == second["steps"] and [s["name"] for s in report["steps"]] == STEPS
    assert "[attempt 1] FAIL spawn" in result.err and "[attempt 2] ok   kernel" in result.err


def test_unreachable_hub_is_unhealthy_after_every_attempt(cli, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    report = tmp_path / "reports" / "health.json"  # a folder that does not exist yet, as in the workflow
    result = cli(
        "health-check",
        "c1",
        "h1",
        "--url",
        f"http://127.0.0.1:{port}/",
        "--token",
        "t",
        "--attempts",
        "2",
        "--timeout",
        "5",
        "--report",
        str(report),
    )
    assert result.code == 1, result.output
    data = json.loads(report.read_text())
    assert [a["healthy"] for a in data["attempts"]] == [False, False]
    assert data["failed_step"] == "hub-api" and "the hub does not answer" in data["message"]
    assert "Connection refused" in data["message"]


def test_timeout_limits_an_attempt(cli, odd_hub, tmp_path):
    # the server takes 30 s to come up; an attempt of 6 s gives up waiting for it, and still cleans up
    name = odd_hub.unique_user("slow")
    result, report = check(cli, odd_hub, "--timeout", "6", "--user", name, tmp_path=tmp_path)
    assert result.code == 1, result.output
    spawn = next(s for s in report["steps"] if s["name"] == "spawn")
    assert not spawn["ok"] and "not ready in time" in spawn["message"] and spawn["seconds"] <= 6.5
    assert [s["name"] for s in report["steps"] if s.get("cleanup")] == ["stop", "remove-user"]
    assert all(s["ok"] for s in report["steps"] if s.get("cleanup"))
    assert not user_exists(odd_hub, name)


def test_bad_url_is_bad_input(cli):
    result = cli("health-check", "c1", "h1", "--url", "ftp://example.org/", "--token", "t")
    assert result.code == 2 and "bad hub URL" in result.err


@pytest.mark.parametrize(
    "variable, value, words",
    [
        ("SSL_CERT_FILE", "missing.pem", "cannot be used (No such file or directory): name a PEM file"),
        ("SSL_CERT_FILE", "not-pem.txt", "cannot be used (NO_CERTIFICATE_OR_CRL_FOUND): name a PEM file"),
        ("SSL_CERT_FILE", ".", "cannot be used (Is a directory): name a PEM file"),
        ("SSL_CERT_DIR", "not-pem.txt", "is not a folder: name the folder of CA certificates"),
    ],
)
def test_an_unusable_ca_variable_is_bad_input_for_https_only(cli, tmp_path, variable, value, words):
    (tmp_path / "not-pem.txt").write_text("not a certificate\n")
    env = {variable: str(tmp_path / value)}
    https = cli("health-check", "c1", "h1", "--url", "https://127.0.0.1:9/", "--token", "t", env=env)
    assert https.code == 2, https.output
    assert https.err.startswith(f"{variable}={tmp_path / value} {words}") and "or unset it" in https.err, https.err
    # an http:// hub needs no TLS context: the variable is not read, the check runs (and finds nothing there)
    http = cli("health-check", "c1", "h1", "--url", "http://127.0.0.1:9/", "--token", "t", "--timeout", "2", env=env)
    assert http.code == 1 and "c1/h1 is unhealthy: step 'hub-api' failed" in http.err, http.output
    assert "Traceback" not in https.output + http.output


def test_https_hub_with_its_certificate_checked(cli, jupyterhub, tmp_path):
    # production hubs are https: the REST calls, the progress stream and the kernel's wss:// all go through TLS
    hub = jupyterhub(tls=True)
    assert hub.url.startswith("https://127.0.0.1:")
    untrusted, report = check(cli, hub, tmp_path=tmp_path)
    assert untrusted.code == 1 and "CERTIFICATE_VERIFY_FAILED" in report["message"], untrusted.output

    # OpenSSL's own way to trust another CA, read from the run's environment
    result, report = check(cli, hub, tmp_path=tmp_path, env={"SSL_CERT_FILE": str(hub.ca_file)})
    assert result.code == 0, result.output
    assert f"answers at {hub.url}user/" in report["steps"][3]["message"]
    assert report["steps"][4]["message"] == "1 + 1 = 2 in kernel python3"
