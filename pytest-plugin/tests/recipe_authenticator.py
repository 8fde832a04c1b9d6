"""The authenticator of the README's authenticator recipe (imported by the hub process from this folder).

``TeamAuthenticator`` lets in the members of its ``team`` with the team's shared ``password``, nobody else.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.auth import Authenticator
from traitlets import Set, Unicode


class TeamAuthenticator(Authenticator):  # type: ignore[misc]
    """Members of ``team`` log in with ``password``; everyone else is refused."""

    team = Set(Unicode(), config=True, help="who may log in")
    password = Unicode(config=True, help="the team's shared password")

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        if data["username"] in self.team and data["password"] == self.password:
            return data["username"]
        return None

    def check_allowed(self, username: str, authentication: Any = None) -> bool:
        return username in self.team
