"""``wait_until``: poll a condition until it holds, failing with what was last seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from .errors import JupyterHubError

__all__ = ["wait_until"]

T = TypeVar("T")

_MAX_INTERVAL = 0.5


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    message: str = "",
    context: Callable[[], str] | None = None,
) -> T:
    """Call ``predicate`` until it returns a truthy value, and return that value.

    An ``AssertionError`` raised by ``predicate`` counts as "not yet", so a function made of ``assert`` statements
    works as a predicate; any other exception propagates at once. The pause between calls starts at ``interval``
    and grows by half each time, up to 0.5 s (or ``interval`` if that is larger). After ``timeout`` seconds
    ``JupyterHubError`` is raised: ``"<message> not true after <timeout>s; last: <last value or assertion>"``,
    followed by ``context()`` when given (e.g. the hub's log tail).
    """
    deadline = time.monotonic() + timeout
    pause = interval
    cap = max(interval, _MAX_INTERVAL)
    last: str = "never called"
    while True:
        try:
            value = predicate()
        except AssertionError as exc:
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            if value:
                return value
            last = repr(value)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(pause, remaining))
        pause = min(pause * 1.5, cap)
    what = message or getattr(predicate, "__qualname__", None) or repr(predicate)
    text = f"{what} not true after {timeout:g}s; last: {last}"
    if context is not None:
        extra = context()
        text += extra if not extra or extra.startswith("\n") else "\n" + extra
    raise JupyterHubError(text)
