"""The result of a deploy: one ``ReleaseResult`` per job, and how to show it.

``Report.to_dict()`` is the ``--report`` JSON the workflow's gate reads, exactly::

    {"cluster": "c1", "results": [{"release": "support", "kind": "support", "status": "deployed",
                                   "revision": 3, "seconds": 4.21, "error": null}, ...]}

``status`` is ``deployed``, ``failed`` or ``skipped``; ``error`` (null when deployed) holds helm's stderr (secret
values already redacted) or the reason a release was skipped. ``table()`` is the plain-text summary, ``markdown()``
the same for ``GITHUB_STEP_SUMMARY``. ``ok`` is true when every release deployed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.errors import DeployerError

DEPLOYED = "deployed"
FAILED = "failed"
SKIPPED = "skipped"


class DeployFailed(DeployerError):
    """Some release did not deploy (exit 1); the report above says which and why."""


@dataclass(frozen=True)
class ReleaseResult:
    release: str
    kind: str
    status: str
    revision: int | None = None
    seconds: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "kind": self.kind,
            "status": self.status,
            "revision": self.revision,
            "seconds": round(self.seconds, 2),
            "error": self.error,
        }


@dataclass
class Report:
    cluster: str
    results: list[ReleaseResult] = field(default_factory=list)
    seconds: float = 0.0  # wall-clock time of the whole deploy
    dependency_builds: list[str] = field(default_factory=list)  # charts whose dependencies this run built

    @property
    def ok(self) -> bool:
        return all(r.status == DEPLOYED for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "results": [r.to_dict() for r in self.results]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def write(self, path: str | Path) -> None:
        from deployer.jsonfile import write_json

        write_json(path, self.to_dict())

    def _rows(self) -> list[list[str]]:
        return [
            [r.release, r.kind, r.status, "" if r.revision is None else str(r.revision), f"{r.seconds:.1f}"]
            for r in self.results
        ]

    def table(self) -> str:
        head = ["RELEASE", "KIND", "STATUS", "REVISION", "SECONDS"]
        rows = [head, *self._rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        counts = {s: sum(r.status == s for r in self.results) for s in (DEPLOYED, FAILED, SKIPPED)}
        lines.append(
            f"cluster {self.cluster}: {counts[DEPLOYED]} deployed, {counts[FAILED]} failed, "
            f"{counts[SKIPPED]} skipped in {self.seconds:.1f} s"
        )
        return "\n".join(lines)

    def failure(self) -> DeployFailed | None:
        """The error to exit with when not every release deployed."""
        if self.ok:
            return None
        bad = [f"{r.release} {r.status}" for r in self.results if r.status != DEPLOYED]
        return DeployFailed(f"cluster {self.cluster}: not every release deployed ({', '.join(bad)})")

    def markdown(self) -> str:
        lines = [
            f"### deploy {self.cluster}",
            "",
            "| release | kind | status | revision | seconds |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self._rows()]
        failed = [(r, r.error) for r in self.results if r.error]
        if failed:
            lines.append("")
            for r, error in failed:
                first = error.strip().splitlines()[0] if error.strip() else ""
                lines.append(f"- `{r.release}` {r.status}: {first}")
        return "\n".join(lines) + "\n"
