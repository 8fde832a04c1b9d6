"""Fault switches: fake readiness on/off, injected API errors and added latency.

Contract: :class:`Faults` is shared by the server threads and the test that drives it (all methods thread-safe).

- ``readiness`` (bool, default on): when off, the fake controllers in :mod:`.readiness` leave workload status empty,
  so ``helm --wait`` and ``kubectl rollout status`` never see their objects ready.
- ``inject_error(status, verb=..., namespace=..., resource=..., name=..., times=...)`` adds an :class:`ErrorRule`;
  a request matching every given field (``None`` matches anything) is answered with that HTTP status and a
  Kubernetes ``Status`` body instead of being served. ``verb`` is a Kubernetes verb: get, list, watch, create,
  update, patch, delete, deletecollection; a server-side apply that creates its object matches both ``patch`` and
  ``create``. ``resource`` matches a plural, singular, kind or short name, optionally ``plural.group``.
  ``times`` limits how many requests a rule fails (``None``: every one). Rules are checked in insertion order.
- ``latency`` (seconds, default 0): added before every request is served (not between watch events).
- ``namespace_deletion`` (seconds, default 0): how long the fake namespace controller takes to empty and remove a
  deleted Namespace. Meanwhile the Namespace is ``Terminating`` (``deletionTimestamp``, its ``kubernetes``
  finalizer, ``status.phase``), new objects in it are refused (403 Forbidden) and deleting it again is a 409
  Conflict, as on a real server. At 0 a deleted Namespace goes at once with its content.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from deployer.testing.kubeapi.discovery import ResourceInfo

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_ids = itertools.count(1)


@dataclass
class ErrorRule:
    status: int
    verb: str | None = None
    namespace: str | None = None
    resource: str | None = None
    name: str | None = None
    message: str | None = None
    times: int | None = None
    hits: int = 0
    id: int = field(default_factory=lambda: next(_ids))

    def _resource_matches(self, info: ResourceInfo | None) -> bool:
        if self.resource is None:
            return True
        if info is None:
            return False
        wanted, _, group = self.resource.lower().partition(".")
        if group and group != info.group:
            return False
        return wanted in (info.plural, info.singular_name, info.kind.lower(), *info.short_names)

    def matches(self, verbs: Iterable[str], namespace: str | None, info: ResourceInfo | None, name: str | None) -> bool:
        return (
            (self.verb is None or self.verb in verbs)
            and (self.namespace is None or self.namespace == namespace)
            and (self.name is None or self.name == name)
            and self._resource_matches(info)
            and (self.times is None or self.hits < self.times)
        )

    def describe(self, verb: str, info: ResourceInfo | None, name: str | None) -> str:
        if self.message:
            return self.message
        what = info.plural + (f".{info.group}" if info and info.group else "") if info else "resource"
        target = f' "{name}"' if name else ""
        return f"injected fault: {verb} {what}{target} failed with {self.status} {REASONS.get(self.status, '')}"


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[ErrorRule] = []
        self.readiness = True
        self.latency = 0.0
        self.namespace_deletion = 0.0

    def inject_error(
        self,
        status: int = 500,
        *,
        verb: str | None = None,
        namespace: str | None = None,
        resource: str | None = None,
        name: str | None = None,
        message: str | None = None,
        times: int | None = None,
    ) -> ErrorRule:
        rule = ErrorRule(status, verb, namespace, resource, name, message, times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove_error(self, rule: ErrorRule) -> None:
        with self._lock:
            self._rules = [r for r in self._rules if r.id != rule.id]

    def clear_errors(self) -> None:
        with self._lock:
            self._rules = []

    def match(
        self, verbs: Iterable[str], namespace: str | None, info: ResourceInfo | None, name: str | None
    ) -> ErrorRule | None:
        verbs = set(verbs)
        with self._lock:
            for rule in self._rules:
                if rule.matches(verbs, namespace, info, name):
                    rule.hits += 1
                    return rule
        return None
