"""pytest-realhub: a REAL JupyterHub for testing JupyterHub components (authenticators, spawners, services,
proxies) -- its own process behind the real configurable-http-proxy, with real single-user servers.

The fixtures (``jupyterhub``, ``jupyterhub_session``) come with the pytest plugin (``plugin.py``); the same hub is
available outside pytest through ``start_hub``/``running_hub``.
"""

from pytest_realhub.config import DEFAULT_SCOPES
from pytest_realhub.errors import JupyterHubError, LoginFailed
from pytest_realhub.http import ApiClient, Form, HubResponse, HubSession
from pytest_realhub.hub import JupyterHub, running_hub, start_hub
from pytest_realhub.kernel import ExecutionResult
from pytest_realhub.logs import HubTraceback
from pytest_realhub.proxy import ProxyNotFound
from pytest_realhub.waiting import wait_until

__all__ = [
    "DEFAULT_SCOPES",
    "ApiClient",
    "ExecutionResult",
    "Form",
    "HubResponse",
    "HubSession",
    "HubTraceback",
    "JupyterHub",
    "JupyterHubError",
    "LoginFailed",
    "ProxyNotFound",
    "running_hub",
    "start_hub",
    "wait_until",
]
