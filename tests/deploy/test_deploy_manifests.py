"""deployer.deploy.manifests: Secret redaction and manifest diffs (pure)."""

from __future__ import annotations

import base64

from deployer.deploy.manifests import CHANGED, REDACTED, manifest_diff, parse, redact_secrets

MARKER = "PLAIN-MARKER-31337"
B64 = base64.b64encode(MARKER.encode()).decode()


def manifest(secret_value: str = B64, display: str = "Hub", token: str = "dG9rZW4=") -> str:
    return f"""---
# Source: basehub/templates/hub-identity.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: hub-identity
data:
  displayName: {display}
---
# Source: jupyterhub/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: hub
type: Opaque
data:
  values.yaml: {secret_value}
  token: {token}
stringData:
  password: {MARKER}
"""


def test_redact_secrets_keeps_other_documents_byte_for_byte() -> None:
    text = manifest()
    out = redact_secrets(text)
    assert MARKER not in out and B64 not in out
    assert out.split("---")[1] == text.split("---")[1]
    secret = next(d for d in parse(out) if d["kind"] == "Secret")
    assert secret["data"] == {"values.yaml": REDACTED, "token": REDACTED}
    assert secret["stringData"] == {"password": REDACTED}
    assert secret["metadata"]["name"] == "hub"
    assert "# Source: jupyterhub/templates/secret.yaml" in out


def test_no_diff_for_the_same_manifest_in_another_order() -> None:
    text = manifest()
    docs = text.split("---\n")[1:]
    reordered = "---\n" + "---\n".join(reversed(docs))
    assert manifest_diff(text, reordered, "h1") == ""


def test_diff_shows_a_changed_value_and_a_changed_secret_without_its_value() -> None:
    other = base64.b64encode(b"ANOTHER-SECRET-VALUE").decode()
    out = manifest_diff(manifest(), manifest(secret_value=other, display="New"), "h1")
    assert "-  displayName: Hub" in out and "+  displayName: New" in out
    assert f"+  values.yaml: {CHANGED}" in out and f"-  values.yaml: {REDACTED}" in out
    assert "token" not in [line[1:].split(":")[0].strip() for line in out.splitlines() if line[:1] in "+-"]
    for secret in (MARKER, B64, other, "ANOTHER-SECRET-VALUE"):
        assert secret not in out
    assert out.startswith("--- h1 (live)\n+++ h1 (this deploy)\n")


def test_diff_against_nothing_installed_adds_everything() -> None:
    out = manifest_diff("", manifest(), "h1")
    assert "+kind: ConfigMap" in out and "+kind: Secret" in out and MARKER not in out
