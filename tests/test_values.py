"""Helm's values semantics: the order of files, deep merges, replacement, null deletion, provenance."""

import pytest

from deployer.config.helmvalues import Chart, coalesce_values
from deployer.values import merge_layers, source_of


@pytest.mark.parametrize(
    "layers, expected",
    [
        ([{"a": {"b": 1}}, {"a": {"c": 2}}], {"a": {"b": 1, "c": 2}}),  # maps merge deeply
        ([{"a": [1, 2]}, {"a": [3]}], {"a": [3]}),  # lists replace
        ([{"a": {"b": 1}}, {"a": 5}], {"a": 5}),  # a scalar replaces a map
        ([{"a": 5}, {"a": {"b": 1}}], {"a": {"b": 1}}),  # and a map replaces a scalar
        ([{"a": 1}, {"a": None}], {"a": None}),  # null is kept until coalesced over defaults
        ([{"a": 1}, None, {"b": 2}], {"a": 1, "b": 2}),  # an empty file changes nothing
    ],
)
def test_merge_layers_in_order(layers, expected):
    assert merge_layers([(f"f{i}", d) for i, d in enumerate(layers)]) == expected


def test_coalesce_user_over_defaults_null_deletes():
    """helm's CoalesceValues: a null deletes a chart default; one for a key the chart lacks is kept (and checked)."""
    defaults = {"keep": 1, "drop": {"x": 1}, "deep": {"a": 1, "b": 2}, "list": [1, 2]}
    user = {"drop": None, "deep": {"b": None, "c": 3}, "list": [9], "new": {"n": None, "m": 1}}
    chart = Chart(name="c", version="1.0.0", values=defaults, schema=None, requirements=None, charts=())
    assert coalesce_values(chart, user) == {
        "keep": 1,
        "deep": {"a": 1, "c": 3},
        "list": [9],
        "new": {"n": None, "m": 1},
    }


def test_source_of_names_the_last_file_that_set_a_key():
    layers = [("common", {"a": {"b": 1, "c": 1}}), ("hub", {"a": {"b": 2}}), ("secret", {"x": 1})]
    assert source_of(layers, ("a", "b")) == "hub"
    assert source_of(layers, ("a", "c")) == "common"
    assert source_of(layers, ("x",)) == "secret"
    assert source_of(layers, ("a", "zzz")) == "hub"  # the deepest holder of the path's parent, last wins
    assert source_of(layers, ("nowhere",)) is None
