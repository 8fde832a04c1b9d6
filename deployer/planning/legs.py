"""The legs of a rollout and their JSON, in one place: each type has ``to_json()`` (a dict of JSON values) and
``from_json(data)`` (its inverse). Pure.

A ``Rollout`` is what ``deployer generate-matrix`` prints and ``deployer gate`` reads back: ``support`` legs (one
per cluster), ``canary`` and ``prod`` legs (``HubLeg``: one cluster, one or more hubs) and the hubs ``removed``
since the base revision. Every leg carries a human-readable reason. The JSON of a leg is exactly what a workflow's
matrix entry holds (``cluster``, ``provider``, ``hubs``, ``reason``).

``from_json`` trusts nothing: the JSON comes from a file a workflow passed between jobs. Wrong types, missing keys
or absurd sizes raise ``UsageError`` naming where in the data the problem is, never ``KeyError``/``TypeError``.
Cluster and hub names must be names the config schema allows (``NAME_RULE``, matched in full: a workflow hands
them to commands, so ``staging; curl x|sh`` must never get that far), and a provider one the schema knows.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from deployer.errors import UsageError

MAX_LEGS = 100_000  # far above any fleet (a GitHub matrix holds 256 jobs); a bigger list is not one of our plans
MAX_TEXT = 100_000  # characters in one name or reason

# The names of schemas/cluster.schema.json (tests/test_gate.py checks they are the same rule): a cluster's name is a
# DNS-1123 label ($defs.dns1123Label), a hub's name one of at most 53 characters that is not "support".
NAME_RULE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
CLUSTER_NAME_MAX = 63
HUB_NAME_MAX = 53
RESERVED_HUB_NAMES = frozenset({"support"})
PROVIDERS = ("gcp", "aws", "azure", "kubeconfig")


def name_problem(value: str, kind: str) -> str | None:
    """Why ``value`` is not a valid ``kind`` (``cluster`` or ``hub``) name, or None when it is one."""
    most = CLUSTER_NAME_MAX if kind == "cluster" else HUB_NAME_MAX
    reserved = kind == "hub" and value in RESERVED_HUB_NAMES
    if NAME_RULE.fullmatch(value) and len(value) <= most and not reserved:
        return None
    return (
        f"must be a {kind} name (lowercase letters, digits and inner '-', at most {most} characters"
        f"{'' if kind == 'cluster' else ', not support'}), not {_shown(value)}"
    )


def _shown(value: str, most: int = 60) -> str:
    """``value`` quoted on one line (control characters escaped), shortened."""
    return repr(value[:most]) + (f" ... ({len(value)} characters)" if len(value) > most else "")


class _Reader:
    """Typed access to untrusted JSON, naming the place of the first problem (``canary[2].hubs``)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, what: str) -> UsageError:
        return UsageError(
            f"{self.source}: not a plan printed by 'deployer generate-matrix' ({where}: {what}); "
            "pass the plan file that generate-matrix wrote"
        )

    def mapping(self, data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, f"must be an object, not {_kind(data)}")
        return data

    def text(self, data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
        if key not in data:
            if required:
                raise self.fail(where, f"missing key '{key}'")
            return ""
        value = data[key]
        if not isinstance(value, str) or (required and not value) or len(value) > MAX_TEXT:
            raise self.fail(
                f"{where}.{key}",
                f"must be a {'non-empty ' if required else ''}string of at most "
                f"{MAX_TEXT} characters, not {_kind(value)}",
            )
        return value

    def name(self, data: dict[str, Any], key: str, where: str, kind: str) -> str:
        value = self.text(data, key, where)
        problem = name_problem(value, kind)
        if problem:
            raise self.fail(f"{where}.{key}", problem)
        return value

    def provider(self, data: dict[str, Any], where: str) -> str:
        value = self.text(data, "provider", where, required=False)
        if value and value not in PROVIDERS:
            raise self.fail(f"{where}.provider", f"must be one of {', '.join(PROVIDERS)}, not {_shown(value)}")
        return value

    def items(self, data: dict[str, Any], key: str, where: str) -> list[Any]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{where}{key}", f"must be a list, not {_kind(value)}")
        if len(value) > MAX_LEGS:
            raise self.fail(f"{where}{key}", f"{len(value)} entries, more than the limit of {MAX_LEGS}")
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


@dataclass(frozen=True)
class SupportLeg:
    cluster: str
    provider: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "provider": self.provider, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Any, *, source: str = "plan", where: str = "support leg") -> SupportLeg:
        r = _Reader(source)
        d = r.mapping(data, where)
        return cls(
            r.name(d, "cluster", where, "cluster"),
            r.provider(d, where),
            r.text(d, "reason", where, required=False),
        )


@dataclass(frozen=True)
class HubLeg:
    cluster: str
    provider: str
    hubs: tuple[str, ...]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "provider": self.provider, "hubs": list(self.hubs), "reason": self.reason}

    @classmethod
    def from_json(cls, data: Any, *, source: str = "plan", where: str = "hub leg") -> HubLeg:
        r = _Reader(source)
        d = r.mapping(data, where)
        cluster = r.name(d, "cluster", where, "cluster")
        if "hubs" not in d:
            raise r.fail(where, "missing key 'hubs'")
        hubs = r.items(d, "hubs", f"{where}.")
        if not hubs or not all(isinstance(h, str) and h and len(h) <= MAX_TEXT for h in hubs):
            raise r.fail(f"{where}.hubs", "must be a non-empty list of hub names")
        for i, hub in enumerate(hubs):
            problem = name_problem(hub, "hub")
            if problem:
                raise r.fail(f"{where}.hubs[{i}]", problem)
        return cls(
            cluster,
            r.provider(d, where),
            tuple(hubs),
            r.text(d, "reason", where, required=False),
        )


@dataclass(frozen=True)
class Removed:
    cluster: str
    hub: str

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "hub": self.hub}

    @classmethod
    def from_json(cls, data: Any, *, source: str = "plan", where: str = "removed hub") -> Removed:
        r = _Reader(source)
        d = r.mapping(data, where)
        return cls(r.name(d, "cluster", where, "cluster"), r.name(d, "hub", where, "hub"))


@dataclass(frozen=True)
class Rollout:
    """What a change deploys: support legs, then canary legs, then prod legs; and the hubs it removed."""

    support: tuple[SupportLeg, ...] = ()
    canary: tuple[HubLeg, ...] = ()
    prod: tuple[HubLeg, ...] = ()
    removed: tuple[Removed, ...] = ()
    unmatched: tuple[str, ...] = field(default=(), compare=False)  # changed paths no rule knows (not in the JSON)

    def to_json(self) -> dict[str, Any]:
        return {
            "support": [leg.to_json() for leg in self.support],
            "canary": [leg.to_json() for leg in self.canary],
            "prod": [leg.to_json() for leg in self.prod],
            "removed": [r.to_json() for r in self.removed],
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "plan") -> Rollout:
        """The rollout ``to_json`` gave; a missing list is empty. ``source`` names the data in errors."""
        r = _Reader(source)
        d = r.mapping(data, "the top level")
        return cls(
            support=tuple(
                SupportLeg.from_json(x, source=source, where=f"support[{i}]")
                for i, x in enumerate(r.items(d, "support", ""))
            ),
            canary=tuple(
                HubLeg.from_json(x, source=source, where=f"canary[{i}]") for i, x in enumerate(r.items(d, "canary", ""))
            ),
            prod=tuple(
                HubLeg.from_json(x, source=source, where=f"prod[{i}]") for i, x in enumerate(r.items(d, "prod", ""))
            ),
            removed=tuple(
                Removed.from_json(x, source=source, where=f"removed[{i}]")
                for i, x in enumerate(r.items(d, "removed", ""))
            ),
        )

    def step_outputs(self) -> dict[str, str]:
        """Each list as one line of compact JSON, for ``$GITHUB_OUTPUT`` (a workflow's ``fromJSON(...)``)."""
        return {key: json.dumps(value, separators=(",", ":")) for key, value in self.to_json().items()}


def fold_legs(legs: tuple[HubLeg, ...], max_legs: int) -> tuple[HubLeg, ...]:
    """Group hubs of the same cluster into fewer legs until there are at most ``max_legs``.

    Clusters never share a leg, so more clusters than ``max_legs`` cannot be folded: ``ValueError``.
    """
    if len(legs) <= max_legs:
        return legs
    by_cluster: dict[str, list[HubLeg]] = defaultdict(list)
    for leg in legs:
        by_cluster[leg.cluster].append(leg)
    if len(by_cluster) > max_legs:
        raise ValueError(f"{len(by_cluster)} clusters need at least as many legs, more than the limit of {max_legs}")
    count = {name: len(group) for name, group in by_cluster.items()}
    while sum(count.values()) > max_legs:
        widest = max(sorted(count), key=lambda n: (count[n], n))  # the cluster with the most legs; ties by name
        count[widest] -= 1
    folded = []
    for name in sorted(by_cluster):
        group, parts = by_cluster[name], count[name]
        size, extra = divmod(len(group), parts)
        start = 0
        for i in range(parts):
            chunk = group[start : start + size + (1 if i < extra else 0)]
            start += len(chunk)
            hubs = tuple(h for leg in chunk for h in leg.hubs)
            reason = (
                chunk[0].reason
                if len(chunk) == 1
                else f"{len(chunk)} hubs folded into one leg: "
                + "; ".join(f"{leg.hubs[0]}: {leg.reason}" for leg in chunk[:3])
                + (" ..." if len(chunk) > 3 else "")
            )
            folded.append(HubLeg(name, chunk[0].provider, hubs, reason))
    return tuple(folded)
