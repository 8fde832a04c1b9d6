"""Provider gcp against the local Google fake (OAuth token endpoint + Kubernetes Engine REST API)."""

from __future__ import annotations

from authkit import ADC_SA, DENIED_SA, GCP_LOCATION, GCP_PROJECT, KEY_SA, enter, kubectl
from deployer.auth import cluster_access
from fakes import GKE_SCOPES


def seen_identity(access, env, token_policy, google) -> str:
    before = len(token_policy.presented)
    got = kubectl(access, env, "get", "namespaces")
    assert got.returncode == 0, got.stderr
    return google.fake.issued[token_policy.presented[before:][-1]]


def test_key_file_identity_and_scopes(repo, base_env, token_policy, google, workdir):
    google.fake.scopes_seen.clear()
    with cluster_access(repo.cluster("gke"), root=repo.root, env=base_env, workdir=workdir) as access:
        assert seen_identity(access, base_env, token_policy, google) == KEY_SA
    assert google.fake.scopes_seen and all(scopes == GKE_SCOPES for scopes in google.fake.scopes_seen)


def test_application_default_credentials(repo, adc_env, token_policy, google, workdir):
    with cluster_access(repo.cluster("gke-adc"), root=repo.root, env=adc_env, workdir=workdir) as access:
        assert seen_identity(access, adc_env, token_policy, google) == ADC_SA


def test_no_credentials(repo, base_env, workdir):
    error = enter(repo.cluster("gke-adc"), repo, base_env, workdir)
    assert (error.kind, error.exit_code) == ("no-credentials", 2)
    assert "no Google credentials found" in error.message and "GOOGLE_APPLICATION_CREDENTIALS" in error.message


def test_access_denied_names_the_identity(repo, base_env, workdir):
    error = enter(repo.cluster("gke-denied"), repo, base_env, workdir)
    assert (error.kind, error.exit_code) == ("access-denied", 2)
    assert f"access denied: {DENIED_SA} (the cluster's key file)" in error.message
    assert "container.clusters.get" in error.message


def test_cluster_not_found_names_project_and_location(repo, base_env, workdir):
    error = enter(repo.cluster("gke", cluster="nope"), repo, base_env, workdir)
    assert (error.kind, error.exit_code) == ("not-found", 2)
    assert f"GKE cluster 'nope' not found in project {GCP_PROJECT}, location {GCP_LOCATION}" in error.message
    assert KEY_SA in error.message


def test_rejected_key(repo, adc_env, google, tmp_path, workdir):
    """A key Google does not know (its signature fails): the token request is refused."""
    import json

    forged = dict(google.keys[ADC_SA], private_key=google.keys[KEY_SA]["private_key"])
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged))
    env = {**adc_env, "GOOGLE_APPLICATION_CREDENTIALS": str(path)}
    error = enter(repo.cluster("gke-adc"), repo, env, workdir)
    assert error.kind in ("rejected", "access-denied") and ADC_SA in error.message


def test_endpoint_unreachable(repo, base_env, workdir):
    env = {**base_env, "DEPLOYER_GKE_ENDPOINT": "https://127.0.0.1:9"}
    error = enter(repo.cluster("gke"), repo, env, workdir)
    assert (error.kind, error.exit_code) == ("unreachable", 1)
    assert "cannot reach the GKE API at https://127.0.0.1:9" in error.message
