"""What the cloud providers (gcp, aws, azure) share: a private kubeconfig whose user is an exec credential plugin
calling back into the deployer, so helm and kubectl get a fresh token whenever theirs expires.

One access lives in its own folder inside the caller's private workdir, removed on every exit path::

    <workdir>/<provider>-<cluster>-XXXX/     0700
        state.json                          0600  what the plugin needs: provider, cluster settings, endpoint
                                                  overrides, the name of the key file; never a secret
        decrypted-XXXX.<ext>                0600  the decrypted credentials file (only when the cluster has a key)
        token.json                          0600  the plugin's token cache (one token shared by every helm run)
        kubeconfig                          0600  cluster: server + CA; user: ``<python> -m deployer.auth.plugin
                                                  token <folder>``; context named after the cluster (current)

Every cloud SDK call happens in a child Python process (``python -m deployer.auth.plugin describe|token
<folder>``) started with the environment handed in (``describe`` through the ``Runner`` handed in; ``token`` by
kubectl and helm). Files are written with ``deployer.private``. The SDKs' default credential chains (ADC, boto3's chain,
DefaultAzureCredential) read their process's environment, so this is how they see exactly that mapping and how
this process stays untouched: no variable set, no SDK state shared between clusters handled concurrently.

A provider module (``deployer.auth.<provider>``) imports its SDK at the top and offers:

- ``access(cluster, *, root, env, workdir, runner)``: usually ``exec_access(cluster, settings=..., ...)``;
- ``describe(state) -> (Endpoint, Token | None)``: the cluster's API server and CA (and a first token, if it has one);
- ``token(state) -> Token``: a fresh bearer token for the cluster.

Both raise ``AuthError`` with a message that says what to do. ``DEPLOYER_AUTH_TOKEN_MAX_AGE`` (seconds, in the env
handed in) caps how long a token is used before the plugin makes a new one (tests use a few seconds).
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer import yamlio
from deployer.auth import ClusterAccess
from deployer.errors import AuthError
from deployer.private import private_dir, replace_private, write_private

if TYPE_CHECKING:
    from deployer.config.model import ClusterConfig
    from deployer.run import Runner

STATE = "state.json"
CACHE = "token.json"
KUBECONFIG = "kubeconfig"
EXEC_API = "client.authentication.k8s.io/v1"
PLUGIN_MODULE = "deployer.auth.plugin"
MAX_AGE_VAR = "DEPLOYER_AUTH_TOKEN_MAX_AGE"
DESCRIBE_TIMEOUT = 180  # seconds for the whole describe step (SDK retries included)
# Fields of a credentials file that name an identity, not a secret: messages name them on purpose ("service
# principal <client_id>", "access key <aws_access_key_id>"), so they are not redacted; every other value is.
IDENTITY_FIELDS = frozenset({"aws_access_key_id", "client_id", "client_email", "tenant_id", "project_id"})


@dataclass(frozen=True)
class Endpoint:
    """A cluster's API server: ``https://host[:port]`` and its CA (base64 of PEM, as in a kubeconfig)."""

    server: str
    ca_data: str


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # epoch seconds
    issued_at: float = 0.0  # epoch seconds; set by the plugin when it caches the token


@dataclass(frozen=True)
class State:
    """What the plugin knows about one access (read back from ``state.json``)."""

    folder: Path
    provider: str
    cluster: str
    settings: Mapping[str, Any]
    key: str | None = None  # file name of the decrypted credentials inside ``folder``
    max_age: float | None = None
    key_source: str | None = None  # the encrypted key file, repo-relative (for messages)

    @property
    def key_name(self) -> str:
        """The key file as the user knows it (repo-relative)."""
        return self.key_source or self.key or "(none)"

    @property
    def key_path(self) -> Path | None:
        return self.folder / self.key if self.key else None

    def key_data(self) -> dict[str, Any]:
        """The decrypted credentials file, parsed (YAML or JSON); {} without a key."""
        path = self.key_path
        if path is None:
            return {}
        try:
            text = path.read_text(encoding="utf-8")
            # sops writes JSON indented with tabs, which YAML does not allow
            data = json.loads(text) if path.suffix == ".json" else yamlio.loads(text)
        except FileNotFoundError:
            raise credentials_gone_error(self.provider, self.cluster) from None
        except (ValueError, RecursionError, yamlio.YamlError):  # RecursionError: JSON nested absurdly deep
            raise self.error("the decrypted key file is not valid YAML/JSON", "no-credentials") from None
        if not isinstance(data, dict):
            raise self.error("the decrypted key file is not a mapping of credentials", "no-credentials")
        return data

    def error(self, message: str, kind: str = "failed") -> AuthError:
        return AuthError(self.provider, self.cluster, message, kind)

    def to_json(self) -> dict[str, Any]:
        """What ``state.json`` holds (``load`` reads it back; ``folder`` is where it lies)."""
        return {
            "provider": self.provider,
            "cluster": self.cluster,
            "settings": dict(self.settings),
            "key": self.key,
            "max_age": self.max_age,
            "key_source": self.key_source,
        }

    @classmethod
    def load(cls, folder: Path) -> State:
        try:
            data = json.loads((folder / STATE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise credentials_gone_error("?", "?") from None
        return cls(
            folder=folder,
            provider=data["provider"],
            cluster=data["cluster"],
            settings=data["settings"],
            key=data.get("key"),
            max_age=data.get("max_age"),
            key_source=data.get("key_source"),
        )


def credentials_gone_error(provider: str, cluster: str) -> AuthError:
    """The error for a kubeconfig used after the deployer run that made it has removed its folder."""
    return AuthError(
        provider,
        cluster,
        "this kubeconfig's credentials are gone: the deployer run that made it has "
        "ended; start a new one (e.g. deployer use-cluster-credentials CLUSTER)",
        "no-credentials",
    )


# -- the parent side --------------------------------------------------------------------------------------------


def plugin_argv(command: str, folder: Path) -> list[str]:
    return [sys.executable, "-m", PLUGIN_MODULE, command, str(folder)]


def kubeconfig_dict(name: str, endpoint: Endpoint, folder: Path) -> dict[str, Any]:
    """A self-contained kubeconfig for one cluster whose user runs the deployer's exec plugin."""
    argv = plugin_argv("token", folder)
    user = f"deployer-{name}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": endpoint.server, "certificate-authority-data": endpoint.ca_data}}
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "exec": {
                        "apiVersion": EXEC_API,
                        "command": argv[0],
                        "args": argv[1:],
                        "interactiveMode": "Never",
                        "provideClusterInfo": False,
                        "installHint": (
                            "This kubeconfig was made by the deployer and works only while the deployer run that "
                            "made it (e.g. deployer use-cluster-credentials) is running."
                        ),
                    }
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
        "current-context": name,
    }


def max_age(env: Mapping[str, str], provider: str, cluster: str) -> float | None:
    raw = env.get(MAX_AGE_VAR, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise AuthError(
            provider, cluster, f"{MAX_AGE_VAR} must be a positive number of seconds (got {raw!r})", "failed"
        )
    return value


@contextlib.contextmanager
def exec_access(
    cluster: ClusterConfig,
    *,
    settings: Mapping[str, Any],
    root: Path,
    env: Mapping[str, str],
    workdir: Path,
    runner: Runner | None = None,
) -> Iterator[ClusterAccess]:
    """Decrypt the cluster's key (if any), ask the provider (in a child process run by ``runner``) for the endpoint
    and CA, and yield a ``ClusterAccess`` on a kubeconfig whose user is the exec plugin. Everything is removed on
    exit."""
    from deployer.run import Runner
    from deployer.secrets import decrypted

    runner = runner or Runner()
    with private_dir(f"{cluster.provider}-{cluster.name}-", parent=workdir) as folder, contextlib.ExitStack() as stack:
        key = None
        if cluster.key_file:
            path = stack.enter_context(
                decrypted(
                    root / cluster.key_file, display=cluster.key_file, env=env, root=root, workdir=folder, runner=runner
                )
            )
            key = path.name
        state = State(
            folder=folder,
            provider=cluster.provider,
            cluster=cluster.name,
            settings=dict(settings),
            key=key,
            max_age=max_age(env, cluster.provider, cluster.name),
            key_source=cluster.key_file,
        )
        # the key's values never reach a message or a log line, whatever the helper (or an SDK) prints
        runner.redactor.add_tree({k: v for k, v in state.key_data().items() if k not in IDENTITY_FIELDS})
        write_private(folder / STATE, json.dumps(state.to_json(), indent=1))
        endpoint = _describe(state, env, runner)
        kubeconfig = write_private(
            folder / KUBECONFIG, json.dumps(kubeconfig_dict(cluster.name, endpoint, folder), indent=1)
        )
        yield ClusterAccess(kubeconfig=kubeconfig, context=cluster.name)


def _describe(state: State, env: Mapping[str, str], runner: Runner, timeout: float = DESCRIBE_TIMEOUT) -> Endpoint:
    """Run the describe child (see the module docstring) and read its answer. Its messages pass through the
    runner's redactor (which holds the key's values, see ``exec_access``)."""
    proc = runner.run(plugin_argv("describe", state.folder), env=env, timeout=timeout, check=False)
    if proc.timed_out:
        raise state.error(
            f"no answer from the {state.provider} API within {timeout:g} s; check the "
            "network (and any endpoint override)",
            "unreachable",
        )
    try:
        answer = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    except (ValueError, IndexError):
        answer = {}
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict) and "message" in error:
        raise state.error(runner.redactor(str(error["message"])), str(error.get("kind", "failed")))
    if proc.returncode != 0 or not isinstance(answer, dict) or not {"server", "ca_data"} <= answer.keys():
        tail = "\n".join(runner.redactor(proc.stderr).strip().splitlines()[-15:])
        raise state.error(f"the credentials helper failed (exit {proc.returncode}):\n{tail}")
    return Endpoint(server=answer["server"], ca_data=answer["ca_data"])


# -- the plugin side ---------------------------------------------------------------------------------------------


def read_cache(state: State, now: float | None = None) -> Token | None:
    """The cached token while it is still good for a while; None otherwise."""
    now = time.time() if now is None else now
    try:
        data = json.loads((state.folder / CACHE).read_text(encoding="utf-8"))
        token = Token(value=data["value"], expires_at=float(data["expires_at"]), issued_at=float(data["issued_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return token if now < refresh_at(token) else None


def refresh_at(token: Token) -> float:
    """When a token should be replaced: a minute before it expires, or after 3/4 of a short life."""
    return token.expires_at - min(60.0, max(0.0, token.expires_at - token.issued_at) / 4)


def stamped(state: State, token: Token, now: float) -> Token:
    """``token`` stamped as issued ``now``, its life capped by ``DEPLOYER_AUTH_TOKEN_MAX_AGE``."""
    expires_at = token.expires_at
    if state.max_age is not None:
        expires_at = min(expires_at, now + state.max_age)
    return Token(token.value, expires_at, now)


def write_cache(state: State, token: Token) -> None:
    """Replace the cache atomically (concurrent helm runs may call the plugin at the same time); a cache that
    cannot be written only costs a new token next time."""
    with contextlib.suppress(OSError):
        replace_private(
            state.folder / CACHE,
            json.dumps({"value": token.value, "expires_at": token.expires_at, "issued_at": token.issued_at}),
        )


def exec_credential(token: Token) -> dict[str, Any]:
    """The ExecCredential kubectl and helm read; it expires when the plugin would make a new token anyway."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(refresh_at(token)))
    return {
        "apiVersion": EXEC_API,
        "kind": "ExecCredential",
        "spec": {},
        "status": {"token": token.value, "expirationTimestamp": stamp},
    }


def ca_data(pem_or_b64: str | bytes) -> str:
    """CA data for a kubeconfig (base64 of PEM) from either PEM or base64 of PEM."""
    raw = pem_or_b64.encode() if isinstance(pem_or_b64, str) else pem_or_b64
    if raw.lstrip().startswith(b"-----BEGIN"):
        return base64.b64encode(raw).decode("ascii")
    return raw.decode("ascii").strip()
