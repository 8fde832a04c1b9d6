"""Step ``proxy``: the user's server answers through the hub's public URL (the proxy's route to it works and
the server accepts the token: ``GET /user/NAME/api`` gives jupyter_server's version)."""

from __future__ import annotations

from deployer.health.base import CheckContext, StepFailed
from deployer.health.client import HubUnreachable


def require_server_url(ctx: CheckContext) -> str:
    """The user's server URL; fails the step when there is none (the spawn step did not run)."""
    if ctx.server_url is None:
        raise StepFailed("no server URL (the spawn step did not run)")
    return ctx.server_url


def server_api(ctx: CheckContext) -> str:
    return require_server_url(ctx).rstrip("/") + "/api"


class ServerAnswers:
    name = "proxy"

    def run(self, ctx: CheckContext) -> str:
        path = server_api(ctx)
        try:
            resp = ctx.client.request("GET", path, timeout=ctx.timeout())
        except HubUnreachable as exc:
            raise StepFailed(f"the server does not answer through the proxy: {exc}") from None
        data = resp.json()
        if resp.status == 200 and isinstance(data, dict) and "version" in data:
            return f"jupyter_server {data['version']} answers at {ctx.client.absolute(path)}"
        if resp.status in (301, 302, 303, 307, 308):
            raise StepFailed(
                f"{path} redirects to {resp.headers.get('Location', '?')} instead of answering: "
                "the server did not accept the token"
            )
        if resp.status == 403:
            raise StepFailed(f"{path}: HTTP 403 ({resp.message}): the token needs the access:servers scope")
        raise StepFailed(f"{path} answered HTTP {resp.status}: {resp.message}")
