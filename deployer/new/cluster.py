"""``plan_cluster``: the files of a new cluster folder, from a provider and its options.

The options a provider takes are the fields of its block in schemas/cluster.schema.json (``provider_fields``),
except ``key``/``file``: those name sops-encrypted credential files the operator adds later. Each field is a CLI
option (``option_name``): ``account_id`` is ``--account-id``, the block's ``cluster`` is ``--cluster-name`` (NAME
is the fleet's name for the cluster). The candidate cluster.yaml is checked with the schema before anything is
written, so a bad value is refused naming its option.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deployer import yamlio
from deployer.config.load import check_cluster_data, cluster_schema_path
from deployer.errors import UsageError
from deployer.new.files import NewFile, refuse_existing
from deployer.repo import CLUSTERS_DIR

PROVIDERS = ("gcp", "aws", "azure", "kubeconfig")
FILE_FIELDS = frozenset({"key", "file"})  # credential files: added by hand, not by `new cluster`
SUPPORT_FILE = "support.values.yaml"


def option_name(field: str) -> str:
    """The CLI option of a provider block's field: ``--account-id`` for ``account_id``; ``--cluster-name`` for
    ``cluster``."""
    return "--cluster-name" if field == "cluster" else "--" + field.replace("_", "-")


def provider_fields(root: Path, provider: str) -> tuple[list[str], list[str]]:
    """(required, optional) fields of ``provider``'s block in the cluster schema, credential files left out."""
    schema = json.loads(cluster_schema_path(root).read_text())
    block = schema["properties"][provider]
    required = [f for f in block.get("required", []) if f not in FILE_FIELDS]
    optional = [f for f in block["properties"] if f not in required and f not in FILE_FIELDS]
    return required, optional


def cluster_document(name: str, provider: str, spec: Mapping[str, str]) -> dict[str, Any]:
    """The content of a new cluster.yaml (support chart on, no hubs yet)."""
    return {
        "name": name,
        "provider": provider,
        provider: dict(spec),
        "support": {"helm_chart_values_files": [SUPPORT_FILE]},
    }


def cluster_text(document: Mapping[str, Any]) -> str:
    return (
        "# yaml-language-server: $schema=../../../schemas/cluster.schema.json\n"
        f"# Cluster {document['name']}, made by `deployer new cluster`. Add hubs with "
        f"`deployer new hub {document['name']} HUB --domain DOMAIN`.\n" + yamlio.dumps(dict(document))
    )


def support_text(name: str) -> str:
    return (
        f"# Values of the support chart (helm-charts/support) on cluster {name}; its values.yaml lists the rest.\n"
        "clusterIssuer:\n"
        "  enabled: false   # true, with an `email`, to get Let's Encrypt certificates for the hubs\n"
    )


def plan_cluster(root: Path, name: str, provider: str, options: Mapping[str, str | None]) -> list[NewFile]:
    """The files of cluster ``name``; ``options`` maps field names (``account_id``) to the values given (None: not
    given). Raises ``UsageError`` (one line) for a missing, foreign or invalid option, a bad name, or an existing
    cluster."""
    if provider not in PROVIDERS:
        raise UsageError(f"--provider must be one of {', '.join(PROVIDERS)}")
    required, optional = provider_fields(root, provider)
    given = {k: v for k, v in options.items() if v is not None}
    foreign = [option_name(f) for f in given if f not in required and f not in optional]
    if foreign:
        raise UsageError(f"{', '.join(foreign)} does not go with --provider {provider}: leave it out")
    missing = [option_name(f) for f in required if f not in given]
    if missing:
        raise UsageError(f"--provider {provider} needs {', '.join(missing)} (see schemas/cluster.schema.json)")
    spec = {f: given[f] for f in (*required, *optional) if f in given}
    document = cluster_document(name, provider, spec)
    problems = check_cluster_data(root, name, document).problems
    if problems:
        raise UsageError("cannot create the cluster: " + "; ".join(_as_options(p.message, provider) for p in problems))
    cdir = f"{CLUSTERS_DIR.as_posix()}/{name}"
    if (root / cdir).exists():
        raise UsageError(f"{cdir}/: a cluster named '{name}' already exists: choose another name")
    files = [
        NewFile(f"{cdir}/cluster.yaml", cluster_text(document).encode()),
        NewFile(f"{cdir}/{SUPPORT_FILE}", support_text(name).encode()),
    ]
    refuse_existing(root, files)
    return files


def _as_options(message: str, provider: str) -> str:
    """A schema message about ``<provider>.<field>`` or ``name`` worded with the CLI's names for them."""
    head, _, rest = message.partition(": ")
    if head.startswith(provider + "."):
        return f"{option_name(head[len(provider) + 1 :])}: {rest}"
    if head == "name":
        return f"NAME: {rest}"
    return message
