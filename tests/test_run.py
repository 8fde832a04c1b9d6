"""deployer.run.Runner: the one subprocess choke point, with real child processes."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time

import pytest

from deployer.errors import CommandError
from deployer.run import REDACTED, Cancelled, Redactor, Runner

PY = sys.executable


def test_child_gets_exactly_the_environment_given(monkeypatch) -> None:
    monkeypatch.setenv("DEPLOYER_TEST_AMBIENT", "leaks")
    done = Runner().run([PY, "-c", "import os, json; print(json.dumps(dict(os.environ)))"], env={"ONLY": "this"})
    import json

    seen = json.loads(done.stdout)
    assert seen.get("ONLY") == "this"
    assert "DEPLOYER_TEST_AMBIENT" not in seen


def test_cwd_timing_and_records(tmp_path) -> None:
    runner = Runner()
    done = runner.run([PY, "-c", "import os; print(os.getcwd())"], env={}, cwd=tmp_path)
    assert done.stdout.strip() == str(tmp_path)
    assert done.returncode == 0 and done.seconds > 0
    assert runner.records[-1].argv[0] == PY and runner.records[-1].returncode == 0


def test_failure_raises_command_error_with_secrets_redacted() -> None:
    secret = "s3cr3t-Marker-99"
    runner = Runner(redactor=Redactor([secret]))
    lines: list[str] = []
    runner.log = lines.append
    script = f"import sys; sys.stderr.write('bad value {secret}\\n'); sys.exit(3)"
    with pytest.raises(CommandError) as info:
        runner.run([PY, "-c", script, "--token", secret], env={})
    error = info.value
    assert error.returncode == 3
    assert secret not in error.render() and secret not in " ".join(error.argv)
    assert f"bad value {REDACTED}" in error.stderr
    assert lines and secret not in lines[0] and REDACTED in lines[0]
    assert all(secret not in " ".join(r.argv) for r in runner.records)


def test_check_false_returns_the_result() -> None:
    done = Runner().run([PY, "-c", "import sys; print('out'); sys.exit(2)"], env={}, check=False)
    assert (done.returncode, done.stdout.strip()) == (2, "out")


def test_missing_binary_is_a_command_error() -> None:
    with pytest.raises(CommandError) as info:
        Runner().run(["/nonexistent/helm", "version"], env={})
    assert info.value.returncode == 127


def test_redactor_learns_the_leaves_of_a_decrypted_file_and_their_base64() -> None:
    redactor = Redactor()
    redactor.add_tree({"a": {"password": "hunter2-long"}, "n": [1234567, True, "x"], "sops": {"mac": "ENC[keep]"}})
    text = f"pw=hunter2-long b64={base64.b64encode(b'hunter2-long').decode()} n=1234567 short=x mac=ENC[keep]"
    assert redactor(text) == f"pw={REDACTED} b64={REDACTED} n={REDACTED} short=x mac=ENC[keep]"


def test_cancel_terminates_live_children_and_refuses_new_ones() -> None:
    runner = Runner(grace=5)
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            runner.run([PY, "-c", "import time; time.sleep(60)"], env={})
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 10
    while not runner._live and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    runner.cancel()
    thread.join(10)
    assert time.monotonic() - started < 5
    assert isinstance(outcome[0], Cancelled)
    with pytest.raises(Cancelled):
        runner.run([PY, "-c", "pass"], env={})


def test_timeout_stops_the_child() -> None:
    with pytest.raises(CommandError) as info:
        Runner(grace=2).run([PY, "-c", "import time; time.sleep(30)"], env={}, timeout=0.5)
    assert "stopped by the deployer after 0.5 s" in info.value.stderr


def test_cancel_racing_a_start_still_stops_that_child(monkeypatch) -> None:
    # cancel() lands after run() checked the flag and started the child, before the child was tracked
    import deployer.run as run_module

    runner = Runner(grace=2)
    real_popen = subprocess.Popen

    def popen_then_cancel(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        canceller = threading.Thread(target=runner.cancel)
        canceller.start()
        canceller.join()
        return proc

    monkeypatch.setattr(run_module.subprocess, "Popen", popen_then_cancel)
    start = time.monotonic()
    with pytest.raises(Cancelled):
        runner.run(["sleep", "30"], env={"PATH": os.environ["PATH"]})
    assert time.monotonic() - start < 10
