"""In-memory object storage with resourceVersions and watch fan-out.

Contract: :class:`Store` maps ``(group, plural)`` -> ``(namespace, name)`` -> object dict. One global, strictly
increasing integer resourceVersion is stamped on every write (as a string in ``metadata.resourceVersion``); each
write appends an :class:`Event` (ADDED, MODIFIED, DELETED) to a bounded log and hands it to every open
:class:`Watch` on that resource. ``lock`` is re-entrant: callers that read-modify-write hold it around the whole
operation. ``open_watch`` registers a watch and returns the objects and resourceVersion it starts from in one atomic
step, or the logged events newer than a given resourceVersion (``Gone`` if the log no longer reaches back that far).
Objects handed out are deep copies; the store never shares its own dicts.
"""

from __future__ import annotations

import builtins
import collections
import copy
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

ResourceKey = tuple[str, str]  # (group, plural)
ObjectKey = tuple[str, str]  # (namespace or "", name)


class Gone(Exception):
    """The requested resourceVersion is older than the event log (HTTP 410)."""


@dataclass(frozen=True)
class Event:
    type: str
    resource: ResourceKey
    namespace: str
    object: dict[str, Any]
    old: dict[str, Any] | None = None  # previous state for MODIFIED, so watches can notice selector changes

    @property
    def rv(self) -> int:
        return int(self.object["metadata"]["resourceVersion"])


class Watch:
    def __init__(self, resource: ResourceKey, namespace: str | None) -> None:
        self.resource = resource
        self.namespace = namespace
        self.events: queue.Queue[Event] = queue.Queue()

    def wants(self, event: Event) -> bool:
        return event.resource == self.resource and (self.namespace is None or self.namespace == event.namespace)


class Store:
    def __init__(self, log_size: int = 20000) -> None:
        self.lock = threading.RLock()
        self._objects: dict[ResourceKey, dict[ObjectKey, dict[str, Any]]] = collections.defaultdict(dict)
        self._rv = 1
        self._log: collections.deque[Event] = collections.deque(maxlen=log_size)
        self._watches: set[Watch] = set()

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    # -- reads ----------------------------------------------------------------------------------
    def get(self, resource: ResourceKey, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self._objects[resource].get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def exists(self, resource: ResourceKey, namespace: str, name: str) -> bool:
        with self.lock:
            return (namespace, name) in self._objects[resource]

    def list(self, resource: ResourceKey, namespace: str | None = None) -> tuple[list[dict[str, Any]], str]:
        with self.lock:
            items = [
                copy.deepcopy(obj)
                for (ns, _), obj in sorted(self._objects[resource].items())
                if namespace is None or ns == namespace
            ]
            return items, self.resource_version

    def keys_where(
        self, resource: ResourceKey, predicate: Callable[[dict[str, Any]], bool]
    ) -> builtins.list[ObjectKey]:  # `list` is a method here
        """Keys of the objects of ``resource`` matching ``predicate`` (called on the stored dict: do not modify)."""
        with self.lock:
            return [key for key, obj in self._objects[resource].items() if predicate(obj)]

    def resources(self) -> Iterator[ResourceKey]:
        with self.lock:
            return iter(list(self._objects))

    # -- writes ---------------------------------------------------------------------------------
    def put(self, resource: ResourceKey, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace ``obj`` (keyed by its metadata); returns the stored copy with its new resourceVersion."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        with self.lock:
            self._rv += 1
            stored = copy.deepcopy(obj)
            stored["metadata"]["resourceVersion"] = str(self._rv)
            old = self._objects[resource].get(key)
            self._objects[resource][key] = stored
            self._emit(Event("MODIFIED" if old is not None else "ADDED", resource, key[0], stored, old))
            return copy.deepcopy(stored)

    def remove(self, resource: ResourceKey, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            old = self._objects[resource].pop((namespace, name), None)
            if old is None:
                return None
            self._rv += 1
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self._rv)
            self._emit(Event("DELETED", resource, namespace, gone))
            return copy.deepcopy(gone)

    def _emit(self, event: Event) -> None:
        self._log.append(event)
        for watch in self._watches:
            if watch.wants(event):
                watch.events.put(event)

    # -- watches --------------------------------------------------------------------------------
    def open_watch(
        self, resource: ResourceKey, namespace: str | None, since: str | None
    ) -> tuple[Watch, builtins.list[dict[str, Any]], builtins.list[Event], str]:  # `list` is a method here
        """Register a watch. With ``since`` (a resourceVersion other than "" or "0") return the logged events after
        it; otherwise return the current objects (to send as ADDED). Returns (watch, objects, events, rv)."""
        with self.lock:
            objects: list[dict[str, Any]] = []
            events: list[Event] = []
            if since not in (None, "", "0"):
                try:
                    start = int(since)
                except ValueError:
                    raise Gone(f"invalid resourceVersion {since!r}") from None
                if self._log and self._log[0].rv > start + 1 and len(self._log) == self._log.maxlen:
                    raise Gone(f"too old resource version: {start} ({self._log[0].rv - 1})")
                watch = Watch(resource, namespace)
                events = [e for e in self._log if e.rv > start and watch.wants(e)]
            else:
                watch = Watch(resource, namespace)
                objects, _ = self.list(resource, namespace)
            self._watches.add(watch)
            return watch, objects, events, self.resource_version

    def close_watch(self, watch: Watch) -> None:
        with self.lock:
            self._watches.discard(watch)

    @property
    def watch_count(self) -> int:
        with self.lock:
            return len(self._watches)
