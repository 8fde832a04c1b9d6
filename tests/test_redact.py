"""deployer.redact.Redactor: a secret value is hidden in every form helm, Kubernetes and the deployer print it."""

from __future__ import annotations

import base64
import io
import json
import random
import string
import time
import urllib.parse

import pytest
import yaml

from deployer.redact import REDACTED, Redactor, go_quote, yaml_double_quote
from deployer.run import Redactor as RunRedactor

# Hostile values: what a quoting or escaping printer changes.
HOSTILE = [
    'pa"ss\\word-1',
    "it's-a-secret",
    "line one secret\nline two secret",
    "tab\tseparated-secret",
    "ünïcødé-sécret-✓",
    "emoji-🔑-secret-value",
    "ctl\x01\x7f-secret-value",
    "html<&>secret-value",
    "nbsp\xa0and\u2028separator",
    "mix\"\\\n\t'ü-all",
]


def _go_json(value: str) -> str:
    out = json.dumps(value, ensure_ascii=False)[1:-1]
    return out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def printed_forms(value: str) -> dict[str, str]:
    """How real printers show ``value`` (independently of the redactor's own encoders where one exists)."""
    raw = value.encode()
    forms = {
        "raw": value,
        "json": json.dumps(value),
        "json unicode": json.dumps(value, ensure_ascii=False),
        "go json": _go_json(value),
        "json in json": json.dumps(json.dumps(value, ensure_ascii=False), ensure_ascii=False),
        "go %q": '"' + go_quote(value) + '"',
        "go %+q": '"' + go_quote(value, ascii_only=True) + '"',
        "yaml double-quoted": yaml.dump(value, default_style='"', allow_unicode=True, width=10**6).strip(),
        "yaml double-quoted ascii": yaml.dump(value, default_style='"', width=10**6).strip(),
        "yaml single-quoted": "'" + value.replace("'", "''") + "'",
        "url": urllib.parse.quote(value, safe=""),
        "url plus": urllib.parse.quote_plus(value),
        "base64": base64.b64encode(raw).decode(),
        "base64 unpadded": base64.b64encode(raw).decode().rstrip("="),
        "base64 urlsafe": base64.urlsafe_b64encode(raw).decode(),
        "base64 urlsafe unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "upper case": value.upper(),
        "lower case": value.lower(),
    }
    return forms


@pytest.mark.parametrize("value", HOSTILE)
def test_every_printed_form_of_a_hostile_value_is_redacted(value: str) -> None:
    redactor = Redactor()
    redactor.add_tree({"hub": {"password": value}})
    for name, form in printed_forms(value).items():
        text = f'Error: Secret "hub" is invalid: data[password]: Invalid value: {form} (end)'
        shown = redactor(text)
        assert form not in shown, f"{name}: {shown!r}"
        assert REDACTED in shown and shown.endswith(" (end)"), f"{name}: {shown!r}"
    # and not one non-trivial line of it survives
    for line in value.splitlines():
        if len(line) >= 8:
            assert line not in redactor(f"x {line} y")


def test_go_quote_matches_strconv_quote() -> None:
    # expectations written from Go's strconv.Quote / QuoteToASCII
    assert go_quote('a"b\\c\nd\te\x01\x7f') == 'a\\"b\\\\c\\nd\\te\\x01\\x7f'
    assert go_quote("é\u200b🔑") == "é\\u200b🔑"
    assert go_quote("é🔑", ascii_only=True) == "\\u00e9\\U0001f511"


def test_yaml_double_quote_matches_a_yaml_emitter() -> None:
    for value in HOSTILE:
        dumped = yaml.dump(value, default_style='"', allow_unicode=True, width=10**6).strip()
        assert dumped == '"' + yaml_double_quote(value) + '"'
        assert yaml.safe_load(dumped) == value


def test_case_insensitive_only_for_long_values_and_never_for_base64() -> None:
    redactor = Redactor(["Hunter2-Secret", "AbCd"])
    assert redactor("x HUNTER2-SECRET hunter2-secret y") == f"x {REDACTED} {REDACTED} y"
    assert redactor("AbCd abcd ABCD") == f"{REDACTED} abcd ABCD"  # short: exact only (ordinary words stay)
    b64 = base64.b64encode(b"Hunter2-Secret").decode()
    assert redactor(b64) == REDACTED
    assert redactor(b64.swapcase()) == b64.swapcase()  # another base64 string, not the value's


def test_short_values_booleans_and_sops_metadata_are_not_redacted() -> None:
    redactor = Redactor()
    redactor.add_tree({"a": "abc", "b": True, "c": None, "sops": {"mac": "ENC[keep-this]"}, "n": [1234567]})
    assert redactor("abc True ENC[keep-this] 1234567") == f"abc True ENC[keep-this] {REDACTED}"


def test_overlapping_values_leave_no_part_visible() -> None:
    redactor = Redactor(["xxab", "abcdefghijkl"])
    assert redactor("before xxabcdefghijkl after") == f"before {REDACTED} after"
    assert redactor("xxab and abcdefghijkl") == f"{REDACTED} and {REDACTED}"


def test_values_added_later_are_redacted_too() -> None:
    redactor = Redactor(["first-secret"])
    assert redactor("first-secret second-secret") == f"{REDACTED} second-secret"
    redactor.add("second-secret")
    assert redactor("first-secret second-secret") == f"{REDACTED} {REDACTED}"


def test_run_module_still_exports_the_redactor() -> None:
    assert RunRedactor is Redactor


def test_deeply_nested_and_prefix_chained_values_do_not_break_it() -> None:
    deep: object = "deep-secret-value"
    for _ in range(5000):
        deep = {"k": deep}
    redactor = Redactor()
    redactor.add_tree(deep)
    chain = ["p" * n + "-secret" for n in range(1, 300)]  # prefixes of each other: a deep prefix tree
    redactor.add(*chain)
    assert redactor("a deep-secret-value b " + chain[-1]) == f"a {REDACTED} b {REDACTED}"


def test_many_secrets_stay_fast() -> None:
    rng = random.Random(13)
    alphabet = string.ascii_letters + string.digits + "\"\\'\n\t ü"
    values = ["".join(rng.choice(alphabet) for _ in range(24)) for _ in range(500)]
    redactor = Redactor()
    redactor.add_tree({"v": values})
    line = 'Error: UPGRADE FAILED: cannot patch "hub" with kind Deployment: spec.template: Invalid value: "x"\n'
    text = line * 2000  # ~200 KB of helm output
    redactor("warm up: compile")
    started = time.perf_counter()
    assert redactor(text) == text
    shown = redactor(text + json.dumps(values[250]))
    elapsed = time.perf_counter() - started
    assert shown.endswith(REDACTED + '"')
    assert elapsed < 2.0, f"{elapsed:.2f} s for 400 KB with 500 secrets"


def test_report_json_summary_and_progress_lines_are_redacted_whatever_made_the_error(tmp_path) -> None:
    from deployer.cli._deploying import Progress
    from deployer.deploy.report import ReleaseResult, Report

    value = 'pa"ss\\word-1'
    redactor = Redactor([value])
    error = f"Error: some step failed: {json.dumps(value)} / {base64.b64encode(value.encode()).decode()}"
    report = Report("c1", [ReleaseResult("h1", "hub", "failed", None, 1.0, error)]).redacted(redactor)
    report.write(tmp_path / "report.json")
    stream = io.StringIO()
    progress = Progress(stream=stream, tty=False)
    progress.redact = redactor
    progress.log(error)
    for text in ((tmp_path / "report.json").read_text(), report.markdown(), report.table(), stream.getvalue()):
        assert "word-1" not in text and base64.b64encode(value.encode()).decode() not in text
    assert REDACTED in report.markdown() and REDACTED in stream.getvalue()
