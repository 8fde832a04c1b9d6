"""``pytest_realhub.logs``: finding tracebacks in a hub's log, tails, and what was written since a mark.

The samples are real: JUPYTERHUB_500 is what JupyterHub 6.1 logged for an authenticator raising in
``authenticate`` (boom_authenticator.py), with the proxy's lines as configurable-http-proxy writes them into the
same file.
"""

from __future__ import annotations

from pathlib import Path

from pytest_realhub.logs import HubTraceback, LogWatcher, context, read_text, tail, tracebacks

SITE = "/srv/venv/lib/python3.11/site-packages"
BLANK = "    "  # the hub indents every line of a record, empty ones too
JUPYTERHUB_500 = f"""\
[I 2026-11-30 05:18:11.219 JupyterHub log:192] 200 GET /hub/login (@127.0.0.1) 26.37ms
[E 2026-11-30 05:18:11.221 JupyterHub web:2108] Uncaught exception POST /hub/login (127.0.0.1)
    HTTPServerRequest(protocol='http', host='127.0.0.1:55357', method='POST', uri='/hub/login', \
version='HTTP/1.1', remote_ip='127.0.0.1')
    Traceback (most recent call last):
      File "{SITE}/tornado/web.py", line 2004, in _execute
        result = await result
                 ^^^^^^^^^^^^
      File "{SITE}/jupyterhub/handlers/login.py", line 207, in post
        user = await self.login_user(data)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "{SITE}/jupyterhub/auth.py", line 774, in get_authenticated_user
        authenticated = await maybe_future(self.authenticate(handler, data))
                        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "/src/tests/boom_authenticator.py", line 19, in authenticate
        raise ValueError("boom: the authenticator failed")
    ValueError: boom: the authenticator failed
{BLANK}
[E 2026-11-30 05:18:11.239 JupyterHub log:184] {{
      "Host": "127.0.0.1:55357",
      "Content-Type": "application/x-www-form-urlencoded"
    }}
[E 2026-11-30 05:18:11.239 JupyterHub log:192] 500 POST /hub/login (@127.0.0.1) 18.64ms
2026-11-30T05:18:11.240Z [ConfigProxy] \x1b[32minfo\x1b[39m: 200 GET /api/routes
[I 2026-11-30 05:18:11.257 JupyterHub base:1033] User logged in: alice
"""

CHAINED = f"""\
[I 2026-11-30 06:00:00.000 JupyterHub app:3944] JupyterHub is now running at http://127.0.0.1:8000/
[E 2026-11-30 06:00:01.000 JupyterHub web:2108] Uncaught exception GET /hub/api/users (127.0.0.1)
    HTTPServerRequest(protocol='http', host='127.0.0.1:8000', method='GET', uri='/hub/api/users', \
version='HTTP/1.1', remote_ip='127.0.0.1')
    Traceback (most recent call last):
      File "{SITE}/component/handler.py", line 3, in get
        {{}}["missing"]
    KeyError: 'missing'
{BLANK}
    During handling of the above exception, another exception occurred:
{BLANK}
    Traceback (most recent call last):
      File "{SITE}/tornado/web.py", line 2004, in _execute
2026-11-30T06:00:01.001Z [ConfigProxy] \x1b[31merror\x1b[39m: 503 GET /user/bob/ socket hang up
        result = await result
      File "{SITE}/component/handler.py", line 5, in get
        raise RuntimeError("lookup failed")
    RuntimeError: lookup failed
[W 2026-11-30 06:00:01.002 JupyterHub log:192] 500 GET /hub/api/users (admin@127.0.0.1) 3.10ms
Traceback (most recent call last):
  File "/srv/singleuser.py", line 1, in <module>
    import missing_module
ModuleNotFoundError: No module named 'missing_module'
[I 2026-11-30 06:00:02.000 JupyterHub log:192] 200 GET /hub/api/ (test-service@127.0.0.1) 1.00ms
"""


def test_jupyterhub_uncaught_exception_is_one_traceback_with_its_log_record() -> None:
    [found] = tracebacks(JUPYTERHUB_500)
    assert found.summary == "ValueError: boom: the authenticator failed"
    assert found.line == 2
    lines = found.text.splitlines()
    assert lines[0].startswith("[E 2026-11-30 05:18:11.221 JupyterHub web:2108] Uncaught exception POST /hub/login")
    assert lines[-1] == "    ValueError: boom: the authenticator failed"
    assert 'raise ValueError("boom: the authenticator failed")' in found.text
    assert "log:184" not in found.text  # the request-headers record after it is not part of it
    assert str(found) == found.text


def test_chained_exceptions_are_one_entry_and_proxy_lines_are_left_out() -> None:
    first, second = tracebacks(CHAINED)
    assert first.summary == "RuntimeError: lookup failed"
    assert first.line == 2
    assert "KeyError: 'missing'" in first.text and "During handling of the above exception" in first.text
    assert "ConfigProxy" not in first.text
    assert first.text.splitlines()[-1] == "    RuntimeError: lookup failed"
    # a plain (unindented) traceback a single-user server printed to the same file
    assert second == HubTraceback(
        summary="ModuleNotFoundError: No module named 'missing_module'",
        text="\n".join(CHAINED.splitlines()[18:22]),
        line=19,
    )
    assert second.text.startswith("Traceback (most recent call last):")


def test_no_tracebacks_in_a_clean_log() -> None:
    assert tracebacks(JUPYTERHUB_500.split("[E ")[0]) == []
    assert tracebacks("") == []


def test_tail_and_read_text(tmp_path: Path) -> None:
    assert tail("a\nb\nc\n", 2) == "b\nc"
    assert tail("a\nb", 10) == "a\nb"
    assert tail("a\nb", 0) == ""
    assert read_text(tmp_path / "missing.log") == ""


def test_watcher_reads_what_was_written_since_a_mark(tmp_path: Path) -> None:
    log = tmp_path / "jupyterhub.log"
    watcher = LogWatcher(log)
    assert watcher.mark() == 0 and watcher.since(0) == ""  # no file yet
    log.write_text(CHAINED)
    mark = watcher.mark()
    assert [t.summary for t in watcher.tracebacks_since(0)] == [
        "RuntimeError: lookup failed",
        "ModuleNotFoundError: No module named 'missing_module'",
    ]
    assert watcher.tracebacks_since(mark) == []
    with log.open("a") as f:
        f.write(JUPYTERHUB_500)
    assert watcher.since(mark) == JUPYTERHUB_500
    [new] = watcher.tracebacks_since(mark)
    assert new.summary == "ValueError: boom: the authenticator failed"
    assert new.line == len(CHAINED.splitlines()) + 2  # counted from the start of the file
    assert log.read_text().splitlines()[new.line - 1].startswith("[E 2026-11-30 05:18:11.221")


def test_context_lists_new_tracebacks_then_the_tail(tmp_path: Path) -> None:
    log = tmp_path / "jupyterhub.log"
    log.write_text(CHAINED)
    mark = LogWatcher(log).mark()
    with log.open("a") as f:
        f.write(JUPYTERHUB_500)
    text = context(log, since_offset=mark, lines=3)
    assert text.startswith("\n--- hub tracebacks ---\n[E 2026-11-30 05:18:11.221")
    assert "RuntimeError" not in text  # logged before the mark
    head, _, last = text.partition(f"--- {log} (last 3 lines) ---\n")
    assert "ValueError: boom" in head
    assert last == tail(log.read_text(), 3)
    assert "--- hub tracebacks ---" not in context(log)  # without a mark: only the tail
    assert "--- hub tracebacks ---" not in context(log, since_offset=LogWatcher(log).mark())
