"""Step ``hub-api``: the hub's REST API answers, gives its version, and accepts the token with the scopes the
check needs. A refused token or missing scopes is bad input (``TokenRefused``, exit 2), not an unhealthy hub."""

from __future__ import annotations

from deployer.health.base import CheckContext, StepFailed, TokenRefused
from deployer.health.client import HubUnreachable

# what the basehub chart grants the deployer-health-check service (helm-charts/basehub/values.yaml)
REQUIRED_SCOPES = ("admin:users", "admin:servers", "access:servers")


class HubAPI:
    name = "hub-api"

    def run(self, ctx: CheckContext) -> str:
        client = ctx.client
        try:
            root = client.api("GET", "", timeout=ctx.timeout())
        except HubUnreachable as exc:
            raise StepFailed(f"the hub does not answer: {exc}") from None
        data = root.json()
        if root.status != 200 or not isinstance(data, dict) or "version" not in data:
            where = client.api_url("")
            if root.status in (301, 302, 303, 307, 308):
                raise StepFailed(f"{where} redirects to {root.headers.get('Location', '?')}: not a JupyterHub API")
            raise StepFailed(f"{where} answered HTTP {root.status} ({root.message}): not a JupyterHub API")
        ctx.hub_version = str(data["version"])

        try:
            me = client.api("GET", "user", timeout=ctx.timeout())
        except HubUnreachable as exc:
            raise StepFailed(f"the hub does not answer: {exc}") from None
        if me.status in (401, 403):
            raise TokenRefused(
                f"the hub at {client.url} refused the API token (HTTP {me.status}): pass the token of a service "
                "or admin with the scopes "
                + ", ".join(REQUIRED_SCOPES)
                + " (--token or JUPYTERHUB_API_TOKEN; without them the deployer reads the basehub "
                "deployer-health-check token from the hub's Secret)"
            )
        who = me.json()
        if not me.ok or not isinstance(who, dict):
            raise StepFailed(f"GET {client.api_url('user')} answered HTTP {me.status}: {me.message}")
        scopes = set(who.get("scopes") or ())
        missing = [s for s in REQUIRED_SCOPES if s not in scopes]
        identity = f"{who.get('kind', 'token')} {who.get('name', '?')}"
        if scopes and missing:
            raise TokenRefused(
                f"the API token ({identity}) lacks the scopes the health check needs: " + ", ".join(missing)
            )
        return f"JupyterHub {ctx.hub_version} answers; token of {identity}"
