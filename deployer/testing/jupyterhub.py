"""A REAL JupyterHub for tests: ``start_hub(workdir, ...) -> JupyterHub`` (and the pytest fixtures in
``fixtures_jupyterhub.py``).

The hub runs in a subprocess (``python -m jupyterhub``) on free ports of 127.0.0.1, with the real
configurable-http-proxy (found like helm: ``<repo>/.tools/bin``, installed by ``scripts/setup``, else
``PATH``) in front of it. Defaults that just work:

- the dummy authenticator (any password; every user allowed), the local-process spawner
  (``SimpleLocalProcessSpawner``, homes under the hub's workdir) running ``jupyterhub-singleuser`` from the
  Python environment of the tests, with ``--allow-root`` when running as root;
- a service (``test-service``) whose token (``hub.token``) has the scopes tests need: ``admin:users``,
  ``admin:servers``, ``read:hub``, ``access:servers`` (the scopes basehub grants the health check);
- a sqlite database, cookie secret and logs in ``workdir``; the hub's and the proxy's output goes to
  ``hub.log_path`` (``hub.log`` reads it).

Anything can be changed: ``authenticator_class``/``spawner_class`` (import strings or entry-point names such
as ``"dummy"``), ``config`` (traitlets config as ``{"Section": {"trait": value}}``, JSON-able values, merged over
the defaults), ``services``/``roles`` (added to the test service and its role), ``extra_config`` (Python code
appended to the generated ``jupyterhub_config.py``, for values that are not JSON), ``pythonpath`` (folders the
hub can import your classes from), ``tls=True`` (the proxy serves https with a certificate from a throw-away
CA, ``hub.ca_file``; ``hub.api`` and ``hub.login`` trust it).

The ``JupyterHub`` object: ``url``, ``api_url``, ``token``, ``api`` (``HubAPI``: ``get/post/patch/delete``
under ``/hub/api/``, answering ``Response`` with ``.status``, ``.json()``, ``.message``), ``log``, ``log_path``,
``log_tail()``, ``pids()``, ``started_in``; helpers ``create_user``, ``start_server`` (creates the user, waits
until ready), ``wait_for_ready``, ``run_code`` (in a new kernel through the proxy; ``ExecutionResult`` with
``.result``, ``.stdout``, ``.error``), ``stop_server``, ``delete_user``, ``login`` (the real login form, as a
browser posts it; a ``HubSession`` with cookies, or ``LoginFailed``), ``unique_user``. Helpers raise
``JupyterHubError`` (an ``AssertionError``) with the hub's message and the tail of its log.

``hub.stop()`` stops the hub, its proxy and every server it spawned, also when the hub crashed: every
process started for this hub carries a marker in its environment (``DEPLOYER_TEST_HUB=<id>``) and is found
through ``/proc`` (Linux), together with the hub's descendants and the proxy's pid file; whatever survives a
graceful stop is killed. The process environment of the test run is never changed.
"""

from __future__ import annotations

import contextlib
import http.client
import http.cookiejar
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.health.base import StepFailed
from deployer.health.client import HubClient, HubUnreachable, NoRedirect, Response
from deployer.health.kernel import ExecutionResult, run_code
from deployer.health.servers import server_entry, start_server, stop_server, user_model
from deployer.health.users import create_user, delete_user
from deployer.tools import find_tool

__all__ = [
    "DEFAULT_SCOPES",
    "HubAPI",
    "HubSession",
    "JupyterHub",
    "JupyterHubError",
    "LoginFailed",
    "running_hub",
    "start_hub",
]

DEFAULT_SCOPES = ("admin:users", "admin:servers", "read:hub", "access:servers")
MARKER = "DEPLOYER_TEST_HUB"
PROXY = "configurable-http-proxy"


class JupyterHubError(AssertionError):
    """The test hub did not start, or a helper's request failed; the message ends with the hub log's tail."""


class LoginFailed(JupyterHubError):
    """``JupyterHub.login`` was refused; ``.message`` is the login page's error, ``.status`` the HTTP status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


class HubAPI(HubClient):
    """The hub's REST API with the service token: ``get/post/patch/delete(path, body)`` under ``/hub/api/``."""

    def get(self, path: str, **kw: Any) -> Response:
        return self.api("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.api("POST", path, {} if body is None else body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.api("PATCH", path, {} if body is None else body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.api("DELETE", path, **kw)


class HubSession:
    """A browser-like session (cookies, no redirects followed) on the hub, as ``JupyterHub.login`` returns it."""

    def __init__(
        self, hub: JupyterHub, opener: urllib.request.OpenerDirector, jar: http.cookiejar.CookieJar, username: str
    ):
        self.hub, self._opener, self.cookies, self.username = hub, opener, jar, username

    def get(self, path: str, *, timeout: float = 30.0) -> Response:
        """GET an absolute path on the hub (``/hub/home``), with the session's cookies."""
        return _open(self._opener, self.hub.api.absolute(path), timeout=timeout)


def _open(
    opener: urllib.request.OpenerDirector,
    url: str,
    *,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Response:
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    try:
        resp = opener.open(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        resp = exc
    with contextlib.closing(resp):
        return Response(resp.code, resp.read(), dict(resp.headers or {}))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- process tracking (Linux /proc; elsewhere only the hub's own clean-up and the proxy pid file) ---------------
def _ppids() -> dict[int, int]:
    table: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            table[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return table


def _descendants(pid: int) -> set[int]:
    table = _ppids()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in table.items() if parent in frontier and p not in found}
        found |= frontier
    return found


def _marked(marker: str) -> set[int]:
    needle = f"{MARKER}={marker}".encode()
    found = set()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.add(int(entry.name))
        except (OSError, ValueError):
            continue
    found.discard(os.getpid())
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _terminate(pids: set[int], grace: float) -> set[int]:
    """SIGTERM ``pids``, then SIGKILL those alive after ``grace`` seconds; returns the ones that needed it."""
    pids = {p for p in pids if _alive(p)}
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + grace
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    return pids


# -- config -------------------------------------------------------------------------------------------------
def _merge(base: dict[str, dict[str, Any]], extra: Mapping[str, Mapping[str, Any]]) -> None:
    for section, values in extra.items():
        target = base.setdefault(section, {})
        for key, value in values.items():
            if section == "JupyterHub" and key in ("services", "load_roles"):
                target[key] = [*target.get(key, []), *value]
            elif section == "Spawner" and key == "environment":
                target[key] = {**target.get(key, {}), **value}
            else:
                target[key] = value


CONFIG_LOADER = """\
# Generated by deployer.testing.jupyterhub: the values are in hub-config.json beside this file.
import json, pathlib
c = get_config()  # noqa: F821
for section, values in json.loads((pathlib.Path(__file__).parent / "hub-config.json").read_text()).items():
    for key, value in values.items():
        c[section][key] = value
"""


def read_log(path: Path) -> str:
    """The log file a process of the toolkit writes ("" before it exists)."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


@dataclass
class JupyterHub:
    """A running JupyterHub (see the module doc). ``url`` is the public URL (the proxy), with a trailing slash."""

    url: str
    token: str
    service_name: str
    workdir: Path
    log_path: Path
    config: dict[str, dict[str, Any]]
    process: subprocess.Popen[bytes] = field(repr=False)
    marker: str = ""
    launched_at: float = 0.0  # time.monotonic() when the hub process was started
    started_in: float = 0.0  # seconds from launch until the API answered through the proxy
    killed: list[int] = field(default_factory=list)  # processes stop() had to signal after the hub exited
    ca_file: Path | None = None  # with tls=True: the CA (PEM) that signed the proxy's certificate

    def __post_init__(self) -> None:
        self.api = HubAPI(self.url, self.token, ssl_context=self.ssl_context())

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client context trusting this hub's certificate (None for plain http)."""
        return ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None

    # -- what tests look at -----------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.url + "hub/api/"

    @property
    def log(self) -> str:
        return read_log(self.log_path)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.splitlines()[-lines:])

    def _error(self, message: str) -> JupyterHubError:
        return JupyterHubError(f"{message}\n--- {self.log_path} (last lines) ---\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def pids(self) -> set[int]:
        """Every process this hub started that is still there: the hub, its proxy, servers and kernels."""
        found = {self.process.pid} if self.running else set()
        if Path("/proc").is_dir():
            found |= _descendants(self.process.pid) | _marked(self.marker)
        pid_file = self.workdir / "jupyterhub-proxy.pid"
        with contextlib.suppress(OSError, ValueError):
            found.add(int(pid_file.read_text().strip()))
        return {p for p in found if _alive(p)}

    def unique_user(self, prefix: str = "user") -> str:
        """A fresh user name (not created): for tests sharing one hub."""
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    # -- helpers ----------------------------------------------------------------------------------
    def create_user(self, name: str) -> dict[str, Any]:
        """Create user ``name`` (no error if it exists); returns the user model."""
        try:
            return create_user(self.api, name)[1]
        except StepFailed as exc:
            raise self._error(exc.message) from None

    def delete_user(self, name: str, *, timeout: float = 30.0) -> bool:
        try:
            return delete_user(self.api, name, deadline=time.monotonic() + timeout)
        except StepFailed as exc:
            raise self._error(exc.message) from None

    def start_server(self, name: str, *, timeout: float = 60.0) -> str:
        """Create the user if needed, start its default server and wait until ready; returns its URL path."""
        self.create_user(name)
        try:
            return start_server(self.api, name, deadline=time.monotonic() + timeout)
        except StepFailed as exc:
            raise self._error(f"server of {name}: {exc.message}") from None

    def wait_for_ready(self, name: str, *, timeout: float = 60.0) -> str:
        """Wait until ``name``'s default server (started any way, e.g. by logging in) is ready; its URL path."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                entry = server_entry(user_model(self.api, name, deadline=deadline))
            except StepFailed as exc:
                raise self._error(f"server of {name}: {exc.message}") from None
            if entry and entry.get("ready"):
                return str(entry.get("url"))
            if time.monotonic() > deadline:
                raise self._error(f"server of {name} not ready after {timeout:.0f}s (state: {entry})")
            time.sleep(0.1)

    def stop_server(self, name: str, *, timeout: float = 30.0) -> bool:
        """Stop ``name``'s default server and wait until it is gone; False if none was running."""
        try:
            return stop_server(self.api, name, deadline=time.monotonic() + timeout)
        except StepFailed as exc:
            raise self._error(f"server of {name}: {exc.message}") from None

    def run_code(self, name: str, code: str, *, timeout: float = 60.0) -> ExecutionResult:
        """Run ``code`` in a new kernel on ``name``'s running server (through the proxy) and shut it down."""
        deadline = time.monotonic() + timeout
        server = self.wait_for_ready(name, timeout=timeout)
        try:
            return run_code(self.api, server, code, deadline=deadline)
        except StepFailed as exc:
            raise self._error(f"kernel on the server of {name}: {exc.message}") from None

    def login(self, username: str, password: str = "", *, timeout: float = 30.0) -> HubSession:
        """Log in through the hub's login form, as a browser does (``_xsrf`` included); raises ``LoginFailed``."""
        jar = http.cookiejar.CookieJar()
        handlers: list[urllib.request.BaseHandler] = [
            urllib.request.HTTPCookieProcessor(jar),
            NoRedirect(),
            urllib.request.ProxyHandler({}),
        ]
        if self.ca_file:
            handlers.append(urllib.request.HTTPSHandler(context=self.ssl_context()))
        opener = urllib.request.build_opener(*handlers)
        login_url = self.url + "hub/login"
        page = _open(opener, login_url, timeout=timeout)
        xsrf = next((c.value for c in jar if c.name == "_xsrf"), None)
        if xsrf is None:
            match = re.search(rb'name="_xsrf" value="([^"]+)"', page.body)
            xsrf = match.group(1).decode() if match else ""
        form = urllib.parse.urlencode({"username": username, "password": password, "_xsrf": xsrf}).encode()
        resp = _open(
            opener,
            login_url,
            data=form,
            timeout=timeout,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": login_url},
        )
        if resp.status in (302, 303) and any(c.name.startswith("jupyterhub-") for c in jar):
            return HubSession(self, opener, jar, username)
        match = re.search(rb'<p class="login_error">\s*(.*?)\s*</p>', resp.body, re.S)
        message = match.group(1).decode(errors="replace").strip() if match else f"HTTP {resp.status}"
        raise LoginFailed(f"login of {username!r} refused: {message}", resp.status)

    # -- stopping ---------------------------------------------------------------------------------
    def stop(self, *, grace: float = 15.0) -> None:
        """Stop the hub (SIGTERM: it stops its servers and proxy), then end whatever is left of its processes."""
        before = self.pids()
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        left = (before | self.pids()) - {self.process.pid}
        self.killed = sorted(_terminate(left, 3.0))


def _singleuser(env: Mapping[str, str]) -> str:
    beside = Path(sys.executable).with_name("jupyterhub-singleuser")
    if beside.is_file():
        return str(beside)
    import shutil

    found = shutil.which("jupyterhub-singleuser", path=env.get("PATH"))
    if not found:
        raise JupyterHubError("jupyterhub-singleuser not found: pip install jupyterhub jupyter_server")
    return found


def _hub_env(
    env: Mapping[str, str] | None, pythonpath: Sequence[str | os.PathLike[str]], marker: str
) -> dict[str, str]:
    base = dict(os.environ if env is None else env)
    for key in list(base):  # a test run inside a hub's server must not hand the hub its own server's settings
        if key.startswith(("JUPYTERHUB_", "JPY_")):
            del base[key]
    paths = [str(p) for p in pythonpath] + ([base["PYTHONPATH"]] if base.get("PYTHONPATH") else [])
    if paths:
        base["PYTHONPATH"] = os.pathsep.join(paths)
    base[MARKER] = marker
    return base


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
    tools_root: Path | None = None,
    allow_root: bool | None = None,
    tls: bool = False,
    start_timeout: float = 60.0,
) -> JupyterHub:
    """Start a JupyterHub in ``workdir`` and wait until its API answers through the proxy (see the module doc)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if env is None else env)
    proxy = os.path.abspath(find_tool(PROXY, tools_root, env))
    singleuser = _singleuser(env)
    allow_root = (hasattr(os, "geteuid") and os.geteuid() == 0) if allow_root is None else allow_root
    config = config or {}
    pinned = any(k in (config.get("JupyterHub") or {}) for k in ("port", "hub_port")) or "api_url" in (
        config.get("ConfigurableHTTPProxy") or {}
    )
    attempts = 1 if pinned else 3  # free ports are picked before the hub binds them: retry if one was taken
    for attempt in range(attempts):
        hub = _launch(
            workdir,
            proxy=proxy,
            singleuser=singleuser,
            allow_root=allow_root,
            env=env,
            authenticator_class=authenticator_class,
            spawner_class=spawner_class,
            config=config,
            services=services,
            roles=roles,
            extra_config=extra_config,
            service_name=service_name,
            service_scopes=service_scopes,
            pythonpath=pythonpath,
            tls=tls,
        )
        try:
            _wait_until_up(hub, start_timeout)
            return hub
        except JupyterHubError:
            hub.stop()
            if attempt + 1 < attempts and re.search(r"EADDRINUSE|Address already in use", hub.log):
                continue
            raise
    raise AssertionError("unreachable")


def _launch(
    workdir: Path,
    *,
    proxy: str,
    singleuser: str,
    allow_root: bool,
    env: Mapping[str, str],
    authenticator_class: str,
    spawner_class: str,
    config: Mapping[str, Mapping[str, Any]],
    services: Sequence[Mapping[str, Any]],
    roles: Sequence[Mapping[str, Any]],
    extra_config: str,
    service_name: str,
    service_scopes: Sequence[str],
    pythonpath: Sequence[str | os.PathLike[str]],
    tls: bool,
) -> JupyterHub:
    port, hub_port, api_port = _free_port(), _free_port(), _free_port()
    token = uuid.uuid4().hex + uuid.uuid4().hex
    marker = uuid.uuid4().hex
    settings: dict[str, dict[str, Any]] = {
        "JupyterHub": {
            "ip": "127.0.0.1",
            "port": port,
            "hub_ip": "127.0.0.1",
            "hub_port": hub_port,
            "authenticator_class": authenticator_class,
            "spawner_class": spawner_class,
            "db_url": f"sqlite:///{workdir / 'jupyterhub.sqlite'}",
            "cookie_secret_file": str(workdir / "jupyterhub_cookie_secret"),
            "pid_file": str(workdir / "jupyterhub.pid"),
            "services": [{"name": service_name, "api_token": token}],
            "load_roles": [
                {"name": f"{service_name}-role", "scopes": list(service_scopes), "services": [service_name]}
            ],
        },
        "ConfigurableHTTPProxy": {
            "api_url": f"http://127.0.0.1:{api_port}",
            "command": [proxy],
            "pid_file": str(workdir / "jupyterhub-proxy.pid"),
        },
        "Spawner": {
            "cmd": [singleuser],
            "args": ["--allow-root"] if allow_root else [],
            "environment": {MARKER: marker},
        },
        "SimpleLocalProcessSpawner": {"home_dir_template": str(workdir / "home" / "{username}")},
        "DummyAuthenticator": {"allow_all": True},
    }
    ca_file = None
    if tls:
        ca_file, cert, key = _tls_files(workdir)
        settings["JupyterHub"].update(ssl_cert=str(cert), ssl_key=str(key))
    user_args = (config.get("Spawner") or {}).get("args")
    _merge(settings, {"JupyterHub": {"services": list(services), "load_roles": list(roles)}})
    _merge(settings, config)
    if user_args is not None and allow_root and "--allow-root" not in user_args:
        settings["Spawner"]["args"] = ["--allow-root", *user_args]
    settings["Spawner"].setdefault("environment", {})[MARKER] = marker
    (workdir / "home").mkdir(exist_ok=True)
    (workdir / "hub-config.json").write_text(json.dumps(settings, indent=2))
    config_file = workdir / "jupyterhub_config.py"
    config_file.write_text(CONFIG_LOADER + ("\n" + extra_config + "\n" if extra_config else ""))
    log_path = workdir / "jupyterhub.log"
    started = time.monotonic()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config_file)],
            cwd=workdir,
            env=_hub_env(env, pythonpath, marker),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = JupyterHub(
        url=f"{'https' if tls else 'http'}://127.0.0.1:{port}/",
        token=token,
        ca_file=ca_file,
        service_name=service_name,
        workdir=workdir,
        log_path=log_path,
        config=settings,
        process=process,
        marker=marker,
        launched_at=started,
    )
    return hub


def _tls_files(workdir: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate for 127.0.0.1/localhost signed by it (needs ``cryptography``)."""
    from deployer.testing.kubeapi.tls import make_tls_material

    material = make_tls_material("deployer-test-hub")
    ca, cert, key = workdir / "hub-ca.pem", workdir / "hub-cert.pem", workdir / "hub-key.pem"
    ca.write_bytes(material.ca_pem)
    cert.write_bytes(material.cert_pem)
    key.touch(mode=0o600)
    key.write_bytes(material.key_pem)
    return ca, cert, key


def _wait_until_up(hub: JupyterHub, timeout: float) -> None:
    started = hub.launched_at
    deadline = started + timeout
    while True:
        if not hub.running:
            raise hub._error(f"JupyterHub exited with code {hub.process.returncode} while starting")
        try:
            resp = hub.api.get("", timeout=2.0)
            if resp.status == 200 and isinstance(resp.json(), dict) and "version" in resp.json():
                hub.started_in = time.monotonic() - started
                return
        except HubUnreachable:
            pass
        if time.monotonic() > deadline:
            raise hub._error(f"JupyterHub did not answer at {hub.api_url} within {timeout:.0f}s")
        time.sleep(0.1)


@contextlib.contextmanager
def running_hub(workdir: Path, **kwargs: Any) -> Iterator[JupyterHub]:
    """``start_hub`` as a context manager: the hub and everything it started are stopped on exit."""
    hub = start_hub(workdir, **kwargs)
    try:
        yield hub
    finally:
        hub.stop()
