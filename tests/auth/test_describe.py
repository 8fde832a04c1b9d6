"""The describe child (``python -m deployer.auth.plugin describe``) runs through the caller's Runner: logged,
stopped at its timeout, and stopped by ``cancel()``."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from deployer.auth import gcp
from deployer.auth._base import STATE, State, _describe
from deployer.errors import AuthError
from deployer.run import Cancelled, Runner
from helpers import in_background, run_deployer


@pytest.fixture
def silent_endpoint():
    """A TCP port that accepts connections and never answers (a black-holed API endpoint)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def gke_state(repo, env, folder) -> State:
    cluster = repo.cluster("gke-adc")
    state = State(folder=folder, provider="gcp", cluster=cluster.name, settings=gcp.settings(cluster.spec, env))
    (folder / STATE).write_text(json.dumps(state.to_json()))
    return state


def test_describe_is_logged_and_stopped_at_its_timeout(repo, adc_env, tmp_path, silent_endpoint):
    env = {**adc_env, "DEPLOYER_GKE_ENDPOINT": silent_endpoint}
    state = gke_state(repo, env, tmp_path)
    lines: list[str] = []
    runner = Runner(log=lines.append, grace=2)
    start = time.monotonic()
    with pytest.raises(AuthError) as caught:
        _describe(state, env, runner, timeout=3)
    assert time.monotonic() - start < 10
    assert caught.value.kind == "unreachable"
    assert "no answer from the gcp API within 3 s" in caught.value.message
    assert len(lines) == 1 and f"-m deployer.auth.plugin describe {tmp_path} (" in lines[0]
    assert not runner._live


def test_cancel_stops_the_describe_child(repo, adc_env, tmp_path, silent_endpoint):
    env = {**adc_env, "DEPLOYER_GKE_ENDPOINT": silent_endpoint}
    state = gke_state(repo, env, tmp_path)
    runner = Runner(grace=2)
    work = in_background(runner, lambda: _describe(state, env, runner))
    time.sleep(1)  # the child is waiting for the endpoint
    assert work.thread.is_alive(), work.outcome
    started = time.monotonic()
    runner.cancel()
    work.thread.join(10)
    assert not work.thread.is_alive() and time.monotonic() - started < 5
    assert isinstance(work.outcome[0], Cancelled)


# Loaded by every Python child given this PYTHONPATH; acts only in the describe child, as a credentials helper (or
# an SDK inside it) that prints the key it was given: in its answer's message, or on stderr as it crashes.
ECHOING_HELPER = """
import json, os, sys
if sys.orig_argv[-2:-1] == ["describe"]:
    if {in_answer!r}:
        error = {{"message": "rejected client_secret=key-secret for sp-key", "kind": "rejected"}}
        print(json.dumps({{"error": error}}), flush=True)
    print("Traceback ...\\nValueError: bad secret key-secret (client sp-key)", file=sys.stderr, flush=True)
    os._exit(1)
"""


@pytest.mark.parametrize("in_answer", [True, False], ids=["answer-message", "stderr"])
def test_a_describe_failure_never_shows_the_keys_secret(in_answer, repo, base_env, tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(ECHOING_HELPER.format(in_answer=in_answer))
    env = {**base_env, "PYTHONPATH": str(hook)}
    got = run_deployer("use-cluster-credentials", "aks", "--", "true", env=env, cwd=repo.root)
    assert got.returncode in (1, 2) and "Traceback (most recent" not in got.stderr, got.stderr
    shown = "rejected client_secret=*** for sp-key" if in_answer else "ValueError: bad secret *** (client sp-key)"
    assert shown in got.stderr, got.stderr  # the secret is hidden, the identity (client_id) is not
    assert "key-secret" not in got.stderr + got.stdout
