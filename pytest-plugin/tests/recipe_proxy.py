"""The proxy of the README's custom-proxy recipe (imported by the hub process from this folder).

``RecordingProxy`` is configurable-http-proxy as JupyterHub drives it, and also logs every route it adds or
deletes (``RecordingProxy: add /user/alice/ -> http://127.0.0.1:...``) in the hub's log.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.proxy import ConfigurableHTTPProxy


class RecordingProxy(ConfigurableHTTPProxy):  # type: ignore[misc]
    """The real configurable-http-proxy, with every route change in the hub's log."""

    async def add_route(self, routespec: str, target: str, data: dict[str, Any]) -> None:
        self.log.info("RecordingProxy: add %s -> %s", routespec, target)
        await super().add_route(routespec, target, data)

    async def delete_route(self, routespec: str) -> None:
        self.log.info("RecordingProxy: delete %s", routespec)
        await super().delete_route(routespec)
