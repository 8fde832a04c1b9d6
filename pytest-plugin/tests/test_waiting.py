"""``wait_until``: returns the first truthy value; AssertionError means "not yet"; times out with the last value."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from pytest_realhub.errors import JupyterHubError
from pytest_realhub.waiting import wait_until


def test_returns_the_first_truthy_value() -> None:
    values: Iterator[object] = iter([None, 0, [], {"ready": True}])
    assert wait_until(lambda: next(values), interval=0.001) == {"ready": True}


def test_an_assertion_means_not_yet() -> None:
    calls = itertools.count(1)

    def ready() -> int:
        n = next(calls)
        assert n >= 3, f"only {n} calls"
        return n

    assert wait_until(ready, interval=0.001) == 3


def test_other_exceptions_propagate_at_once() -> None:
    calls = itertools.count(1)

    def broken() -> bool:
        next(calls)
        raise KeyError("oops")

    with pytest.raises(KeyError):
        wait_until(broken, timeout=5)
    assert next(calls) == 2  # called once


def test_timeout_says_what_was_last_seen_and_adds_context() -> None:
    started = time.monotonic()
    with pytest.raises(JupyterHubError) as info:
        wait_until(lambda: [], timeout=0.3, message="server of alice stopped", context=lambda: "hub log tail")
    assert 0.3 <= time.monotonic() - started < 1.5
    assert str(info.value) == "server of alice stopped not true after 0.3s; last: []\nhub log tail"
    assert isinstance(info.value, AssertionError)


def test_timeout_names_the_predicate_and_the_last_assertion() -> None:
    def user_is_gone() -> bool:
        raise AssertionError("alice still listed")

    with pytest.raises(JupyterHubError, match=r"user_is_gone not true after 0.2s; last: AssertionError: alice still"):
        wait_until(user_is_gone, timeout=0.2)
