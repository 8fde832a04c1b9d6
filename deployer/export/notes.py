"""What in a hub's values is specific to the infrastructure it runs on, and the export's README. Pure.

``infra_specific(layers)`` walks the plaintext values files (in order) and lists the settings a community
moving the hub elsewhere will want to review: host names, node placement, storage classes, load balancer and
cloud annotations, the cluster's name. Each finding names the key path and the file that sets it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from deployer.config.schema import format_path

# key name -> why it is usually specific to the cluster the hub runs on
SPECIFIC_KEYS = {
    "nodeSelector": "node pool labels of this cluster",
    "tolerations": "taints of this cluster's nodes",
    "affinity": "node or zone placement in this cluster",
    "storageClass": "a storage class of this cluster",
    "storageClassName": "a storage class of this cluster",
    "loadBalancerIP": "an address reserved in this cloud project",
    "loadBalancerSourceRanges": "this cloud's network ranges",
    "hosts": "host names under our DNS",
    "host": "a host name under our DNS",
    "domain": "the hub's host name under our DNS",
    "oauth_callback_url": "a URL under our DNS",
    "serviceAccountName": "a cloud identity bound in this cluster",
}
CLOUD_ANNOTATION_PREFIXES = (
    "service.beta.kubernetes.io/",
    "cloud.google.com/",
    "eks.amazonaws.com/",
    "iam.gke.io/",
    "azure.workload.identity/",
    "cert-manager.io/",
)


@dataclass(frozen=True)
class Finding:
    path: tuple[Any, ...]  # mapping keys, as the YAML has them
    file: str
    why: str

    def render(self) -> str:
        return f"`{format_path(self.path)}` in `{self.file}`: {self.why}"


def _walk(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key), value
            yield from _walk(value, (*path, key))


def infra_specific(layers: Sequence[tuple[str, Any]]) -> list[Finding]:
    """Findings for every plaintext layer (file name, parsed content), in order, without duplicates."""
    found: dict[tuple[Any, ...], Finding] = {}
    for name, data in layers:
        for path, value in _walk(data, ()):
            key = path[-1]
            why = None
            if key in SPECIFIC_KEYS and value not in (None, {}, [], ""):
                why = SPECIFIC_KEYS[key]
            elif isinstance(key, str) and key.startswith(CLOUD_ANNOTATION_PREFIXES):
                why = "a cloud-specific annotation"
            elif path[-2:] == ("identity", "cluster"):
                why = "the name of the cluster in our fleet"
            if why:
                found[path] = Finding(path, name, why)  # the last file to set it wins, as in helm
    return sorted(found.values(), key=lambda f: (f.file, format_path(f.path)))


def readme(
    *,
    hub: str,
    cluster: str,
    chart: str,
    charts: Sequence[str],
    files: Sequence[tuple[str, bool]],
    decrypted: bool,
    domain: str,
    findings: Sequence[Finding],
) -> str:
    """The export's README.md. ``files``: (path in the bundle, still encrypted?) in helm's order."""
    lines = [
        f"# Hub `{hub}`, ready to deploy anywhere with helm",
        "",
        f"This folder holds everything needed to run the JupyterHub `{hub}` (until now on cluster `{cluster}`,",
        f"at `https://{domain}`) on any Kubernetes cluster with plain `helm`. Nothing else is needed: no",
        "repository of ours, no tool of ours: helm, and sops for the encrypted values. Run `./deploy.sh` with your",
        "kubeconfig pointing at your cluster.",
        "",
        "## What is here",
        "",
        "| file | what it is |",
        "| --- | --- |",
        "| `deploy.sh` | the one command that deploys the hub: `helm upgrade --install` with the values below |",
        f"| `chart/{chart}/` | the hub's helm chart, with its dependency charts packaged in `chart/{chart}/charts/` |",
    ]
    for other in charts:
        if other != chart:
            lines.append(
                f"| `chart/{other}/` | a chart `{chart}` uses (`file://../{other}`), with its own dependencies |"
            )
    for path, encrypted in files:
        what = (
            "values the deployer generated from the hub's entry in its cluster.yaml (name, domain, cluster,"
            " provider; the ingress host and TLS entry for the domain), first so every other file can override them"
            if path.endswith("/deployer-facts.values.yaml")
            else "sops-encrypted values (secrets): `deploy.sh` decrypts them on the fly with `sops --decrypt`"
            if encrypted
            else "DECRYPTED secret values: keep this file private, never commit it"
            if decrypted and "secret" in path
            else "values"
        )
        lines.append(f"| `{path}` | {what} |")
    lines += [
        "| `.sops.yaml` | where sops encrypts new secret files to: put your own keys in it |",
        "",
        "Values files apply in the order `deploy.sh` lists them: later files override earlier ones (maps merge,",
        "lists and other values replace, `null` removes a key).",
        "",
        "## The commands in `deploy.sh`",
        "",
        "```bash",
        f"helm upgrade --install {hub} ./chart/{chart} --namespace {hub} --create-namespace --values ...",
        "```",
        "",
        f"- `helm upgrade --install` installs the release `{hub}` the first time and upgrades it afterwards.",
        f"- `--namespace {hub} --create-namespace`: the hub lives in its own namespace (set `NAMESPACE` and",
        "  `RELEASE` in the environment to change either). Extra arguments to `deploy.sh` go to helm, e.g.",
        "  `./deploy.sh --kube-context my-cluster --wait --timeout 10m`.",
    ]
    if any(enc for _, enc in files):
        lines += [
            "- `--values <(sops --decrypt FILE)` feeds helm the decrypted secrets without writing them to disk.",
            "  Each secret file is also decrypted once to `/dev/null` first, so a missing key stops the script",
            "  before helm runs. sops needs a key the files are encrypted to (e.g. `SOPS_AGE_KEY_FILE` for age).",
            "",
            "## Taking over the secrets",
            "",
            "The encrypted files are still readable only with the keys of the infrastructure you come from. To own",
            "them: get them decrypted once (ask for an export with `--decrypt`, over a private channel), put your",
            "own age public key or KMS key in `.sops.yaml`, then encrypt each file in place from this folder:",
            "`sops encrypt --in-place values/enc-....yaml`.",
        ]
    lines += ["", "## Settings specific to the infrastructure this hub comes from", ""]
    if findings:
        lines.append("Review these before deploying elsewhere; each names the file that sets it:")
        lines.append("")
        lines += [f"- {f.render()}" for f in findings]
    else:
        lines.append("None found in the plaintext values files.")
    lines += [
        "",
        f"The hub's public address was `{domain}`: point your own DNS name at the hub's `proxy-public` Service (or",
        "its ingress) and change the host names above to match (the domain and the ingress host and TLS entry are",
        "in `values/deployer-facts.values.yaml`, when the bundle has it).",
        "",
    ]
    return "\n".join(lines)
