"""yamlio refuses documents nested deeper than MAX_DEPTH (100 levels), so nothing downstream (values coalescing,
schema validation) can overflow the stack: ``path:line: nested deeper than 100 levels``, exit 2, fast."""

from __future__ import annotations

import re
import time

import pytest

from deployer import yamlio

DEEP = "nested deeper than 100 levels"


def flow_lists(n: int) -> str:
    return "[" * n + "]" * n


def flow_maps(n: int) -> str:
    return "{a: " * n + "1" + "}" * n


def block_maps(n: int, indent: int = 0) -> str:
    return "".join("\n" + " " * (indent + i + 1) + "a:" for i in range(n)) + " 1"


def dashes(n: int) -> str:
    return "- " * n + "x"


@pytest.mark.parametrize("levels", [99, 100])
def test_up_to_the_limit_is_read(levels):
    assert yamlio.loads(flow_lists(levels)) is not None
    assert yamlio.loads("a:" + block_maps(levels - 1)) is not None


@pytest.mark.parametrize(
    "text, line",
    [
        (flow_lists(101), 1),
        (flow_lists(999), 1),
        (flow_lists(100_000), 1),
        (flow_maps(1_000), 1),
        (flow_maps(100_000), 1),
        (dashes(100_000), 1),
        ("a:" + block_maps(1_000), 101),  # the first mapping that is one too deep
        ("a:" + block_maps(5_000), 101),
    ],
    ids=["lists-101", "lists-999", "lists-100000", "maps-1000", "maps-100000", "dashes-100000", "block-1000", "b-5000"],
)
def test_deeper_is_refused_with_its_line(text, line):
    start = time.monotonic()
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.loads(text)
    assert caught.value.line == line and caught.value.message.startswith(DEEP), caught.value.message
    assert time.monotonic() - start < 2


def test_depth_through_aliases_counts():
    chain = "x0: &x0 {k: 1}\n" + "".join(f"x{i}: &x{i} {{k: *x{i - 1}}}\n" for i in range(1, 150))
    with pytest.raises(yamlio.YamlError, match=DEEP):
        yamlio.loads(chain)
    shallow = "x0: &x0 {k: 1}\n" + "".join(f"x{i}: &x{i} {{k: *x{i - 1}}}\n" for i in range(1, 50))
    assert yamlio.loads(shallow)["x49"]["k"]["k"]


@pytest.mark.parametrize("text, line", [("a: &a\n  b: *a\n", 2), ("a: &a [*a]\n", 1), ("- &l\n  - *l\n", 2)])
def test_a_node_containing_itself_is_refused(text, line):
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.loads(text)
    assert caught.value.line == line and "cannot contain themselves" in caught.value.message


def billion_laughs(levels: int) -> str:
    """Ten aliases of ten aliases of ...: ``levels`` lines, each ten times as big as the one before when expanded."""
    return "a0: &a0 [1, 2]\n" + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, levels))


def test_an_alias_bomb_is_refused_fast_with_its_line():
    """A billion laughs is refused in linear time, at the line of the alias whose expansion passes the bound."""
    start = time.monotonic()
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.loads(billion_laughs(30))
    assert time.monotonic() - start < 1
    assert caught.value.line == 6 and "expand to more than 100,000 nodes" in caught.value.message


def test_aliases_within_the_bound_are_read():
    """Four levels (33,000 nodes once expanded) are fine, and so are many small aliases."""
    assert len(yamlio.loads(billion_laughs(5))["a4"]) == 10
    many = "base: &b {x: 1}\n" + "".join(f"k{i}: *b\n" for i in range(20_000))
    assert yamlio.loads(many)["k19999"] == {"x": 1}


def test_load_all_has_the_same_limits():
    """helm's rendered manifests are read with ``load_all``: too deep, or an alias bomb, in any document."""
    deep = "kind: A\n---\nkind: B\nx: " + "[" * 1_000 + "]" * 1_000 + "\n"
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.load_all(deep)
    assert caught.value.line == 4 and DEEP in caught.value.message
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.load_all(f"kind: A\n---\n{billion_laughs(30)}")
    assert caught.value.line == 8 and "expand to more than" in caught.value.message
    with pytest.raises(yamlio.YamlError, match=DEEP):
        yamlio.load_all("kind: A\n---\n" + "a:" + block_maps(150))


# --- through the CLI ---------------------------------------------------------------------------------------------

C1 = "config/clusters/c1"


@pytest.mark.parametrize(
    "deep, line",
    [
        (flow_lists(150), 5),
        (flow_lists(999), 5),
        (flow_lists(1_000), 5),
        (flow_lists(100_000), 5),
        (flow_maps(100_000), 5),
        (block_maps(1_000, indent=0), 105),
        ("&x\n  k: *x", 6),
    ],
    ids=["lists-150", "lists-999", "lists-1000", "lists-100000", "maps-100000", "block-1000", "self-alias"],
)
def test_a_deep_values_file_is_one_problem(mini_repo, cli, demo_key_env, deep, line):
    values = mini_repo / C1 / "h2.values.yaml"
    values.write_text(values.read_text() + f"deep: {deep}\n")
    start = time.monotonic()
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert time.monotonic() - start < 20
    assert result.code == 2 and "Traceback" not in result.output, result.output[-3000:]
    pattern = rf"{C1}/h2\.values\.yaml:{line}: (nested deeper than 100 levels|.*contain themselves)[^\n]*\n"
    assert re.fullmatch(pattern + r"1 problem\(s\) found\.\n", result.err), result.err


@pytest.mark.parametrize("deep", [flow_lists(1_000), flow_maps(100_000), block_maps(1_000, indent=4)])
def test_a_deep_cluster_yaml_is_one_problem(mini_repo, cli, demo_key_env, deep):
    cluster = mini_repo / C1 / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("  - name: h2\n", f"  - name: h2\n    colour: {deep}\n"))
    start = time.monotonic()
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert time.monotonic() - start < 20
    assert result.code == 2 and "Traceback" not in result.output, result.output[-3000:]
    assert re.fullmatch(rf"{C1}/cluster\.yaml:\d+: {DEEP}[^\n]*\n1 problem\(s\) found\.\n", result.err), result.err


def test_line_of_finds_keys_as_loads_builds_them(tmp_path):
    """``line_of`` (libyaml's node tree) matches keys as ``loads`` builds them: ``yes`` is True, ``010`` is 8."""
    path = tmp_path / "x.yaml"
    path.write_text('a: 1\nyes: 2\n"yes": 3\n010: 4\nb:\n  - x\n  - {c: 1, "d": [1, 2]}\n')
    assert [yamlio.line_of(path, keys) for keys in (["a"], [True], ["yes"], [8], ["b", 1, "d", 1])] == [1, 2, 3, 4, 7]
    assert yamlio.line_of(path, ["b", 1, "nothing"]) == 7  # the deepest ancestor found
    assert yamlio.line_of(tmp_path / "missing.yaml", ["a"]) is None
