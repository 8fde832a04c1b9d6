"""The health check's results: one ``StepResult`` per step run, grouped by attempt, and a JSON report.

The report (``HealthReport.to_dict()``, written by ``deployer health-check --report FILE``) is what the deploy
workflow keeps and the deploy gate reads::

    {"cluster": "c1", "hub": "staging", "url": "https://...", "healthy": false, "hub_version": "6.1.1",
     "seconds": 41.2, "failed_step": "spawn", "message": "spawn failed: ...",
     "steps": [{"name": "hub-api", "ok": true, "seconds": 0.05, "message": "JupyterHub 6.1.1 ..."}, ...],
     "attempts": [{"attempt": 1, "healthy": false, "seconds": ..., "steps": [...]}, ...]}

``steps`` are those of the last attempt (the one that decided); ``attempts`` holds every attempt. After a
failed step, the clean-up steps (``dask-shutdown`` on a daskhub, ``stop``, ``remove-user``) still run and are
listed with ``cleanup: true``.
When the check could not run at all (bad input: no token, a refused token), ``steps`` holds one failed step
``setup`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    seconds: float
    message: str
    cleanup: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }
        if self.cleanup:
            data["cleanup"] = True
        return data


@dataclass(frozen=True)
class AttemptResult:
    number: int
    steps: tuple[StepResult, ...]
    seconds: float

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if not s.ok), None)

    @property
    def healthy(self) -> bool:
        return bool(self.steps) and self.failed_step is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempt": self.number,
            "healthy": self.healthy,
            "seconds": round(self.seconds, 3),
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True)
class HealthReport:
    cluster: str
    hub: str
    url: str
    attempts: tuple[AttemptResult, ...] = ()
    hub_version: str | None = None
    error: str | None = None  # set when the check could not run at all (bad input): no attempts then
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return self.error is None and bool(self.attempts) and self.attempts[-1].healthy

    @property
    def steps(self) -> tuple[StepResult, ...]:
        return self.attempts[-1].steps if self.attempts else ()

    @property
    def failed_step(self) -> StepResult | None:
        return self.attempts[-1].failed_step if self.attempts else None

    @property
    def seconds(self) -> float:
        return sum(a.seconds for a in self.attempts)

    @property
    def message(self) -> str:
        if self.error is not None:
            return self.error
        failed = self.failed_step
        if failed is not None:
            return f"step '{failed.name}' failed: {failed.message}"
        return "healthy" if self.healthy else "not checked"

    def to_dict(self) -> dict[str, Any]:
        failed = self.failed_step
        return {
            "cluster": self.cluster,
            "hub": self.hub,
            "url": self.url,
            "healthy": self.healthy,
            "hub_version": self.hub_version,
            "seconds": round(self.seconds, 3),
            "failed_step": failed.name if failed else ("setup" if self.error else None),
            "message": self.message,
            "steps": [s.to_dict() for s in self.steps]
            or ([StepResult("setup", False, 0.0, self.error).to_dict()] if self.error else []),
            "attempts": [a.to_dict() for a in self.attempts],
            **self.extra,
        }
