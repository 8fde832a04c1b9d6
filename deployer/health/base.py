"""The protocol every health-check step follows, and the context the steps share within one attempt.

A step is an object with a ``name`` and ``run(ctx) -> str``: it returns a one-line message for the report, or
raises ``StepFailed`` with the hub's own message. Anything a later step needs (the server's URL) goes into the
``CheckContext``. Steps never print; ``deployer.health.check`` times them, runs the clean-up steps after a
failure, and builds the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from deployer.errors import UsageError
from deployer.health.client import HubClient

DEFAULT_USER = "deployer-health-check"
REQUEST_TIMEOUT = 30.0  # one HTTP request never waits longer than this (nor past the attempt's deadline)


class StepFailed(Exception):
    """A step failed; the message says why, in the hub's words where it gave any."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TokenRefused(UsageError):
    """The hub refused the API token, or the token lacks scopes the check needs: bad input (exit 2)."""


@dataclass
class CheckContext:
    client: HubClient
    username: str
    deadline: float  # time.monotonic() value after which the attempt has failed
    hub_version: str | None = None
    user_exists: bool = False  # the test user exists on the hub (created or reused)
    server_requested: bool = False  # a server may be running or pending
    server_url: str | None = None  # absolute path of the user's server, e.g. /user/NAME/
    dask_requested: bool = False  # a Dask cluster of the test user may exist (deployer.health.dask)
    dask_cluster: str | None = None  # the name of the one the dask-cluster step created

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def timeout(self, cap: float = REQUEST_TIMEOUT) -> float:
        """The timeout for one request: at most ``cap``, never past the deadline; fails once it has passed."""
        left = self.remaining()
        if left <= 0:
            raise StepFailed("timed out: the attempt's time budget (--timeout) ran out")
        return min(cap, left)


class Step(Protocol):
    name: str

    def run(self, ctx: CheckContext) -> str: ...
