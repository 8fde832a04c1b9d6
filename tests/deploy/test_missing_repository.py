"""A chart repository that cannot be reached (or that helm knows no definition for) while a chart's pinned
dependencies must be built: ``template`` and ``diff`` (and a deploy's release) give the same one line, naming the
chart, the pinned dependency, the repository URL as it is (no trailing comma) and the commands that fix it; exit 2
for both preview commands."""

from __future__ import annotations

import shutil

import pytest

from deployer import helm_argv
from deployer.deploy.dependencies import fetch_failed

EXPECTED = (
    "helm-charts/basehub: helm dependency build could not fetch jupyterhub 4.2.0 from "
    "https://hub.jupyter.org/helm-chart/ (helm: "
)
FIX = (
    "; run 'helm dependency build helm-charts/basehub' where https://hub.jupyter.org/helm-chart/ can be reached, "
    "or set DEPLOYER_CHART_MIRROR to a folder holding jupyterhub-4.2.0.tgz"
)


@pytest.fixture
def unbuilt_repo(mini_repo):
    shutil.rmtree(mini_repo / "helm-charts" / "basehub" / "charts")  # a fresh clone: dependencies not built yet
    return mini_repo


def offline(root) -> dict[str, str]:
    """No chart mirror, no helm repositories of the user, and no network (a proxy that refuses every connection)."""
    return {
        "DEPLOYER_CHART_MIRROR": "",
        "HOME": str(root),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }


@pytest.mark.parametrize("command", [("template", "c1", "h1"), ("diff", "c1", "h1")])
def test_unreachable_repository_is_one_line_and_exit_2(cli, unbuilt_repo, command):
    result = cli("--repo", str(unbuilt_repo), *command, env=offline(unbuilt_repo))
    assert result.code == 2 and "Traceback" not in result.output, result.output
    [line] = result.err.splitlines()
    assert line.startswith(EXPECTED) and line.endswith(FIX), line
    assert "deploy again" not in line and "/," not in line


def test_template_and_diff_say_the_same(cli, unbuilt_repo):
    said = [
        cli("--repo", str(unbuilt_repo), *args, env=offline(unbuilt_repo)).err.split(" (helm: ")[0]
        for args in (("template", "c1", "h1"), ("diff", "c1", "h1"))
    ]
    assert said[0] == said[1] == EXPECTED.split(" (helm: ")[0]


def test_missing_repositories_are_read_without_commas_or_the_period():
    stderr = (
        "Error: no repository definition for https://a.example/charts, https://b.example/x/. "
        "Please add the missing repos via 'helm repo add'\n"
    )
    assert helm_argv.missing_repositories(stderr) == ["https://a.example/charts", "https://b.example/x/"]
    assert helm_argv.missing_repositories("Error: no repository definition for https://c.example.") == [
        "https://c.example"
    ]
    assert helm_argv.missing_repositories("Error: something else") == []


def test_the_message_names_the_urls_helm_gave_when_the_lock_names_none(tmp_path):
    stderr = "Error: no repository definition for https://a.example, https://b.example. Please add them\n"
    message = fetch_failed("helm-charts/x", tmp_path, stderr)
    assert "from https://a.example, https://b.example (helm: " in message
    assert "where https://a.example, https://b.example can be reached" in message and "\n" not in message
