"""A corpus of broken configurations, one defect each. Every case must give exit code 2, exactly the problems it
declares (each naming its file, and line where there is one, in the ``path[:line]: message`` form, with its own
words), nothing else, and no traceback."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import demo_recipient, other_recipient, sops_encrypt

C1 = "config/clusters/c1"
CY = f"{C1}/cluster.yaml"


def edit(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / rel
        text = path.read_text()
        assert old in text, f"corpus case does not apply: {old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1))

    return apply


def write(rel: str, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)

    return apply


def append(rel: str, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        with open(root / rel, "a") as handle:
            handle.write(text)

    return apply


def encrypted(rel: str, text: str, recipient: Callable[[], str] = demo_recipient) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / rel).write_text(text)
        sops_encrypt(root / rel, recipient())

    return apply


def not_utf8(rel: str) -> Callable[[Path], None]:
    """Put a byte that is not UTF-8 (\\xff) at the start of the second line of ``rel``."""

    def apply(root: Path) -> None:
        path = root / rel
        first, rest = path.read_bytes().split(b"\n", 1)
        path.write_bytes(first + b"\n\xff" + rest)

    return apply


def sparse_10gb(rel: str) -> Callable[[Path], None]:
    """``rel`` becomes a 10 GB file that takes no disk (a hole after its own text)."""

    def apply(root: Path) -> None:
        os.truncate(root / rel, 10 * 10**9)

    return apply


ALIAS_BOMB = "lol0: &a0 [lol, lol]\n" + "".join(
    f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 12)
)


def both(*defects: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        for defect in defects:
            defect(root)

    return apply


def symlink_out(root: Path) -> None:
    outside = root.parent / "outside.values.yaml"
    outside.write_text("identity: {}\n")
    (root / C1 / "h2.values.yaml").unlink()
    os.symlink(outside, root / C1 / "h2.values.yaml")


def second_cluster_same_domain(root: Path) -> None:
    c2 = root / "config/clusters/c2"
    c2.mkdir()
    (c2 / "cluster.yaml").write_text(
        "name: c2\nprovider: kubeconfig\nkubeconfig: {}\nhubs:\n  - name: x\n    domain: h2.c1.example.org\n"
        "    helm_chart: basehub\n    helm_chart_values_files: [x.values.yaml]\n"
    )
    (c2 / "x.values.yaml").write_text("identity: {cluster: c2}\n")


SV = f"{C1}/h2.values.yaml"
ENC = f"{C1}/enc-h1.secret.values.yaml"
SECRET2 = f"{C1}/h2.secret.values.yaml"
RENAME_SECRET2 = f"rename it to enc-h2.secret.values.yaml ('git mv {SECRET2} {C1}/enc-h2.secret.values.yaml')"

# (id, defect, every problem it must report: (file, line or None for a file-level message, words of the message))
CASES: list[tuple[str, Callable[[Path], None], list[tuple[str, int | None, str]]]] = [
    (
        "yaml-syntax",
        edit(CY, "hubs:\n", "hubs: [\n"),
        [(CY, 9, "did not find expected node content: a '[' or '{' above is not closed")],
    ),
    ("not-a-mapping", write(CY, "- name: c1\n"), [(CY, 1, "must be a YAML mapping")]),
    ("missing-name", edit(CY, "name: c1\n", ""), [(CY, 1, "missing required key 'name'")]),
    ("name-not-folder", edit(CY, "name: c1\n", "name: c2\n"), [(CY, 1, "folder is 'c1'")]),
    (
        "name-not-dns",
        edit(CY, "name: c1\n", "name: C_1\n"),
        [(CY, 1, "must match the pattern"), (CY, 1, "folder is 'c1'")],
    ),
    ("unknown-top-key", append(CY, "colour: blue\n"), [(CY, 23, "unknown key 'colour'")]),
    ("unknown-provider", edit(CY, "provider: kubeconfig", "provider: digitalocean"), [(CY, 2, "must be one of")]),
    (
        "wrong-provider-block",
        edit(CY, "provider: kubeconfig", "provider: gcp"),
        [(CY, 1, "'gcp:' block is required"), (CY, 3, "'kubeconfig:' block does not go with provider 'gcp'")],
    ),
    (
        "foreign-provider-block",
        append(CY, "aws: {account_id: '123456789012', region: us-west-2, cluster: x}\n"),
        [(CY, 23, "does not go with provider")],
    ),
    (
        "hubs-not-list",
        edit(CY, "hubs:\n  - name: h1", "hubs: {}\nx:\n  - name: h1"),
        [(CY, 8, "hubs: must be a list"), (CY, 9, "unknown key 'x'")],
    ),
    (
        "second-hub-missing-domain",
        edit(CY, "    domain: h2.c1.example.org\n", ""),
        [(CY, 17, "hub 'h2' (hubs[1]): missing required key 'domain'")],
    ),
    ("hub-name-too-long", edit(CY, "name: h2", "name: " + "h" * 54), [(CY, 17, "at most 53 characters")]),
    (
        "hub-named-support",
        edit(CY, "name: h2", "name: support"),
        [(CY, 17, "release and namespace of the cluster's support")],
    ),
    ("canary-not-bool", edit(CY, "canary: true", "canary: maybe"), [(CY, 12, "must be a boolean")]),
    (
        "second-hub-unknown-key",
        edit(CY, "    domain: h2.c1.example.org\n", "    domain: h2.c1.example.org\n    colour: red\n"),
        [(CY, 19, "unknown key 'colour'")],
    ),
    ("duplicate-hub-name", edit(CY, "name: h2", "name: h1"), [(CY, 17, "already used on line 9")]),
    (
        "duplicate-domain-in-cluster",
        edit(CY, "domain: h2.c1.example.org", "domain: h1.c1.example.org"),
        [(CY, 18, "already used by hub 'h1'")],
    ),
    (
        "duplicate-domain-across-clusters",
        second_cluster_same_domain,
        [("config/clusters/c2/cluster.yaml", 6, "already used by hub 'h2'")],
    ),
    (
        "empty-values-list",
        edit(CY, "      - common.values.yaml\n      - h2.values.yaml\n", "      []\n"),
        [(CY, 20, "at least 1 item")],
    ),
    ("missing-values-file", edit(CY, "- h2.values.yaml", "- h3.values.yaml"), [(CY, 22, "does not exist")]),
    (
        "absolute-values-file",
        edit(CY, "- h2.values.yaml", "- /etc/hostname"),
        [(CY, 22, "relative to the cluster folder")],
    ),
    (
        "dotdot-escape",
        edit(CY, "- h2.values.yaml", "- ../../../schemas/cluster.schema.json"),
        [(CY, 22, "outside the cluster folder")],
    ),
    ("symlink-escape", symlink_out, [(CY, 22, "symlink to a file outside")]),
    ("values-not-mapping", write(SV, "- a\n- b\n"), [(SV, 1, "must be a YAML mapping")]),
    (
        "values-bad-yaml",
        write(SV, "identity:\n  cluster: [c1\n"),
        [(SV, 3, "invalid YAML (column 1): did not find expected ',' or ']': a '[' opened on line 2 is not closed")],
    ),
    ("values-duplicate-key", write(SV, "identity: {}\nidentity: {}\n"), [(SV, 2, "duplicate key 'identity'")]),
    (
        "unknown-chart",
        edit(
            CY,
            "helm_chart: basehub\n    helm_chart_values_files:\n      - common.values.yaml\n      - h2",
            "helm_chart: nohub\n    helm_chart_values_files:\n      - common.values.yaml\n      - h2",
        ),
        [(CY, 19, "chart 'nohub' is not a folder of helm-charts/")],
    ),
    ("enc-not-encrypted", write(ENC, "jupyterhub: {}\n"), [(ENC, None, "is not encrypted")]),
    (
        "secret-named-plain",
        write(SECRET2, "jupyterhub: {}\n"),
        [(SECRET2, None, f"is not encrypted, but its name says it holds secrets: {RENAME_SECRET2}")],
    ),
    (
        "secret-encrypted-wrong-name",
        encrypted(SECRET2, "jupyterhub: {}\n"),
        [(SECRET2, None, f"not named enc-*: {RENAME_SECRET2}")],
    ),
    (
        "encrypted-without-enc-prefix",
        encrypted(SV, "identity: {}\n"),
        [(SV, None, f"not named enc-*: rename it to enc-h2.values.yaml ('git mv {SV} {C1}/enc-h2.values.yaml')")],
    ),
    (
        "chart-schema-unknown-key",
        append(SV, "identiti: {}\n"),
        [(SV, 5, "hub 'h2' (chart basehub): identiti: unknown key")],
    ),
    (
        "chart-schema-type-in-shared-file",
        append(f"{C1}/common.values.yaml", "networkPolicy:\n  enabled: sometimes\n"),
        [(f"{C1}/common.values.yaml", 7, "hub 'h1' (chart basehub): networkPolicy.enabled: must be a boolean")],
    ),
    (
        "chart-schema-type-in-secret",
        encrypted(ENC, "networkPolicy:\n  enabled: SECRET-VALUE-MARKER-99\n"),
        [(ENC, 2, "hub 'h1' (chart basehub): networkPolicy.enabled: must be a boolean")],
    ),
    (
        "secret-other-key",
        encrypted(ENC, "jupyterhub: {}\n", other_recipient),
        [(ENC, None, "cannot decrypt: no key for this file is available here")],
    ),
    ("support-file-missing", edit(CY, "- support.values.yaml", "- nosupport.values.yaml"), [(CY, 7, "does not exist")]),
    (
        "support-values-schema",
        write(f"{C1}/support.values.yaml", "clusterIssuer:\n  enabled: 3\n"),
        [(f"{C1}/support.values.yaml", 2, "support (chart support): clusterIssuer.enabled: must be a boolean")],
    ),
    (
        "provider-key-unencrypted",
        both(
            edit(CY, "  context: deployer-local\n", "  context: x\n  file: kubeconfig.yaml\n"),
            write(f"{C1}/kubeconfig.yaml", "apiVersion: v1\nkind: Config\n"),
        ),
        [(f"{C1}/kubeconfig.yaml", None, "not sops-encrypted: rename it to enc-kubeconfig.yaml")],
    ),
    (
        "display-name-empty",
        edit(CY, "  - name: h2\n", "  - name: h2\n    display_name: ''\n"),
        [(CY, 18, "must not be empty")],
    ),
    (
        "no-cluster-yaml",
        write("config/clusters/c9/readme.txt", "nothing\n"),
        [("config/clusters/c9", None, "no cluster.yaml")],
    ),
    (
        "broken-chart-yaml",
        append("helm-charts/basehub/Chart.yaml", "name: [\n"),
        [("helm-charts/basehub/Chart.yaml", 11, "invalid YAML")],
    ),
    ("cluster-yaml-not-utf8", not_utf8(CY), [(CY, 2, "is not UTF-8 text (byte 0xff): save the file as UTF-8")]),
    ("values-not-utf8", not_utf8(SV), [(SV, 2, "is not UTF-8 text (byte 0xff): save the file as UTF-8")]),
    (
        "chart-yaml-not-utf8",
        not_utf8("helm-charts/basehub/Chart.yaml"),
        [("helm-charts/basehub/Chart.yaml", 2, "is not UTF-8 text (byte 0xff): save the file as UTF-8")],
    ),
    (
        "chart-values-not-utf8",
        not_utf8("helm-charts/basehub/values.yaml"),
        [("helm-charts/basehub/values.yaml", 2, "is not UTF-8 text (byte 0xff): save the file as UTF-8")],
    ),
    (
        "chart-schema-not-utf8",
        not_utf8("helm-charts/basehub/values.schema.json"),
        [("helm-charts/basehub/values.schema.json", 2, "is not UTF-8 text (byte 0xff): save the file as UTF-8")],
    ),
    (
        "chart-schema-not-json",
        edit("helm-charts/basehub/values.schema.json", "{", "{,"),
        [("helm-charts/basehub/values.schema.json", 1, "invalid JSON: Expecting property name")],
    ),
    ("values-alias-bomb", write(SV, ALIAS_BOMB), [(SV, 6, "its aliases (*name) expand to more than 100,000 nodes")]),
    ("values-10gb", sparse_10gb(SV), [(SV, None, "is 9.3 GiB, more than the 8 MiB limit for one YAML file")]),
    ("cluster-yaml-10gb", sparse_10gb(CY), [(CY, None, "is 9.3 GiB, more than the 1 MiB limit for a cluster.yaml")]),
    (
        "chart-yaml-10gb",
        sparse_10gb("helm-charts/basehub/Chart.yaml"),
        [("helm-charts/basehub/Chart.yaml", None, "is 9.3 GiB, more than the 5 MiB limit for a chart file")],
    ),
    (
        "daskhub-subchart-schema",
        edit(
            CY,
            "helm_chart: basehub\n    helm_chart_values_files:\n      - common.values.yaml\n      - h2",
            "helm_chart: daskhub\n    helm_chart_values_files:\n      - h2",
        ),
        [
            (SV, 1, "hub 'h2' (chart daskhub): identity: unknown key"),
            (SV, 3, "hub 'h2' (chart daskhub): networkPolicy: unknown key"),
        ],
    ),
]


@pytest.mark.parametrize("defect, problems", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_config_is_reported(mini_repo, cli, demo_key_env, defect, problems):
    defect(mini_repo)
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 2, result.output
    assert "Traceback" not in result.output and result.out == "", result.output
    *lines, summary = result.err.splitlines()
    warned = sum(ln.startswith("warning: ") for ln in lines)  # e.g. the file a typo'd entry no longer lists
    counts = f"{len(problems)} problem(s)" + (f", {warned} warning(s)" if warned else "")
    assert summary == f"{counts} found.", result.err
    lines = [ln for ln in lines if not ln.startswith("warning: ")]
    unexpected = list(lines)
    for path, line, words in problems:
        start = f"{path}:{line}: " if line else f"{path}: "
        found = next((ln for ln in unexpected if ln.startswith(start) and words in ln), None)
        assert found, f"expected a line starting {start!r} containing {words!r}, got:\n{result.err}"
        unexpected.remove(found)
    assert unexpected == [], f"reported besides the expected problems: {unexpected}"
    assert "SECRET-VALUE-MARKER" not in result.output and "MINI-SECRET-MARKER" not in result.output


def test_cases_are_distinct_and_many():
    ids = [c[0] for c in CASES]
    assert len(set(ids)) == len(ids) >= 30
    assert all(problems and all(words for _, _, words in problems) for _, _, problems in CASES)


def test_the_unbroken_mini_repo_is_valid(mini_repo, cli, demo_key_env):
    result = cli("--repo", str(mini_repo), "validate", env=demo_key_env)
    assert result.code == 0, result.output
    assert "no problems found" in result.out
