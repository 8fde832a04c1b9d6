"""The fork server (``python -m pytest_realhub.forkserver``): imports JupyterHub once, then forks one hub per
request, so a hub starts in well under a second instead of paying JupyterHub's ~2 s import each time.

Protocol (one JSON object per line): the client (``launcher.py``) writes ``{"argv", "env", "cwd", "log",
"status"}`` to stdin and reads ``{"pid": N}`` (or ``{"error": "..."}``) from stdout. The forked child is a
complete, separate JupyterHub process: its own session (``setsid``), working folder, environment (replaced
wholesale), ``sys.path`` (``PYTHONPATH`` of the given environment first, as a new interpreter would have it),
and output appended to ``log``. When a child ends, its exit status is written to its ``status`` file (the
client is not its parent, so it cannot wait for it).

When stdin closes -- the test session ended, or its pytest died, even by SIGKILL -- every hub still running is
sent SIGTERM (a hub then stops its proxy, servers and services), then SIGKILL after a grace period, and the
server exits.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import select
import signal
import sys
import time
import types
from typing import Any

GRACE = 10.0
# Modules JupyterHub's dependencies import at start-up but rarely call, with the functions they take from them:
# rfc3987_syntax builds a grammar at import (about 1 s) and is only used by jsonschema to check the "iri" string
# format. Until one of its functions is called, a stand-in module takes its place; the first call (or any other
# attribute) imports the real module, and results are the real ones.
DEFERRED = {"rfc3987_syntax": frozenset({"is_valid_syntax"})}


class _DeferredModule(types.ModuleType):
    """Stands in for a module until something of it is used (see ``DEFERRED``)."""

    def __init__(self, name: str, functions: frozenset[str], spec: importlib.machinery.ModuleSpec):
        super().__init__(name)
        self.__spec__ = spec
        if spec.submodule_search_locations is not None:  # a package, as the import system asks
            self.__path__ = list(spec.submodule_search_locations)
        self._functions = functions

    def _real(self) -> types.ModuleType:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return importlib.import_module(self.__name__)

    def __getattr__(self, attr: str) -> Any:
        if attr not in self._functions:
            return getattr(self._real(), attr)

        def deferred(*args: Any, **kwargs: Any) -> Any:
            return getattr(self._real(), attr)(*args, **kwargs)

        return deferred


def _defer_imports() -> None:
    for name, functions in DEFERRED.items():
        spec = importlib.util.find_spec(name) if name not in sys.modules else None
        if spec is not None:
            sys.modules[name] = _DeferredModule(name, functions, spec)


def _child(request: dict[str, Any]) -> None:
    """Run in the forked child: become the hub described by ``request``; never returns."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, 256)
        os.chdir(request["cwd"])
        os.environ.clear()  # this is the new hub process's own environment, not the test session's
        os.environ.update(request["env"])
        extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [request["cwd"], *extra, *[p for p in sys.path[1:] if p not in extra]]
        sys.argv = list(request["argv"])
        from jupyterhub.app import main

        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap(status_files: dict[int, str]) -> None:
    while status_files:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        path = status_files.pop(pid, None)
        if path:
            code = os.waitstatus_to_exitcode(status)
            with open(path, "w") as file:
                file.write(str(code))


def _shutdown(status_files: dict[int, str]) -> None:
    for pid in status_files:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + GRACE
    while status_files and time.monotonic() < end:
        _reap(status_files)
        time.sleep(0.05)
    for pid in list(status_files):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    time.sleep(0.1)
    _reap(status_files)


def serve() -> None:
    _defer_imports()
    import jupyterhub.app  # noqa: F401  (the point of this process: import once, fork many)

    status_files: dict[int, str] = {}
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole foreground group: pytest decides
    stdin = sys.stdin.buffer
    buffer = b""
    print(json.dumps({"ready": os.getpid()}), flush=True)
    while True:
        readable, _, _ = select.select([stdin.fileno(), wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 4096)
            _reap(status_files)
        if stdin.fileno() not in readable:
            continue
        chunk = os.read(stdin.fileno(), 65536)
        if not chunk:
            _shutdown(status_files)
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _child(request)
            status_files[pid] = request["status"]
            print(json.dumps({"pid": pid}), flush=True)


if __name__ == "__main__":
    serve()
