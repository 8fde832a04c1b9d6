"""helm's values rules (deployer.config.helmvalues) and the archive lookup (deployer.chart_archives), without helm.

The same rules are checked against the real helm 3 and 4 by test_helm_parity.py; these pin the details.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from deployer.chart_archives import ArchiveError, find_archive, helm_cache_dir, mirror_dir, read_packaged
from deployer.config.helmvalues import (
    Chart,
    CoalesceError,
    Requirement,
    coalesce_values,
    compatible,
    process_dependencies,
    schema_targets,
)


def chart(name, values=None, reqs=None, charts=(), version="1.0.0", schema=None):
    return Chart(
        name=name,
        version=version,
        values=values or {},
        schema=schema,
        requirements=tuple(reqs) if reqs else None,
        charts=tuple(charts),
    )


def test_null_deletes_a_chart_default_but_is_kept_for_other_keys():
    c = chart("top", {"a": 1, "b": {"c": 2, "d": 3}})
    assert coalesce_values(c, {"a": None, "b": {"c": None}, "new": None}) == {"b": {"d": 3}, "new": None}


def test_subchart_defaults_globals_and_parent_overrides():
    sub = chart("sub", {"x": 1, "global": {"g": "sub", "only": 1}})
    top = chart("top", {"sub": {"x": 2}, "global": {"g": "top"}}, [Requirement("sub", "1.0.0")], [sub])
    out = coalesce_values(process_dependencies(top, {}), {"sub": {"y": 3}})
    assert out["sub"] == {"x": 2, "y": 3, "global": {"g": "top", "only": 1}}


def test_subchart_part_that_is_not_a_map_is_helms_type_mismatch():
    top = chart("top", {}, [Requirement("sub", "1.0.0")], [chart("sub")])
    with pytest.raises(CoalesceError) as info:
        coalesce_values(top, {"sub": 5})
    assert info.value.keys == ("sub",)


def test_alias_condition_tags_and_disabled_charts_are_not_checked():
    gw = chart("gw-chart", schema="S")
    reqs = [Requirement("gw-chart", "1.0.0", alias="gw", condition="features.gw,gw.enabled", tags=("dask",))]
    top = chart("top", {"tags": {"dask": False}}, reqs, [gw])
    names = lambda values: [c.name for c in process_dependencies(top, values).charts]  # noqa: E731
    assert names({}) == []  # a false tag disables
    assert names({"tags": {"dask": True}}) == ["gw"]  # a true tag enables, under its alias
    assert names({"features": {"gw": True}}) == ["gw"]  # a condition beats the tags
    assert names({"features": {"gw": "yes"}, "gw": {"enabled": True}}) == ["gw"]  # non-booleans are skipped
    assert names({"tags": {"dask": True}, "features": {"gw": False}}) == []
    processed = process_dependencies(top, {"tags": {"dask": True}})
    targets = [(at, c.name) for at, c, _ in schema_targets(processed, coalesce_values(processed, {"gw": {"a": 1}}))]
    assert targets == [(("gw",), "gw")]


def test_nested_conditions_are_relative_to_the_parent():
    am = chart("alertmanager", schema="S")
    prom = chart(
        "prometheus",
        {"alertmanager": {"enabled": False}},
        [Requirement("alertmanager", "1.21.*", condition="alertmanager.enabled")],
        [am],
    )
    top = chart("support", {}, [Requirement("prometheus", "27.23.0", condition="prometheus.enabled")], [prom])
    inner = lambda values: [c.name for c in process_dependencies(top, values).charts[0].charts]  # noqa: E731
    assert inner({}) == []
    assert inner({"prometheus": {"alertmanager": {"enabled": True}}}) == ["alertmanager"]


def test_import_values_become_parent_defaults_under_its_own():
    sub = chart("sub", {"image": {"name": "n", "tag": "1"}, "exports": {"data": {"k": "v"}}})
    reqs = [Requirement("sub", "1.0.0", import_values=({"child": "image", "parent": "img"}, "data"))]
    top = chart("top", {"img": {"tag": "2"}}, reqs, [sub])
    values = process_dependencies(top, None).values
    assert values["img"] == {"name": "n", "tag": "2"} and values["k"] == "v"


@pytest.mark.parametrize(
    "constraint, version, ok",
    [
        ("1.21.*", "1.21.0", True),
        ("1.21.*", "1.22.0", False),
        ("4.2.0", "4.2.0", True),
        ("v1.16.1", "v1.16.1", True),
        ("^1.2.0", "1.9.9", True),
        ("^1.2.0", "2.0.0", False),
        ("~1.2.0", "1.2.9", True),
        ("~1.2.0", "1.3.0", False),
        (">=1.0.0, <2.0.0", "1.5.0", True),
        (">=1.0.0 <2.0.0", "2.0.0", False),
        ("1.x || 3.x", "3.1.0", True),
        ("", "1.0.0", False),
        ("1.0.0 - 2.0.0", "1.5.0", True),
        ("*", "7.0.0", True),
    ],
)
def test_semver_constraints(constraint, version, ok):
    assert compatible(constraint, version) is ok


def _tgz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_archives_nest_as_folders_and_as_tgz(tmp_path):
    inner = _tgz({"b/Chart.yaml": b"name: b\nversion: 2.0.0\n", "b/values.schema.json": b"{}"})
    outer = _tgz(
        {
            "a/Chart.yaml": b"name: a\nversion: 1.0.0\n",
            "a/values.yaml": b"x: 1\n",
            "a/charts/c/Chart.yaml": b"name: c\nversion: 3.0.0\n",
            "a/charts/b-2.0.0.tgz": inner,
            "a/charts/_ignored/Chart.yaml": b"name: z\n",
        }
    )
    path = tmp_path / "a-1.0.0.tgz"
    path.write_bytes(outer)
    packaged = read_packaged(path)
    assert packaged.values_yaml == b"x: 1\n"
    subs = sorted(s.chart_yaml.decode().split()[1] for s in packaged.subcharts)
    assert subs == ["b", "c"]
    assert any(s.schema == b"{}" for s in packaged.subcharts)
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(ArchiveError):
        read_packaged(bad)


def test_archive_lookup_order_and_identity(tmp_path):
    archive = _tgz({"a/Chart.yaml": b"name: a\nversion: 1.0.0\n"})
    chart_dir, mirror, home = tmp_path / "chart", tmp_path / "mirror", tmp_path / "home"
    cache = home / ".cache" / "helm" / "repository"
    for folder in (chart_dir / "charts", mirror, cache):
        folder.mkdir(parents=True)
    env = {"HOME": str(home), "DEPLOYER_CHART_MIRROR": str(mirror)}
    assert find_archive(chart_dir, "a", "1.0.0", env) is None
    (cache / "a-1.0.0.tgz").write_bytes(archive)
    assert find_archive(chart_dir, "a", "1.0.0", env) == cache / "a-1.0.0.tgz"
    (mirror / "a-1.0.0.tgz").write_bytes(archive)
    assert find_archive(chart_dir, "a", "1.0.0", env) == mirror / "a-1.0.0.tgz"
    (chart_dir / "charts" / "a-1.0.0.tgz").write_bytes(_tgz({"a/Chart.yaml": b"name: a\nversion: 9.9.9\n"}))
    assert find_archive(chart_dir, "a", "1.0.0", env) == mirror / "a-1.0.0.tgz"  # wrong version inside: skipped
    assert helm_cache_dir({"HELM_CACHE_HOME": "/h"}) == Path("/h/repository")
    assert helm_cache_dir({"XDG_CACHE_HOME": "/x", "HOME": "/home"}) == Path("/x/helm/repository")
    assert mirror_dir({}) is None
    with pytest.raises(ArchiveError):
        mirror_dir({"DEPLOYER_CHART_MIRROR": str(tmp_path / "missing")})
