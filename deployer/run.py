"""``Runner``: the one place the deployer runs subprocesses (helm, sops, the credentials helper, a user's command).

Contract:

- ``Runner.run(argv, env=..., cwd=...)`` runs ``argv`` with exactly the environment given (never ``os.environ``
  implicitly), captures stdout and stderr as text (stdout as bytes with ``binary=True``: decrypted files), times
  it, and returns a ``Completed``. With ``check=True`` (the default) a non-zero exit raises ``CommandError`` whose
  argv and stderr are redacted. With ``timeout`` the child is stopped when it runs longer (``Completed.timed_out``).
  A command that cannot be started raises ``CommandError`` with exit code 127.
- ``Runner.interactive(argv, env=...)`` runs a command on the deployer's own terminal (stdin, stdout and stderr
  inherited) and returns its exit code (128 + N when signal N ended it, as shells report it). Ctrl-C reaches the
  command too (the terminal sends it to both), so the runner keeps waiting and the command decides whether to end;
  any other interruption (SIGTERM turned into an exception, ``cancel()``) stops it.
- Redaction: a ``Redactor`` (``deployer.redact``, re-exported here) holds the secret values known to this run (the
  leaves of every decrypted values file, added as they are decrypted) and matches each in every encoding helm and
  Kubernetes print (quoted, escaped, base64); everything the runner logs or raises passes through it.
  The ``Completed`` it returns is NOT redacted (callers parse helm's output); callers redact what they show.
- ``log`` (optional) receives one redacted line per command as it ends: ``$ argv (0.31 s, exit 0)``.
- ``records``: (redacted argv, seconds, exit code) of every command run, for reports and benchmarks.
- Interruption: ``cancel()`` makes further ``run`` calls raise ``Cancelled`` and sends SIGTERM to every live
  child (SIGKILL after a grace period), so that helm can mark its release failed instead of leaving it pending.
  A ``run`` interrupted in the calling thread (Ctrl-C, or SIGTERM turned into an exception) terminates its child
  before the exception propagates. Stopping is always SIGTERM, then SIGKILL after ``grace`` seconds.
- Process groups: a ``run`` child starts in its own session, so stopping it (timeout, ``cancel()``, an exception)
  signals its whole process group: grandchildren that hold its pipes (an exec plugin running gcloud) are stopped
  too, and a stopped ``run`` returns within about ``grace`` seconds even then (pipes still held by a process that
  left the group are closed; what it would have written is lost). An ``interactive`` child stays in the
  terminal's foreground process group, so that Ctrl-C reaches it as under a shell.

Thread-safe: deploys run several releases at once from one runner.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.errors import CommandError, DeployerError
from deployer.redact import REDACTED as REDACTED, Redactor as Redactor

POLL = 0.25  # seconds between checks for cancel() while a run() child is running


class Cancelled(DeployerError):
    """The run was interrupted; no new command is started."""


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str  # "" with binary=True
    stderr: str
    seconds: float
    timed_out: bool = False  # stopped by the runner after ``timeout`` seconds
    stdout_bytes: bytes = b""  # with binary=True: stdout exactly as written


@dataclass(frozen=True)
class CommandRecord:
    argv: tuple[str, ...]  # redacted
    seconds: float
    returncode: int


@dataclass
class Runner:
    """Runs subprocesses for one deployer run; see the module docstring."""

    redactor: Redactor = field(default_factory=Redactor)
    log: Callable[[str], None] | None = None
    grace: float = 10.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[subprocess.Popen[Any], bool] = {}  # live children -> started in a process group of their own
        self._cancelled = threading.Event()
        self.records: list[CommandRecord] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | str | None = None,
        check: bool = True,
        timeout: float | None = None,
        binary: bool = False,
    ) -> Completed:
        argv = tuple(str(a) for a in argv)
        start = time.monotonic()
        proc = self._start(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=not binary,
            errors=None if binary else "replace",
            start_new_session=True,  # its own process group: stopping it stops its grandchildren too
        )
        try:
            out, err, timed_out = self._collect(proc, None if timeout is None else start + timeout)
        except BaseException:  # Ctrl-C / SIGTERM in this thread: never leave the child running
            _stop_group(proc, self.grace)
            raise
        finally:
            self._forget(proc)
        # None: the output was lost (see _stop_group)
        stdout: str = "" if binary else out or ""
        stdout_bytes: bytes = (out or b"") if binary else b""
        stderr: str = (err or b"").decode(errors="replace") if binary else err or ""
        if timed_out:
            stderr += f"\n(stopped by the deployer after {timeout:g} s)"
        seconds = time.monotonic() - start
        shown = self._record(argv, seconds, proc.returncode)
        if self.cancelled and proc.returncode != 0:
            raise Cancelled(f"interrupted: {' '.join(shown[:3])} was stopped")
        if check and proc.returncode != 0:
            raise CommandError(list(shown), proc.returncode, self.redactor(stderr or stdout))
        return Completed(argv, proc.returncode, stdout, stderr, seconds, timed_out, stdout_bytes)

    def interactive(self, argv: Sequence[str], *, env: Mapping[str, str]) -> int:
        """Run ``argv`` on the inherited terminal and return its exit code (see the module docstring)."""
        argv = tuple(str(a) for a in argv)
        start = time.monotonic()
        proc = self._start(argv, env=env, cwd=None)
        with _ignoring_sigint():  # the command got Ctrl-C too; it decides whether to end, as under a shell
            try:
                code = proc.wait()
            except BaseException:
                _stop(proc, self.grace)
                raise
            finally:
                self._forget(proc)
        shown = self._record(argv, time.monotonic() - start, code)
        if self.cancelled and code != 0:
            raise Cancelled(f"interrupted: {' '.join(shown[:3])} was stopped")
        return 128 - code if code < 0 else code  # killed by signal N: 128 + N

    def _collect(self, proc: subprocess.Popen[Any], deadline: float | None) -> tuple[Any, Any, bool]:
        """(stdout, stderr, timed out) of a ``run`` child; its group is stopped at ``deadline`` or on ``cancel()``.

        Waits in short slices (``communicate`` keeps what it read across them) so that a cancel is noticed even
        when a grandchild holds the pipes after ``cancel()`` stopped the child itself.
        """
        while True:
            left = POLL if deadline is None else min(POLL, max(0.0, deadline - time.monotonic()))
            try:
                out, err = proc.communicate(timeout=left)
                return out, err, False
            except subprocess.TimeoutExpired:
                timed_out = deadline is not None and time.monotonic() >= deadline
                if timed_out or self.cancelled:
                    out, err = _stop_group(proc, self.grace)
                    return out, err, timed_out

    def _start(
        self, argv: tuple[str, ...], *, env: Mapping[str, str], cwd: Path | str | None, **popen: Any
    ) -> subprocess.Popen[Any]:
        """Start a child and track it for ``cancel()``; refuse once cancelled."""
        if self.cancelled:
            raise Cancelled("interrupted: not starting " + " ".join(self.redactor.argv(argv[:2])))
        try:
            proc = subprocess.Popen(argv, env=dict(env), cwd=cwd, **popen)
        except OSError as exc:
            raise CommandError(self.redactor.argv(argv), 127, f"cannot run {argv[0]}: {exc.strerror}") from None
        grouped = bool(popen.get("start_new_session"))
        with self._lock:
            self._live[proc] = grouped
            late = self._cancelled.is_set()  # cancel() ran between the check above and here: it missed this child
        if late:
            _signal(proc, signal.SIGTERM, group=grouped)
        return proc

    def _forget(self, proc: subprocess.Popen[Any]) -> None:
        with self._lock:
            self._live.pop(proc, None)

    def _record(self, argv: tuple[str, ...], seconds: float, returncode: int) -> tuple[str, ...]:
        """Record and log (redacted) one finished command; return its redacted argv."""
        shown = tuple(self.redactor.argv(argv))
        with self._lock:
            self.records.append(CommandRecord(shown, seconds, returncode))
        if self.log is not None:
            self.log(f"$ {' '.join(shown)} ({seconds:.2f} s, exit {returncode})")
        return shown

    def error(self, done: Completed) -> CommandError:
        """The ``CommandError`` (redacted) for a command run with ``check=False`` that failed."""
        return CommandError(self.redactor.argv(done.argv), done.returncode, self.redactor(done.stderr or done.stdout))

    def cancel(self) -> None:
        """Start no new command and terminate the live ones (SIGTERM, then SIGKILL after ``grace``)."""
        with self._lock:  # set under the lock, so that run() either sees it or has its child in _live
            self._cancelled.set()
            live = dict(self._live)
        for proc, grouped in live.items():
            _signal(proc, signal.SIGTERM, group=grouped)
        # wait for the threads running ``run`` children to let go of them rather than reap them here: reaping would
        # free a child's pid, and so its process group's id, while its thread may still signal the group
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline:
            with self._lock:
                left = [proc for proc in live if proc in self._live and (live[proc] or proc.poll() is None)]
            if not left:
                return
            time.sleep(0.05)
        for proc in left:
            _signal(proc, signal.SIGKILL, group=live[proc])


@contextlib.contextmanager
def _ignoring_sigint() -> Iterator[None]:
    """Ignore SIGINT in this process while a foreground command runs (the terminal sends it to both), as shells do.

    Ignoring it, rather than catching ``KeyboardInterrupt`` around ``wait()``, matters: an exception raised between
    the reaping of the child and the recording of its status loses the status (a later ``wait()`` reports 0).
    Only the main thread may change signal handlers; elsewhere SIGINT never arrives anyway.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _signal(proc: subprocess.Popen[Any], signum: int, *, group: bool = False) -> None:
    """Signal ``proc``, or with ``group`` every process in its process group (grandchildren included)."""
    with contextlib.suppress(OSError):  # ProcessLookupError included: the child (or the group) is gone already
        if not group:
            proc.send_signal(signum)
        elif proc.returncode is None:  # not reaped: its pid, the group's id, cannot have been reused
            os.killpg(proc.pid, signum)


def _stop_group(proc: subprocess.Popen[Any], grace: float) -> tuple[Any, Any]:
    """Stop a ``run`` child and its process group and return the output read: SIGTERM to the group; SIGKILL to
    the group when its pipes are still held after ``grace`` seconds; then, should a process outside the group
    still hold them, close them rather than wait (and return ``(None, None)``: the output is lost). Returns within
    about ``grace`` seconds."""
    _signal(proc, signal.SIGTERM, group=True)
    try:
        return proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal(proc, signal.SIGKILL, group=True)
    try:
        return proc.communicate(timeout=min(grace, 1.0))
    except subprocess.TimeoutExpired:  # a process that left the group holds the pipes: stop reading them
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()  # the child itself got SIGKILL
        return None, None


def _stop(proc: subprocess.Popen[Any], grace: float) -> None:
    if proc.poll() is not None:
        return
    _signal(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal(proc, signal.SIGKILL)
        proc.wait()
