"""A REAL JupyterHub for tests: ``start_hub(workdir, ...) -> JupyterHub`` and ``running_hub`` (a context manager).

The hub is its own process (forked by ``launcher.py``), listening on free ports of 127.0.0.1 behind the real
configurable-http-proxy (``proxy.py``), with the configuration of ``config.py``. Options of ``start_hub``:
``authenticator_class``/``spawner_class`` (import strings or entry-point names such as ``"dummy"``),
``config`` (traitlets config ``{"Section": {"trait": value}}``, merged over the defaults), ``services``/``roles``
(added to the test service and its role), ``extra_config`` (Python code appended to ``jupyterhub_config.py``, for
values that are not JSON), ``pythonpath`` (folders the hub imports your classes from), ``env`` (the hub's
environment; default: this process's), ``proxy`` (the proxy program), ``tls=True`` (https with a throw-away CA,
``hub.ca_file``, trusted by the hub's clients), ``start_timeout``.

``hub.stop()`` ends the hub and everything it started, also when it crashed (``processes.py``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from pytest_realhub import logs
from pytest_realhub.config import DEFAULT_SCOPES, Settings, hub_settings, service_log_path, write_config
from pytest_realhub.errors import JupyterHubError
from pytest_realhub.http import ApiClient, HubResponse, HubSession, login
from pytest_realhub.kernel import ExecutionResult, run_code
from pytest_realhub.launcher import HubProcess, Launcher
from pytest_realhub.processes import MARKER, alive, descendants, marked_by, owner_id, terminate
from pytest_realhub.proxy import find_proxy
from pytest_realhub.tls import write_tls_files
from pytest_realhub.waiting import wait_until

T = TypeVar("T")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now (a hub, or a service beside it, can bind it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _path(name: str, server_name: str = "") -> str:
    user = f"users/{quote(name, safe='')}"
    return f"{user}/servers/{quote(server_name, safe='')}" if server_name else f"{user}/server"


@dataclass
class JupyterHub:
    """A running JupyterHub. ``url`` is its public URL (the proxy), with a trailing slash."""

    url: str
    token: str
    service_name: str
    workdir: Path
    log_path: Path
    config: Settings
    process: HubProcess = field(repr=False)
    marker: str = ""
    started_in: float = 0.0  # seconds from launch until the API answered through the proxy
    ca_file: Path | None = None  # with tls=True: the CA (PEM) that signed the proxy's certificate
    killed: list[int] = field(default_factory=list)  # processes stop() had to end after the hub exited

    def __post_init__(self) -> None:
        self._log = logs.LogWatcher(self.log_path)
        self.api = ApiClient(self.url, self.token, verify=self.verify, log=self._log)

    # -- what tests look at ---------------------------------------------------------------------------------
    @property
    def verify(self) -> bool | str:
        """What ``requests`` should verify the hub's certificate with."""
        return str(self.ca_file) if self.ca_file else True

    @property
    def api_url(self) -> str:
        return self.url + "hub/api/"

    @property
    def log(self) -> str:
        return logs.read_text(self.log_path)

    def log_tail(self, lines: int = 40) -> str:
        return logs.tail(self.log, lines)

    def errors(self) -> list[logs.HubTraceback]:
        """Every uncaught exception (traceback) the hub has logged so far."""
        return logs.tracebacks(self.log)

    def service_log(self, name: str) -> str:
        """What the managed service ``name`` has printed so far."""
        services = [s.get("name") for s in self.config["JupyterHub"]["services"] if s.get("command")]
        if name not in services:
            raise JupyterHubError(f"{name!r} is not a managed service of this hub (those are: {services})")
        return logs.read_text(service_log_path(self.workdir, name))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def pids(self) -> set[int]:
        """Every process this hub started that is still there: the hub, proxy, services, servers, kernels."""
        found = {self.process.pid} if self.running else set()
        if Path("/proc").is_dir():
            found |= descendants(self.process.pid) | marked_by(self.marker)
        with contextlib.suppress(OSError, ValueError):
            found.add(int((self.workdir / "jupyterhub-proxy.pid").read_text().strip()))
        return {p for p in found if alive(p)}

    def unique_user(self, prefix: str = "user") -> str:
        """A fresh user name (not created): for tests sharing one hub."""
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def error(self, message: str, since: int | None = None) -> JupyterHubError:
        """A ``JupyterHubError`` whose message ends with the hub's new tracebacks and its log's tail."""
        return JupyterHubError(f"{message}\n{logs.context(self.log_path, since)}")

    # -- browser sessions -----------------------------------------------------------------------------------
    def session(self) -> HubSession:
        """An anonymous browser-like session (cookies, xsrf handled, forms)."""
        return HubSession(self.url, verify=self.verify, log=self._log)

    def login(self, username: str, password: str = "") -> HubSession:
        """Log in through the hub's login form, as a browser does; raises ``LoginFailed``."""
        return login(self.url, username, password, verify=self.verify, log=self._log)

    # -- waiting --------------------------------------------------------------------------------------------
    def wait_until(
        self, predicate: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1, message: str = ""
    ) -> T:
        """Call ``predicate`` until it returns something true (returned); on timeout a ``JupyterHubError``
        with the last value and the hub's new tracebacks and log tail. An ``AssertionError`` means "not yet"."""
        since = self._log.mark()
        return wait_until(
            predicate,
            timeout=timeout,
            interval=interval,
            message=message,
            context=lambda: logs.context(self.log_path, since),
        )

    # -- users and servers ----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, ok: Iterable[int], what: str, **kw: Any) -> HubResponse:
        since = self._log.mark()
        try:
            resp = self.api.request(method, path, **kw)
        except requests.RequestException as exc:
            raise self.error(f"{what}: {method} {path} failed: {exc}", since) from None
        if resp.status_code not in set(ok):
            raise self.error(f"{what}: {method} {path} answered HTTP {resp.status_code}: {resp.text[:500]}", since)
        assert isinstance(resp, HubResponse)
        return resp

    def user(self, name: str) -> dict[str, Any] | None:
        """The user model of ``name`` (with its servers), or None if there is no such user."""
        resp = self._call("GET", f"users/{quote(name, safe='')}", (200, 404), f"user {name}")
        return None if resp.status_code == 404 else dict(resp.json())

    def create_user(self, name: str, *, admin: bool | None = None) -> dict[str, Any]:
        """Create user ``name`` if there is none (an admin if ``admin``); an existing user is kept, and only
        changed when ``admin`` is given and differs. Returns the user model."""
        path = f"users/{quote(name, safe='')}"
        resp = self._call("POST", path, (201, 409), f"create user {name}", json={"admin": bool(admin)})
        model = dict(resp.json()) if resp.status_code == 201 else self.user(name) or {}
        if admin is not None and model.get("admin") != admin:
            model = dict(self._call("PATCH", path, (200,), f"update user {name}", json={"admin": admin}).json())
        return model

    def delete_user(self, name: str, *, timeout: float = 30.0) -> bool:
        """Delete user ``name`` (its servers are stopped first); False if there was no such user."""
        user = self.user(name)
        if user is None:
            return False
        for server_name in user.get("servers") or {}:
            self.stop_server(name, server_name, timeout=timeout)
        path = f"users/{quote(name, safe='')}"
        return self._call("DELETE", path, (204, 404), f"delete user {name}").status_code == 204

    def _server(self, name: str, server_name: str) -> dict[str, Any] | None:
        user = self.user(name)
        return None if user is None else (user.get("servers") or {}).get(server_name)

    def start_server(self, name: str, server_name: str = "", *, timeout: float = 60.0) -> str:
        """Create the user if needed, start a server and wait until it is ready; returns its URL path."""
        self.create_user(name)
        self._call("POST", _path(name, server_name), (201, 202, 400), f"start the server of {name}")
        return self.wait_for_ready(name, server_name, timeout=timeout)

    def start_servers(self, names: Sequence[str], *, timeout: float = 60.0) -> list[str]:
        """Start the default servers of several users at once (all spawns in parallel); their URL paths."""
        for name in names:
            self.create_user(name)
            self._call("POST", _path(name), (201, 202, 400), f"start the server of {name}")
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
            return list(pool.map(lambda n: self.wait_for_ready(n, timeout=timeout), names))

    def wait_for_ready(self, name: str, server_name: str = "", *, timeout: float = 60.0) -> str:
        """Wait until ``name``'s server (started any way, e.g. by logging in) is ready; returns its URL path."""
        since = self._log.mark()
        started = time.monotonic()
        deadline = started + timeout
        while True:
            entry = self._server(name, server_name)
            if entry and entry.get("ready"):
                return str(entry.get("url"))
            if entry is None and time.monotonic() > started + 2.0:
                raise self.error(f"the server of {name} is not running (did its spawn fail?)", since)
            if time.monotonic() > deadline:
                raise self.error(f"the server of {name} was not ready after {timeout:.0f}s (state: {entry})", since)
            time.sleep(0.05)

    def stop_server(self, name: str, server_name: str = "", *, timeout: float = 30.0) -> bool:
        """Stop a server of ``name`` and wait until it is gone; False if none was running."""
        if self._server(name, server_name) is None:
            return False
        self._call("DELETE", _path(name, server_name), (202, 204, 400, 404), f"stop the server of {name}")
        self.wait_for_stopped(name, server_name, timeout=timeout)
        return True

    def wait_for_stopped(self, name: str, server_name: str = "", *, timeout: float = 30.0) -> None:
        """Wait until ``name`` has no such server any more (stopped by anyone: a culler, the user, an admin)."""
        self.wait_until(
            lambda: self._server(name, server_name) is None,
            timeout=timeout,
            message=f"the server of {name} stopped",
        )

    def run_code(self, name: str, code: str, server_name: str = "", *, timeout: float = 60.0) -> ExecutionResult:
        """Run ``code`` in a new kernel on ``name``'s running server (through the proxy); the kernel is removed."""
        server = self.wait_for_ready(name, server_name, timeout=timeout)
        return run_code(self.api, server, code, timeout=timeout)

    # -- stopping -------------------------------------------------------------------------------------------
    def stop(self, *, grace: float = 15.0) -> None:
        """Stop the hub (SIGTERM: it stops its servers, services and proxy), then end whatever is left."""
        before = self.pids()
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        left = (before | self.pids()) - {self.process.pid}
        self.killed = sorted(terminate(left, 3.0))


def _singleuser(env: Mapping[str, str]) -> str:
    beside = Path(sys.executable).with_name("jupyterhub-singleuser")
    if beside.is_file():
        return str(beside)
    found = shutil.which("jupyterhub-singleuser", path=env.get("PATH"))
    # without it the hub still starts (authenticators, services); spawning says what is missing
    return found or "jupyterhub-singleuser"


def _hub_env(env: Mapping[str, str], pythonpath: Sequence[str | os.PathLike[str]], marker: str) -> dict[str, str]:
    base = dict(env)
    for key in list(base):  # tests run inside a hub's server must not hand the test hub that server's settings
        if key.startswith(("JUPYTERHUB_", "JPY_")):
            del base[key]
    paths = [str(p) for p in pythonpath] + ([base["PYTHONPATH"]] if base.get("PYTHONPATH") else [])
    if paths:
        base["PYTHONPATH"] = os.pathsep.join(paths)
    base[MARKER] = marker
    return base


_default_launchers: dict[str, Launcher] = {}


def default_launcher() -> Launcher:
    """This process's launcher (its fork server ends when stdin closes, i.e. at the latest when we exit)."""
    owner = owner_id()
    if owner not in _default_launchers:  # a forked child of ours gets its own
        _default_launchers[owner] = Launcher(owner)
    return _default_launchers[owner]


def start_hub(
    workdir: Path,
    *,
    authenticator_class: str = "dummy",
    spawner_class: str = "simple",
    config: Mapping[str, Mapping[str, Any]] | None = None,
    services: Sequence[Mapping[str, Any]] = (),
    roles: Sequence[Mapping[str, Any]] = (),
    extra_config: str = "",
    service_name: str = "test-service",
    service_scopes: Sequence[str] = DEFAULT_SCOPES,
    pythonpath: Sequence[str | os.PathLike[str]] = (),
    env: Mapping[str, str] | None = None,
    proxy: str | os.PathLike[str] | None = None,
    rootdir: Path | None = None,
    allow_root: bool | None = None,
    tls: bool = False,
    start_timeout: float = 60.0,
    launcher: Launcher | None = None,
) -> JupyterHub:
    """Start a JupyterHub in ``workdir`` and wait until its API answers through the proxy (see the module doc)."""
    workdir = Path(workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if env is None else env)
    launcher = launcher or default_launcher()
    proxy_path = find_proxy(proxy, env, rootdir)
    allow_root = (hasattr(os, "geteuid") and os.geteuid() == 0) if allow_root is None else allow_root
    config = config or {}
    pinned = any(k in (config.get("JupyterHub") or {}) for k in ("port", "hub_port")) or "api_url" in (
        config.get("ConfigurableHTTPProxy") or {}
    )
    tls_files = write_tls_files(workdir) if tls else None
    attempts = 1 if pinned else 3  # free ports are picked before the hub binds them: retry if one was taken
    for attempt in range(attempts):
        marker = launcher.marker()
        token = secrets.token_hex(32)
        settings = hub_settings(
            workdir,
            ports=(free_port(), free_port(), free_port()),
            token=token,
            marker=marker,
            proxy=proxy_path,
            singleuser=_singleuser(env),
            allow_root=allow_root,
            authenticator_class=authenticator_class,
            spawner_class=spawner_class,
            config=config,
            services=services,
            roles=roles,
            service_name=service_name,
            service_scopes=service_scopes,
            tls_files=tls_files[1:] if tls_files else None,
        )
        config_file = write_config(workdir, settings, extra_config)
        log_path = workdir / "jupyterhub.log"
        launched = time.monotonic()
        process = launcher.launch(
            ["jupyterhub", "-f", str(config_file)],
            env=_hub_env(env, pythonpath, marker),
            cwd=workdir,
            log=log_path,
            status_file=workdir / f"jupyterhub.{attempt}.status",
        )
        base_url = ("/" + str(settings["JupyterHub"].get("base_url", "/")).strip("/") + "/").replace("//", "/")
        hub = JupyterHub(
            url=f"{'https' if tls else 'http'}://127.0.0.1:{settings['JupyterHub']['port']}{base_url}",
            token=token,
            service_name=service_name,
            workdir=workdir,
            log_path=log_path,
            config=settings,
            process=process,
            marker=marker,
            ca_file=tls_files[0] if tls_files else None,
        )
        since = 0 if attempt == 0 else hub._log.mark()
        try:
            _wait_until_up(hub, launched, start_timeout, since)
            return hub
        except JupyterHubError:
            hub.stop()
            if attempt + 1 < attempts and re.search(r"EADDRINUSE|Address already in use", hub._log.since(since)):
                continue
            raise
    raise AssertionError("unreachable")


def _wait_until_up(hub: JupyterHub, launched: float, timeout: float, since: int) -> None:
    deadline = launched + timeout
    while True:
        if not hub.running:
            raise hub.error(f"JupyterHub exited with code {hub.process.returncode} while starting", since)
        with contextlib.suppress(requests.RequestException, ValueError):
            resp = hub.api.get("", timeout=2.0)
            if resp.status_code == 200 and "version" in resp.json():
                hub.started_in = time.monotonic() - launched
                return
        if time.monotonic() > deadline:
            raise hub.error(f"JupyterHub did not answer at {hub.api_url} within {timeout:.0f}s", since)
        time.sleep(0.03)


@contextlib.contextmanager
def running_hub(workdir: Path, **options: Any) -> Iterator[JupyterHub]:
    """``start_hub`` as a context manager: the hub and everything it started are stopped on exit."""
    hub = start_hub(workdir, **options)
    try:
        yield hub
    finally:
        hub.stop()
