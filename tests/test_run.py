"""deployer.run.Runner: the one subprocess choke point, with real child processes."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from deployer.errors import CommandError
from deployer.run import REDACTED, Cancelled, Redactor, Runner
from helpers import in_background

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
    work = in_background(runner, lambda: runner.run([PY, "-c", "import time; time.sleep(60)"], env={}))
    started = time.monotonic()
    runner.cancel()
    work.thread.join(10)
    assert time.monotonic() - started < 5
    assert isinstance(work.outcome[0], Cancelled)
    with pytest.raises(Cancelled):
        runner.run([PY, "-c", "pass"], env={})


def test_timeout_stops_the_child() -> None:
    with pytest.raises(CommandError) as info:
        Runner(grace=2).run([PY, "-c", "import time; time.sleep(30)"], env={}, timeout=0.5)
    assert "stopped by the deployer after 0.5 s" in info.value.stderr


def test_cancel_racing_a_start_still_stops_that_child(monkeypatch) -> None:
    # cancel() lands after run() checked the flag and started the child, before the child was tracked
    runner = Runner(grace=2)
    real_popen = subprocess.Popen

    def popen_then_cancel(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        canceller = threading.Thread(target=runner.cancel)
        canceller.start()
        canceller.join()
        return proc

    monkeypatch.setattr("deployer.run.subprocess.Popen", popen_then_cancel)
    start = time.monotonic()
    with pytest.raises(Cancelled):
        runner.run(["sleep", "30"], env={"PATH": os.environ["PATH"]})
    assert time.monotonic() - start < 10


def test_timed_out_flag_with_check_false() -> None:
    done = Runner(grace=2).run([PY, "-c", "import time; time.sleep(30)"], env={}, timeout=0.3, check=False)
    assert done.timed_out and done.returncode != 0
    assert not Runner().run([PY, "-c", "pass"], env={}, timeout=10).timed_out


def test_binary_output_is_kept_byte_for_byte() -> None:
    data = b"a\r\nb\rc\x00\xff"
    done = Runner().run([PY, "-c", f"import sys; sys.stdout.buffer.write({data!r})"], env={}, binary=True)
    assert done.stdout_bytes == data and done.stdout == ""


def _gone(pid: int, within: float = 5.0) -> bool:
    """Whether process ``pid`` has ended (a zombie counts: whoever adopted it may not reap it), waiting a little."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_timeout_stops_grandchildren_that_hold_the_pipes(tmp_path) -> None:
    # sh waits for its own sleep; the background sleep (a grandchild) holds stdout and stderr too
    pid_file = tmp_path / "pid"
    script = f"sleep 300 & echo $! > {pid_file}; sleep 300"
    start = time.monotonic()
    done = Runner(grace=1).run(["sh", "-c", script], env={"PATH": os.environ["PATH"]}, timeout=1, check=False)
    assert time.monotonic() - start < 5
    assert done.timed_out and done.returncode != 0
    assert _gone(int(pid_file.read_text()))


def test_timeout_returns_even_when_a_process_outside_the_group_holds_the_pipes(tmp_path) -> None:
    # setsid: the grandchild leaves the child's process group (and session), so signalling the group misses it
    pid_file = tmp_path / "pid"
    script = f"setsid sleep 300 & echo $! > {pid_file}; sleep 300"
    start = time.monotonic()
    try:
        done = Runner(grace=1).run(["sh", "-c", script], env={"PATH": os.environ["PATH"]}, timeout=1, check=False)
        assert time.monotonic() - start < 6
        assert done.timed_out and done.returncode != 0 and done.stdout == ""
    finally:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), 9)  # the escaped sleep this test started


def test_cancel_stops_grandchildren_that_hold_the_pipes(tmp_path) -> None:
    pid_file = tmp_path / "pid"
    runner = Runner(grace=1)
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            # the grandchild ignores SIGTERM: only the SIGKILL to the group after the grace ends it
            script = f"(trap '' TERM; sleep 300) & echo $! > {pid_file}; sleep 300"
            runner.run(["sh", "-c", script], env={"PATH": os.environ["PATH"]})
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 10
    while not (runner._live and pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    runner.cancel()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert isinstance(outcome[0], Cancelled)
    assert _gone(int(pid_file.read_text()))


# -- interactive: a command on the deployer's own terminal ------------------------------------------------------


@pytest.fixture
def sigint_raises():
    """Ctrl-C as KeyboardInterrupt whatever this process inherited (a background job inherits SIGINT ignored)."""
    import signal

    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def test_interactive_inherits_the_terminal_and_returns_the_exit_code(capfd) -> None:
    lines: list[str] = []
    code = Runner(log=lines.append).interactive(
        [PY, "-c", "import os, sys; print('hello', os.environ['ONLY']); sys.exit(7)"], env={"ONLY": "this"}
    )
    assert code == 7
    assert "hello this" in capfd.readouterr().out
    assert re.fullmatch(r"\$ \S+ -c .* \(\d+\.\d\d s, exit 7\)", lines[0])


@pytest.mark.parametrize("signum", [9, 15])
def test_interactive_reports_a_signal_as_128_plus_n(signum) -> None:
    assert Runner().interactive([PY, "-c", f"import os; os.kill(os.getpid(), {signum})"], env={}) == 128 + signum


def test_interactive_keeps_waiting_through_ctrl_c(sigint_raises) -> None:
    # the terminal sends Ctrl-C to the command too; here only the deployer gets it, and the command carries on
    import signal

    timer = threading.Timer(0.3, signal.pthread_kill, args=(threading.main_thread().ident, signal.SIGINT))
    timer.start()
    start = time.monotonic()
    code = Runner().interactive([PY, "-c", "import time, sys; time.sleep(1.5); sys.exit(4)"], env={})
    timer.join()
    assert code == 4 and time.monotonic() - start >= 1.4


class Terminated(Exception):
    pass


def test_interactive_stops_the_command_on_any_other_exception(tmp_path) -> None:
    # SIGTERM turned into an exception (as the CLI does); a command ignoring TERM is killed after the grace
    import signal

    def on_term(signum, frame):
        raise Terminated

    old = signal.signal(signal.SIGTERM, on_term)
    pid_file = tmp_path / "pid"
    script = (
        "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )
    timer = threading.Timer(0.5, signal.pthread_kill, args=(threading.main_thread().ident, signal.SIGTERM))
    try:
        timer.start()
        start = time.monotonic()
        with pytest.raises(Terminated):
            Runner(grace=0.5).interactive([PY, "-c", script], env={})
    finally:
        timer.join()
        signal.signal(signal.SIGTERM, old)
    assert time.monotonic() - start < 10
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_cancel_stops_an_interactive_command() -> None:
    runner = Runner(grace=2)
    work = in_background(runner, lambda: runner.interactive([PY, "-c", "import time; time.sleep(60)"], env={}))
    runner.cancel()
    work.thread.join(10)
    assert isinstance(work.outcome[0], Cancelled)


def test_interactive_missing_command_is_a_command_error() -> None:
    with pytest.raises(CommandError) as info:
        Runner().interactive(["/nonexistent/shell"], env={})
    assert info.value.returncode == 127 and "cannot run /nonexistent/shell" in info.value.stderr
