"""schemas/cluster.schema.json works for editors and check-jsonschema, validates EVERY hub, and the
README's config reference is generated from it."""

import subprocess
from pathlib import Path

from deployer.tools import find_tool
from helpers import PROJECT

SCHEMA = PROJECT / "schemas" / "cluster.schema.json"


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess:
    exe = find_tool("check-jsonschema")
    return subprocess.run([str(exe), "--schemafile", str(SCHEMA), *map(str, files)], capture_output=True, text=True)


def test_every_example_cluster_passes_check_jsonschema():
    files = sorted(PROJECT.glob("config/clusters/*/cluster.yaml"))
    proc = check_jsonschema(*files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_error_in_a_later_hub_is_caught(tmp_path):
    text = (PROJECT / "config/clusters/demo-aws/cluster.yaml").read_text()
    assert text.count("helm_chart: daskhub") == 1
    broken = tmp_path / "cluster.yaml"
    broken.write_text(text.replace("helm_chart: daskhub", "helm_chart: daskhub\n    colour: red"))
    proc = check_jsonschema(broken)
    assert proc.returncode == 1 and "colour" in proc.stdout


def test_example_files_point_editors_at_the_schema():
    for path in PROJECT.glob("config/clusters/*/cluster.yaml"):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../../schemas/cluster.schema.json", path
        assert (path.parent / "../../../schemas/cluster.schema.json").resolve() == SCHEMA


def test_readme_config_reference_is_generated_from_the_schema():
    from deployer.config.reference import reference_markdown

    readme = (PROJECT / "README.md").read_text()
    assert reference_markdown(SCHEMA) in readme, "README is stale: run python -m deployer.config.reference --update"
