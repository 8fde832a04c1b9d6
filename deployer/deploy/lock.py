"""The per-cluster deploy lock: a ``coordination.k8s.io/v1`` Lease in the cluster itself, so two deploys of one
cluster exclude each other from any machine (a laptop and a CI runner alike).

``deploy_lock(access, cluster, env=..., workdir=..., runner=..., wait=0, notify=...)`` is a context manager around
a whole deploy (``deployer deploy`` and ``deploy-support``; not ``--dry-run`` or ``diff``, which change nothing):

- the Lease is ``kube-system/deployer-deploy-lock-<cluster>`` (``kube-system`` exists in every cluster; the
  deployer's own namespaces may not exist yet; named per cluster of the configuration, so two of them that share
  one Kubernetes cluster, as the tests' do, lock separately). Its ``holderIdentity`` is ``user@host:pid/random``,
  ``acquireTime`` when it was taken, ``renewTime`` + ``leaseDurationSeconds`` (120 s) when it expires;
- acquiring is optimistic: create the Lease; if it exists, read it and take it over only when it has expired (or
  was released), by a replace carrying the ``resourceVersion`` just read, so of two racing deploys one wins (409
  Conflict for the other, which reads again);
- a Lease held by a live deploy -> ``DeployLocked`` (exit 2, one line: who holds it, since when, until when, what
  to do), after waiting up to ``wait`` seconds for it (``--wait-for-lock``);
- an expired Lease taken over is said through ``notify`` ("took over an expired deploy lock held by X since T")
  and is ``DeployLock.took_over`` (the pending-release advice names that deploy);
- while the block runs a background thread renews the Lease every 40 s (a third of its duration);
- when the block ends, on every exit path (errors, Ctrl-C, and SIGTERM, which the CLI turns into an exception),
  the Lease is deleted, with the ``resourceVersion`` of the last renewal as a precondition: a Lease someone else
  took over meanwhile stays theirs. If the delete fails, the Lease simply expires (``notify`` says when).

Expiry compares the holder's ``renewTime`` with this machine's clock: clocks more than a few seconds apart shift
it by that much.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.errors import UsageError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from deployer.auth import ClusterAccess
    from deployer.run import Runner

NAMESPACE = "kube-system"
PREFIX = "deployer-deploy-lock-"  # + the cluster's name (a DNS label: the Lease's name is a valid one)
DURATION = 120  # seconds a lease lasts without renewal
POLL = 2.0  # seconds between looks at a held lease, with --wait-for-lock


def lease_name(cluster: str) -> str:
    return PREFIX + cluster


def where(cluster: str) -> str:
    return f"Lease {NAMESPACE}/{lease_name(cluster)}"


class DeployLocked(UsageError):
    """Another deploy of the cluster holds its deploy lock (exit 2); the message names it and says what to do."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a lease, and for how long."""

    identity: str
    since: datetime.datetime | None  # acquireTime
    until: datetime.datetime | None  # renewTime (else acquireTime) + leaseDurationSeconds

    def expired(self, now: datetime.datetime) -> bool:
        return not self.identity or self.until is None or self.until <= now


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def micro_time(when: datetime.datetime) -> str:
    """A Kubernetes ``MicroTime``: ``2026-11-30T02:10:17.123456Z``."""
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shown(when: datetime.datetime | None) -> str:
    return "an unknown time" if when is None else when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _parsed(stamp: Any) -> datetime.datetime | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        when = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def holder_of(lease: Mapping[str, Any]) -> Holder:
    """The holder of ``lease`` (a Lease as JSON); fields of the wrong shape count as absent (an expired lease)."""
    spec = lease.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    identity = spec.get("holderIdentity") if isinstance(spec.get("holderIdentity"), str) else ""
    since = _parsed(spec.get("acquireTime"))
    renewed = _parsed(spec.get("renewTime")) or since
    seconds = spec.get("leaseDurationSeconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
        seconds = None
    until = renewed + datetime.timedelta(seconds=seconds) if renewed and seconds else None
    return Holder(str(identity or ""), since, until)


def identity(env: Mapping[str, str]) -> str:
    """``user@host:pid/random`` of this process (the user from ``env``, else the account's name)."""
    user = env.get("USER") or env.get("LOGNAME")
    if not user:
        try:
            import pwd

            user = pwd.getpwuid(os.getuid()).pw_name
        except (ImportError, KeyError):
            user = str(os.getuid())
    return f"{user}@{socket.gethostname()}:{os.getpid()}/{secrets.token_hex(4)}"


def refusal(cluster: str, holder: Holder, waited: float) -> DeployLocked:
    after = f" (waited {waited:.0f} s)" if waited else ""
    return DeployLocked(
        f"cluster '{cluster}' is being deployed by {holder.identity} (its deploy lock, {where(cluster)}, is held since "
        f"{shown(holder.since)}, renewed until {shown(holder.until)}){after}: wait for that deploy to finish and "
        f"deploy again, or pass --wait-for-lock SECONDS; if that deploy is dead, its lock expires at "
        f"{shown(holder.until)} and the next deploy takes it over"
    )


class DeployLock:
    """The deploy lock of one cluster, held: renewed in the background until ``release()``."""

    def __init__(
        self,
        api: ApiClient,
        cluster: str,
        *,
        me: str,
        notify: Callable[[str], None] = lambda line: None,
        duration: int = DURATION,
        clock: Callable[[], datetime.datetime] = _now,
    ) -> None:
        self.api = api
        self.cluster = cluster
        self.me = me
        self.notify = notify
        self.duration = duration
        self.clock = clock
        self.lease: dict[str, Any] | None = None  # as last written by us
        self.took_over: Holder | None = None  # the expired holder this deploy took the lock from
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- acquiring -------------------------------------------------------------------------------------------------
    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait`` seconds for a live holder to let go; ``DeployLocked`` if it
        does not. Then start renewing it."""
        started = time.monotonic()
        while True:
            holder = self._try()
            if holder is None:
                break
            waited = time.monotonic() - started
            if waited >= wait:
                raise refusal(self.cluster, holder, waited)
            until_expiry = (holder.until - self.clock()).total_seconds() if holder.until else POLL
            time.sleep(max(0.05, min(POLL, wait - waited, until_expiry + 0.05)))
        if self.took_over is not None:
            self.notify(
                f"took over an expired deploy lock of cluster '{self.cluster}' ({where(self.cluster)}) held by "
                f"{self.took_over.identity} since {shown(self.took_over.since)} (expired at "
                f"{shown(self.took_over.until)})"
            )
        self._renewer = threading.Thread(target=self._renew_loop, name="deploy-lock", daemon=True)
        self._renewer.start()

    def _body(self, now: datetime.datetime, current: Mapping[str, Any] | None) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": lease_name(self.cluster), "namespace": NAMESPACE}
        transitions = 0
        if current is not None:
            metadata["resourceVersion"] = current["metadata"]["resourceVersion"]
            previous = (current.get("spec") or {}).get("leaseTransitions")
            transitions = (previous if isinstance(previous, int) else 0) + 1
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.me,
                "leaseDurationSeconds": self.duration,
                "acquireTime": micro_time(now),
                "renewTime": micro_time(now),
                "leaseTransitions": transitions,
            },
        }

    def _try(self) -> Holder | None:
        """One attempt: None when the lock is now ours, else the live holder."""
        from deployer import kube

        doing = f"take the deploy lock of cluster '{self.cluster}' ({where(self.cluster)})"
        for _ in range(10):  # each round lost to a racing deploy ends in a fresh read
            now = self.clock()
            created = kube.lease_create(self.api, NAMESPACE, self._body(now, None), doing=doing)
            if created is not None:
                self.lease = created
                return None
            current = kube.lease_read(self.api, NAMESPACE, lease_name(self.cluster), doing=doing)
            if current is None:
                continue  # released between our create and read: create again
            holder = holder_of(current)
            if not holder.expired(now):
                return holder
            replaced = kube.lease_replace(self.api, NAMESPACE, self._body(now, current), doing=doing)
            if replaced is not None:
                self.lease = replaced
                self.took_over = holder if holder.identity else None
                return None
        raise UsageError(f"cannot {doing}: other deploys keep changing it; deploy again")

    # -- holding ---------------------------------------------------------------------------------------------------
    def _renew_loop(self) -> None:
        while not self._stop.wait(self.duration / 3):
            try:
                if not self.renew():
                    return
            except Exception as exc:  # a failed renewal is retried; the lease outlives two misses
                self.notify(f"could not renew the deploy lock ({where(self.cluster)}); trying again: {exc}")

    def renew(self) -> bool:
        """Move the lease's expiry on; False (and said through ``notify``) when it is no longer ours."""
        from deployer import kube

        with self._lock:
            if self.lease is None or self._stop.is_set():
                return False
            body = dict(self.lease)
            body["spec"] = {**self.lease["spec"], "renewTime": micro_time(self.clock())}
            renewed = kube.lease_replace(
                self.api, NAMESPACE, body, doing=f"renew the deploy lock ({where(self.cluster)})"
            )
            if renewed is None:
                self.lease = None
                self.notify(
                    f"lost the deploy lock of cluster '{self.cluster}' ({where(self.cluster)}): it was taken over "
                    "or removed while this deploy ran; another deploy may be running"
                )
                return False
            self.lease = renewed
            return True

    def release(self) -> None:
        """Stop renewing and delete the lease if it is still ours; never raises (an undeleted lease expires)."""
        from deployer import kube

        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        with self._lock:
            lease, self.lease = self.lease, None
        if lease is None:
            return
        try:
            kube.lease_delete(
                self.api,
                NAMESPACE,
                lease_name(self.cluster),
                str(lease["metadata"]["resourceVersion"]),
                doing=f"release the deploy lock ({where(self.cluster)})",
            )
        except Exception as exc:  # the deploy's own outcome matters more; the lease expires
            until = holder_of(lease).until
            self.notify(f"{exc}; the lock expires by itself at {shown(until)}")


@contextlib.contextmanager
def deploy_lock(
    access: ClusterAccess,
    cluster: str,
    *,
    env: Mapping[str, str],
    workdir: Path,
    runner: Runner,
    wait: float = 0.0,
    notify: Callable[[str], None] = lambda line: None,
) -> Iterator[DeployLock]:
    """Hold the deploy lock of ``cluster`` (reached through ``access``) for the block; see the module docstring."""
    from deployer.kube import api_client

    with api_client(access, env=env, workdir=workdir, runner=runner) as api:
        lock = DeployLock(api, cluster, me=identity(env), notify=notify)
        try:
            lock.acquire(wait)
            yield lock
        finally:
            lock.release()
