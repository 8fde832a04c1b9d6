"""The errors the plugin's helpers raise: both are ``AssertionError`` so pytest reports them as test failures."""

from __future__ import annotations

import requests

__all__ = ["JupyterHubError", "LoginFailed"]


class JupyterHubError(AssertionError):
    """A helper's request failed or the hub did not start; the message ends with the hub's log context."""


class LoginFailed(JupyterHubError):
    """A login through the hub's form was refused.

    ``.message`` is the login page's error (or ``HTTP <status>``), ``.status`` the HTTP status of the answer to the
    form's POST and ``.response`` that answer (``None`` when there was none).
    """

    def __init__(self, message: str, status: int, response: requests.Response | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.response = response
