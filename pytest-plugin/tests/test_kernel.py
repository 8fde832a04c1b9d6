"""``run_code`` against a real single-user server behind the hub's proxy: result, output, errors, cleanup."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_realhub.errors import JupyterHubError
from pytest_realhub.kernel import ExecutionResult, run_code


@pytest.fixture(scope="module")
def server(jupyterhub_session: Any) -> Iterator[tuple[Any, str]]:
    """A running server on the session's shared hub: (hub, its URL path as the hub's API gives it)."""
    hub = jupyterhub_session
    name = hub.unique_user("kernel")
    url = hub.start_server(name)
    yield hub, url
    hub.delete_user(name)


def _kernels(hub: Any, url: str) -> list[Any]:
    answer = hub.api.get(hub.url.rstrip("/") + url + "api/kernels")
    assert answer.status_code == 200, answer.text
    kernels: list[Any] = answer.json()
    return kernels


def test_result_stdout_and_stderr(server: tuple[Any, str]) -> None:
    hub, url = server
    result = run_code(hub.api, url, "import sys\nprint('out')\nprint('err', file=sys.stderr)\n6 * 7", timeout=60)
    assert result == ExecutionResult(kernel="python3", result="42", stdout="out\n", stderr="err\n", error=None)
    assert result.ok
    assert _kernels(hub, url) == []  # the kernel was shut down


def test_an_exception_in_the_code_is_reported(server: tuple[Any, str]) -> None:
    hub, url = server
    result = run_code(hub.api, url, "print('before')\n1 / 0", timeout=60)
    assert not result.ok
    assert result.error == "ZeroDivisionError: division by zero"
    assert (result.stdout, result.result) == ("before\n", None)
    assert _kernels(hub, url) == []


def test_failures_say_what_failed(server: tuple[Any, str]) -> None:
    hub, url = server
    with pytest.raises(JupyterHubError, match=r"did not finish running 'import time; time.sleep\(30\)' in time"):
        run_code(hub.api, url, "import time; time.sleep(30)", timeout=3)
    assert _kernels(hub, url) == []  # removed even so
    with pytest.raises(JupyterHubError, match=r"refused to start a kernel: POST .*/user/nobody/api/kernels"):
        run_code(hub.api, "/user/nobody/", "1", timeout=10)


def test_it_runs_inside_an_async_test(server: tuple[Any, str]) -> None:
    hub, url = server

    async def an_async_test() -> ExecutionResult:  # as pytest-asyncio runs one: in an event loop
        return run_code(hub.api, url, "1 + 1", timeout=60)

    assert asyncio.run(an_async_test()).result == "2"
