"""The fork server's deferred import (``forkserver.DEFERRED``): the stand-in module gives the real results."""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = """
import json, sys
if sys.argv[1] == "deferred":
    from pytest_realhub.forkserver import _defer_imports
    _defer_imports()
import jsonschema
stood_in = type(sys.modules["rfc3987_syntax"]).__name__ == "_DeferredModule"
checker = jsonschema.FormatChecker()
values = ["http://example.org/\\u00e4", "not an iri", "urn:x:y", "http://[::1", ""]
print(json.dumps({"stood_in": stood_in, "results": [checker.conforms(v, "iri") for v in values]}))
"""


def _run(mode: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", CHECK, mode], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def test_a_deferred_module_answers_as_the_real_one():
    deferred, real = _run("deferred"), _run("real")
    assert deferred["stood_in"] is True and real["stood_in"] is False
    assert deferred["results"] == real["results"]
    assert True in real["results"] and False in real["results"]
