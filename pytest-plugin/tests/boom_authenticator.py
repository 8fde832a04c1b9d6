"""An authenticator for test_http.py (imported by the hub process from this folder, not by pytest).

``BoomAuthenticator``: the dummy authenticator, except that the user ``boom`` makes it raise
``ValueError("boom: the authenticator failed")`` -- an uncaught exception, so the hub answers 500 and logs a
traceback -- and the user ``refused`` is refused (the login page shows its error message).
"""

from __future__ import annotations

from typing import Any

from jupyterhub.auth import DummyAuthenticator


class BoomAuthenticator(DummyAuthenticator):  # type: ignore[misc]
    """Accepts everyone (any password) except ``refused`` (refused) and ``boom`` (raises)."""

    async def authenticate(self, handler: Any, data: dict[str, str]) -> Any:
        if data.get("username") == "boom":
            raise ValueError("boom: the authenticator failed")
        if data.get("username") == "refused":
            return None
        return await super().authenticate(handler, data)
