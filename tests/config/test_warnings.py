"""Warnings (``deployer.config.lint``), through the real CLI: secret-looking values in plain values files (named by
file, line and key, never the value) and values files no release lists. They do not change validate's exit code
unless ``--strict``; deploy prints them and goes on."""

from __future__ import annotations

import pytest

from deployer.config.secretlike import encrypted_name, secret_like
from helpers import PROJECT

PLAIN_SECRET = "PLAIN-SECRET-MARKER-5150"
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nPEM-MARKER-9090\n-----END OPENSSH PRIVATE KEY-----\n"

H2_WITH_SECRETS = f"""\
identity:
  displayName: Hub two
networkPolicy:
  enabled: false
jupyterhub:
  hub:
    config:
      GitHubOAuthenticator:
        client_secret: {PLAIN_SECRET}
        secretName: github-oauth
        existingSecret: github-oauth
        enableToken: true
        password: ""
        tokenSecretKeyRef: token
      Extra:
        deploy_key: |
{"".join("          " + line + chr(10) for line in PEM.splitlines())}"""


@pytest.fixture
def secret_repo(mini_repo):
    (mini_repo / "config/clusters/c1/h2.values.yaml").write_text(H2_WITH_SECRETS)
    return mini_repo


def test_secret_like_values_warn_with_file_line_and_key_never_the_value(secret_repo, cli, demo_key_env):
    result = cli("--repo", str(secret_repo), "validate", "--no-fetch", env=demo_key_env)
    assert result.code == 0, result.output
    warnings = [line for line in result.err.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: config/clusters/c1/h2.values.yaml:9: jupyterhub.hub.config.GitHubOAuthenticator.client_secret "
        "looks like a secret in a plain values file: move it into config/clusters/c1/enc-h2.secret.values.yaml "
        "(sops-encrypted: `sops edit` creates it; list it in cluster.yaml after this file)",
        "warning: config/clusters/c1/h2.values.yaml:16: jupyterhub.hub.config.Extra.deploy_key holds a private key "
        "in a plain values file: move it into config/clusters/c1/enc-h2.secret.values.yaml "
        "(sops-encrypted: `sops edit` creates it; list it in cluster.yaml after this file)",
    ]
    assert result.out.strip() == "the fleet: no problems found, 2 warning(s)."
    strict = cli("--repo", str(secret_repo), "validate", "--no-fetch", "--strict", env=demo_key_env)
    assert strict.code == 2
    assert strict.err.splitlines()[-2:] == ["0 problem(s), 2 warning(s) found.", "--strict: warnings fail the check."]
    for output in (result.output, strict.output):
        assert PLAIN_SECRET not in output and "PEM-MARKER" not in output


def test_problems_and_warnings_are_counted_apart(secret_repo, cli, demo_key_env):
    (secret_repo / "config/clusters/c1/h1.values.yaml").write_text("identity:\n  displayName: [not, a, string]\n")
    result = cli("--repo", str(secret_repo), "validate", "--no-fetch", env=demo_key_env)
    assert result.code == 2
    assert result.err.splitlines()[-1] == "1 problem(s), 2 warning(s) found."


def test_an_unlisted_values_file_warns_other_files_do_not(mini_repo, cli, demo_key_env):
    c1 = mini_repo / "config/clusters/c1"
    (c1 / "old-hub.values.yaml").write_text("identity:\n  displayName: Gone\n")
    (c1 / "README.md").write_text("notes\n")
    (c1 / "notes.txt").write_text("notes\n")
    result = cli("--repo", str(mini_repo), "validate", "--no-fetch", "--strict", env=demo_key_env)
    assert result.code == 2
    assert result.err.splitlines()[:-2] == [
        "warning: config/clusters/c1/old-hub.values.yaml: is listed by no hub or support of cluster c1: a removed "
        "hub's leftovers? delete it, or list it under helm_chart_values_files in config/clusters/c1/cluster.yaml"
    ]
    # checking some hubs says nothing about files of the others
    some = cli("--repo", str(mini_repo), "validate", "c1", "h1", "--no-fetch", "--strict", env=demo_key_env)
    assert some.code == 0 and "warning" not in some.output, some.output


def test_the_example_fleet_has_no_warnings(cli, demo_key_env):
    result = cli("--repo", str(PROJECT), "validate", "--strict", "--no-fetch", env=demo_key_env)
    assert result.code == 0, result.output
    assert "warning" not in result.output


def test_deploy_dry_run_prints_warnings_and_runs(secret_repo, cli, demo_key_env):
    result = cli("--repo", str(secret_repo), "deploy", "c1", "h2", "--dry-run", env=demo_key_env)
    assert result.code == 0, result.output
    assert "warning: config/clusters/c1/h2.values.yaml:9: jupyterhub.hub.config.GitHubOAuthenticator.client_secret" in (
        result.err
    )
    assert "helm upgrade" in result.out and PLAIN_SECRET not in result.output


@pytest.mark.parametrize(
    ("data", "found"),
    [
        ({"apiToken": "x", "api_token": "x", "cookieSecret": "x", "AWS_SECRET_ACCESS_KEY": "x"}, 4),
        ({"privateKey": "x", "passwd": "x", "secretKey": "x", "accessKey": "x", "tokens": ["x"]}, 4),
        ({"secretName": "x", "existingSecret": "x", "passwordKey": "x", "secretKeyRef": {"key": "password"}}, 0),
        ({"token": None, "password": False, "secret": 42, "apiToken": "  ", "clientSecret": "{{ .Values.s }}"}, 0),
        ({"password": "changeme", "list": [{"token": "x"}]}, 2),
    ],
)
def test_secret_like_rules(data, found):
    assert len(list(secret_like(data))) == found


def test_encrypted_name():
    assert encrypted_name("staging.values.yaml") == "enc-staging.secret.values.yaml"
    assert encrypted_name("extra.yaml") == "enc-extra.yaml"
