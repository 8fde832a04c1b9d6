"""Every ``pattern`` of schemas/cluster.schema.json matches the WHOLE value: no leading or trailing whitespace, and
no trailing newline (which Python's ``$`` would let through). The cases are generated from the schema file itself,
so a new pattern is covered as soon as it gets an example below (a test fails until it has one)."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deployer import yamlio
from deployer.tools import find_tool
from helpers import PROJECT

SCHEMA_FILE = PROJECT / "schemas" / "cluster.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text())

Path_ = tuple[str | int, ...]

# A valid value for every place of cluster.yaml that has a pattern (list items as index 0).
EXAMPLES: dict[Path_, str] = {
    ("name",): "(folder)",
    ("gcp", "project"): "my-project-123",
    ("gcp", "location"): "us-central1",
    ("gcp", "key"): "gcp.key.secret.json",
    ("aws", "account_id"): "123456789012",
    ("aws", "region"): "us-west-2",
    ("aws", "role_arn"): "arn:aws:iam::123456789012:role/deployer",
    ("aws", "key"): "aws.key.secret.yaml",
    ("azure", "subscription_id"): "0b3b4c2e-1d2a-4e5f-8a9b-0c1d2e3f4a5b",
    ("azure", "tenant_id"): "0b3b4c2e-1d2a-4e5f-8a9b-0c1d2e3f4a5c",
    ("azure", "key"): "azure.key.secret.yaml",
    ("kubeconfig", "file"): "kubeconfig.secret.yaml",
    ("support", "helm_chart_values_files", 0): "support.values.yaml",
    ("hubs", 0, "name"): "h",
    ("hubs", 0, "domain"): "(folder).example.org",
    ("hubs", 0, "helm_chart"): "basehub",
    ("hubs", 0, "helm_chart_values_files", 0): "v.values.yaml",
}

# What a careless edit or a template may leave around a value.
VARIANTS = {
    "trailing-newline": "{}\n",
    "trailing-crlf": "{}\r\n",
    "leading-newline": "\n{}",
    "trailing-space": "{} ",
    "leading-space": " {}",
    "trailing-tab": "{}\t",
    "leading-tab": "\t{}",
}

# How validate words a failed pattern (the schema's relativeFile gets a message of its own).
PATTERN_MESSAGES = ("must match the pattern", "must be a path relative to the cluster folder")

PROVIDER_BLOCKS: dict[str, dict[str, str]] = {
    "gcp": {"project": "my-project-123", "location": "us-central1", "cluster": "x"},
    "aws": {"account_id": "123456789012", "region": "us-west-2", "cluster": "x"},
    "azure": {"subscription_id": "0b3b4c2e-1d2a-4e5f-8a9b-0c1d2e3f4a5b", "resource_group": "rg", "cluster": "x"},
    "kubeconfig": {},
}


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def pattern_places(node: dict[str, Any] = SCHEMA, at: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    """(key path in cluster.yaml, pattern) for every pattern of the schema, $refs followed."""
    node = _resolve(node)
    if "pattern" in node:
        yield at, node["pattern"]
    for key, child in node.get("properties", {}).items():
        yield from pattern_places(child, (*at, key))
    if isinstance(node.get("items"), dict):
        yield from pattern_places(node["items"], (*at, 0))


PLACES = dict(pattern_places())


def test_the_schema_has_patterns_and_each_has_an_example():
    assert len(PLACES) >= 15
    missing = set(PLACES) - set(EXAMPLES)
    assert not missing, f"give these pattern places an example value in EXAMPLES: {sorted(map(str, missing))}"


def test_every_pattern_is_anchored_at_both_true_ends():
    """The schema's documented form (its $comment): ``^...$(?!\\n)``, which ECMA-262 and Python read alike."""
    for place, pattern in PLACES.items():
        assert pattern.startswith("^") and pattern.endswith("$(?!\\n)"), (place, pattern)


def test_the_examples_match_their_patterns():
    for place, pattern in PLACES.items():
        value = EXAMPLES[place].replace("(folder)", "c1")
        assert re.search(pattern, value), (place, pattern)


def _cluster(folder: str, place: Path_, value: str) -> dict[str, Any]:
    provider = str(place[0]) if place[0] in PROVIDER_BLOCKS else "kubeconfig"
    raw: dict[str, Any] = {"name": folder, "provider": provider, provider: dict(PROVIDER_BLOCKS[provider])}
    if place[0] == "hubs":
        raw["hubs"] = [
            {
                "name": "h",
                "domain": f"{folder}.example.org",
                "helm_chart": "basehub",
                "helm_chart_values_files": ["v.values.yaml"],
            }
        ]
    if place[0] == "support":
        raw["support"] = {"helm_chart_values_files": ["support.values.yaml"]}
    node: Any = raw
    for key, nxt in itertools.pairwise(place):
        if isinstance(node, dict) and key not in node:
            node[key] = [] if isinstance(nxt, int) else {}
        if isinstance(node, list) and not node:
            node.append({})
        node = node[key]
    if isinstance(node, list) and not node:
        node.append(value)
    else:
        node[place[-1]] = value
    return raw


def _fleet(root: Path) -> dict[str, tuple[Path_, str, str]]:
    """One cluster folder per (pattern place, variant), plus one with the plain example: folder -> (place, variant,
    value)."""
    made: dict[str, tuple[Path_, str, str]] = {}
    for i, place in enumerate(sorted(PLACES, key=str)):
        for j, (variant, form) in enumerate({"valid": "{}", **VARIANTS}.items()):
            folder = f"p{i}-{j}"
            value = form.format(EXAMPLES[place].replace("(folder)", folder))
            cdir = root / "config" / "clusters" / folder
            cdir.mkdir(parents=True)
            (cdir / "cluster.yaml").write_text(yamlio.dumps(_cluster(folder, place, value)))
            (cdir / "v.values.yaml").write_text(f"identity: {{cluster: {folder}}}\n")
            (cdir / "support.values.yaml").write_text("clusterIssuer:\n  enabled: false\n")
            made[folder] = (place, variant, value)
    return made


def test_every_pattern_refuses_surrounding_whitespace_and_newlines(mini_repo, cli, demo_key_env):
    made = _fleet(mini_repo)
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    *lines, summary = result.err.splitlines()
    assert re.search(r"problem\(s\)(, \d+ warning\(s\))? found\.$", summary), result.err
    lines = [ln for ln in lines if not ln.startswith("warning: ")]  # the test clusters' unlisted values files
    broken = [ln for ln in lines if not re.match(r"config/clusters/[-a-z0-9]+/[^:]+(:\d+)?: ", ln)]
    assert not broken, f"every problem must be ONE line naming its file: {broken}"
    for folder, (place, variant, value) in made.items():
        rel = f"config/clusters/{folder}/cluster.yaml"
        mine = [ln for ln in lines if ln.startswith(f"{rel}:")]
        pattern_lines = [ln for ln in mine if any(words in ln for words in PATTERN_MESSAGES)]
        if variant == "valid":
            assert not pattern_lines, f"{place} = {value!r} is valid, but:\n" + "\n".join(mine)
            continue
        assert pattern_lines, f"{place} = {value!r} ({variant}) was let through; its lines:\n" + "\n".join(mine)
        assert all(re.match(rf"{re.escape(rel)}:\d+: ", ln) for ln in pattern_lines), pattern_lines


@pytest.mark.parametrize("regex_variant", ["default", "python"])
def test_check_jsonschema_agrees_in_both_regex_dialects(tmp_path, regex_variant):
    """Editors and check-jsonschema read the patterns as ECMA-262 regexes, Python tools with Python's ``re``: the
    schema's form means the same in both."""
    made = _fleet(tmp_path)
    exe = find_tool("check-jsonschema")

    def check(folders: list[str]) -> subprocess.CompletedProcess[str]:
        files = [str(tmp_path / "config" / "clusters" / f / "cluster.yaml") for f in folders]
        argv = [str(exe), "--regex-variant", regex_variant, "--schemafile", str(SCHEMA_FILE), *files]
        return subprocess.run(argv, capture_output=True, text=True)

    valid = check([f for f, (_, variant, _) in made.items() if variant == "valid"])
    assert valid.returncode == 0, valid.stdout + valid.stderr
    invalid = [f for f, (_, variant, _) in made.items() if variant != "valid"]
    proc = check(invalid)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    let_through = [made[f] for f in invalid if f"/{f}/cluster.yaml" not in proc.stdout]
    assert not let_through, let_through


@pytest.mark.parametrize("value", [r"c1\n", r"c1\r\n", " c1", "c1 ", r"\tc1"])
def test_chart_schema_patterns_match_the_whole_value_too(mini_repo, cli, demo_key_env, value):
    """A chart's values.schema.json pattern means what helm (Go regexp) means: ``$`` is the end of the text."""
    values = mini_repo / "config/clusters/c1/h1.values.yaml"
    values.write_text(values.read_text() + f'networkPolicy:\n  allowFromNamespaces: ["{value}"]\n')  # YAML escapes
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 2, result.output
    *lines, summary = result.err.splitlines()
    assert summary == "1 problem(s) found." and "Traceback" not in result.output, result.err
    assert re.match(r"config/clusters/c1/h1\.values\.yaml:4: hub 'h1' .*must match the pattern", lines[0]), lines


@pytest.mark.parametrize("value", ["prod\n", "prod\r\n", " prod", "prod ", "\nprod"])
def test_the_kubernetes_stand_in_refuses_names_with_whitespace(value):
    """The stand-in API server checks names as the real one does (Go's ``$`` is the end of the text)."""
    from deployer.testing.kubeapi.names import dns1035_label, dns1123_label, dns1123_subdomain

    assert dns1123_label(value) and dns1123_subdomain(value) and dns1035_label(value)
    assert not dns1123_label("prod") and not dns1123_subdomain("prod.example") and not dns1035_label("prod")


@pytest.mark.parametrize("key, valid", [("a1", True), ("a1\n", False), ("x-a1", False), ("properties", True)])
def test_pattern_properties_keys_match_the_whole_key(key, valid):
    """A ``patternProperties`` regex means what helm means as well: with ``additionalProperties: false``, a key with
    a trailing newline is unknown, in the fast check and in the messages alike, wherever the keyword sits (and a
    property that happens to be named ``patternProperties`` is not mistaken for one)."""
    from deployer.config.schema import Schema

    inner = {"type": "object", "patternProperties": {"^a[0-9]$": {"type": "integer"}}, "additionalProperties": False}
    named = {"type": "object", "properties": {"patternProperties": {"type": "object", "properties": {"^x$": {}}}}}
    schema = Schema({"type": "object", "properties": {"x": {"anyOf": [inner]}, "y": named}})
    instance = {"x": {key: 1}, "y": {"patternProperties": {"^x$": 1}}}
    if key == "properties":
        instance = {"x": {"a1": 1}, "y": {"patternProperties": {"^x$": 1, "other": 2}}}
    assert schema.is_valid(instance) is valid
    assert (not list(schema.full.iter_errors(instance))) is valid
