"""deployer.helm_argv: every helm command line, compared as argv lists (pure)."""

from __future__ import annotations

import pytest

from deployer import helm_argv

LOCAL = helm_argv.KubeTarget(context="deployer-local")
FILE = helm_argv.KubeTarget(kubeconfig="/tmp/k", context="c")
VALUES = ["config/clusters/c/common.values.yaml", "/tmp/w/decrypted-1.yaml"]


@pytest.mark.parametrize(
    ("major", "wait", "target", "expected_tail"),
    [
        (4, True, LOCAL, ["--wait=watcher", "--timeout", "10m0s", "--kube-context", "deployer-local"]),
        (4, False, LOCAL, ["--timeout", "10m0s", "--kube-context", "deployer-local"]),
        (3, True, LOCAL, ["--wait", "--timeout", "10m0s", "--kube-context", "deployer-local"]),
        (3, False, helm_argv.KubeTarget(), ["--timeout", "10m0s"]),
        (4, True, FILE, ["--wait=watcher", "--timeout", "10m0s", "--kubeconfig", "/tmp/k", "--kube-context", "c"]),
    ],
)
def test_upgrade_args(major, wait, target, expected_tail) -> None:
    argv = helm_argv.upgrade_args(
        "h1", "helm-charts/basehub", namespace="h1", values_files=VALUES, major=major, wait=wait, target=target
    )
    assert argv == [
        "upgrade",
        "--install",
        "h1",
        "helm-charts/basehub",
        "--namespace",
        "h1",
        "--create-namespace",
        "--values",
        VALUES[0],
        "--values",
        VALUES[1],
        *expected_tail,
    ]


def test_values_keep_their_order_and_repeats() -> None:
    files = ["b.yaml", "a.yaml", "b.yaml"]
    assert helm_argv.values_args(files) == ["--values", "b.yaml", "--values", "a.yaml", "--values", "b.yaml"]


def test_server_dry_run_for_diff() -> None:
    argv = helm_argv.upgrade_args(
        "h1",
        "helm-charts/basehub",
        namespace="h1",
        values_files=[],
        major=4,
        target=LOCAL,
        dry_run_server=True,
        output_json=True,
    )
    assert argv == [
        "upgrade",
        "--install",
        "h1",
        "helm-charts/basehub",
        "--namespace",
        "h1",
        "--create-namespace",
        "--dry-run=server",
        "--output",
        "json",
        "--kube-context",
        "deployer-local",
    ]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (
            lambda: helm_argv.template_args("h1", "helm-charts/basehub", namespace="h1", values_files=["v.yaml"]),
            ["template", "h1", "helm-charts/basehub", "--namespace", "h1", "--values", "v.yaml"],
        ),
        (
            lambda: helm_argv.get_manifest_args("h1", namespace="h1", target=LOCAL),
            ["get", "manifest", "h1", "--namespace", "h1", "--kube-context", "deployer-local"],
        ),
        (
            lambda: helm_argv.get_manifest_args("h1", namespace="h1", revision=2),
            ["get", "manifest", "h1", "--namespace", "h1", "--revision", "2"],
        ),
        (
            lambda: helm_argv.history_args("h1", namespace="h1", target=FILE, max_entries=20),
            [
                "history",
                "h1",
                "--namespace",
                "h1",
                "--max",
                "20",
                "--output",
                "json",
                "--kubeconfig",
                "/tmp/k",
                "--kube-context",
                "c",
            ],
        ),
        (
            lambda: helm_argv.history_args("h1", namespace="h1", target=LOCAL, max_entries=None, output_json=False),
            ["history", "h1", "--namespace", "h1", "--kube-context", "deployer-local"],
        ),  # for a person to read
        (
            lambda: helm_argv.pull_args(
                "jupyterhub", repository="https://hub.jupyter.org/helm-chart/", version="4.2.0", destination="mirror"
            ),
            [
                "pull",
                "jupyterhub",
                "--repo",
                "https://hub.jupyter.org/helm-chart/",
                "--version",
                "4.2.0",
                "-d",
                "mirror",
            ],
        ),
        (lambda: helm_argv.rollback_args("h1", 3, namespace="h1"), ["rollback", "h1", "3", "--namespace", "h1"]),
        (lambda: helm_argv.uninstall_args("h1", namespace="h1"), ["uninstall", "h1", "--namespace", "h1"]),
        (
            lambda: helm_argv.dependency_build_args("helm-charts/daskhub"),
            ["dependency", "build", "helm-charts/daskhub"],
        ),
        (
            lambda: helm_argv.repo_add_args("jupyterhub", "https://hub.jupyter.org/helm-chart/"),
            ["repo", "add", "jupyterhub", "https://hub.jupyter.org/helm-chart/"],
        ),
        (helm_argv.version_args, ["version", "--template", "{{.Version}}"]),
    ],
)
def test_other_commands(build, expected) -> None:
    assert build() == expected


@pytest.mark.parametrize(("text", "major"), [("v4.1.4", 4), ("v3.14.2", 3), ("v3.16.0-rc.1\n", 3)])
def test_parse_major(text, major) -> None:
    assert helm_argv.parse_major(text) == major


@pytest.mark.parametrize("text", ["v2.17.0", "v5.0.0", "", "helm"])
def test_parse_major_refuses(text) -> None:
    with pytest.raises(ValueError):
        helm_argv.parse_major(text)


@pytest.mark.parametrize(
    ("text", "seconds", "go"),
    [
        ("90", 90, "1m30s"),
        ("300s", 300, "5m0s"),
        ("10m", 600, "10m0s"),
        ("1h30m", 5400, "1h30m0s"),
        ("5m0s", 300, "5m0s"),
        ("45s", 45, "45s"),
        ("1.5s", 1.5, "1.5s"),
    ],
)
def test_durations(text, seconds, go) -> None:
    assert helm_argv.parse_duration(text) == seconds
    assert helm_argv.go_duration(helm_argv.parse_duration(text)) == go


@pytest.mark.parametrize("text", ["", "5x", "m", "-3", "0", "10 m"])
def test_bad_durations(text) -> None:
    with pytest.raises(ValueError):
        helm_argv.parse_duration(text)


def test_parse_revision() -> None:
    out = 'Release "h1" has been upgraded. Happy Helming!\nNAME: h1\nSTATUS: deployed\nREVISION: 12\n'
    assert helm_argv.parse_revision(out) == 12
    assert helm_argv.parse_revision("nothing here") is None
