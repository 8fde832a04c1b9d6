"""The spawner of the README's spawner recipe (imported by the hub process from this folder).

``GreetingSpawner`` is the local-process spawner that also gives every server ``GREETING=Hello, <user>``.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.spawner import SimpleLocalProcessSpawner


class GreetingSpawner(SimpleLocalProcessSpawner):  # type: ignore[misc]
    """A local server whose environment greets its user."""

    def get_env(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_env()
        env["GREETING"] = f"Hello, {self.user.name}"
        return env
