"""The result of a deploy: one ``ReleaseResult`` per job, and how to show it.

``Report.to_dict()`` is the ``--report`` JSON the workflow's gate reads, exactly::

    {"cluster": "c1", "results": [{"release": "support", "kind": "support", "status": "deployed",
                                   "revision": 3, "live_revision": 3, "seconds": 4.21, "error": null}, ...]}

``status`` is ``deployed``, ``unchanged`` (not upgraded: its inputs' digest is the deployed revision's, see
``deployer.deploy.digest``; a success), ``failed`` or ``skipped``; ``error`` (null when deployed or unchanged)
holds helm's stderr (secret values already redacted) or the reason a release was skipped. ``revision`` is the
revision this deploy's helm run recorded: null when it recorded none (unchanged, skipped, or helm failed before it
wrote one: values refused by the chart's schema, a template error, a release stuck pending). ``live_revision`` is
the release's revision that is deployed in the cluster afterwards (helm keeps the previous one deployed when an
upgrade fails; null: none is, or unknown). ``table()`` is the plain-text summary (columns REVISION and LIVE),
``markdown()`` the same for ``GITHUB_STEP_SUMMARY``. ``ok`` is true when every release deployed or was unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from deployer.errors import DeployerError

DEPLOYED = "deployed"
FAILED = "failed"
SKIPPED = "skipped"
UNCHANGED = "unchanged"
SUCCESS = frozenset({DEPLOYED, UNCHANGED})  # the statuses of a release that is as the config says


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
    live_revision: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "kind": self.kind,
            "status": self.status,
            "revision": self.revision,
            "live_revision": self.live_revision,
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
        return all(r.status in SUCCESS for r in self.results)

    def redacted(self, redact: Callable[[str], str]) -> Report:
        """This report with every ``error`` passed through ``redact`` (the run's ``Redactor``): whatever produced an
        error, the table, the ``--report`` JSON and the job summary never show a secret value."""
        results = [r if r.error is None else replace(r, error=redact(r.error)) for r in self.results]
        return replace(self, results=results)

    def to_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "results": [r.to_dict() for r in self.results]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def write(self, path: str | Path) -> None:
        from deployer.jsonfile import write_json

        write_json(path, self.to_dict())

    def _rows(self) -> list[list[str]]:
        return [
            [r.release, r.kind, r.status, _number(r.revision), _number(r.live_revision), f"{r.seconds:.1f}"]
            for r in self.results
        ]

    def table(self) -> str:
        head = ["RELEASE", "KIND", "STATUS", "REVISION", "LIVE", "SECONDS"]
        rows = [head, *self._rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        counts = {s: sum(r.status == s for r in self.results) for s in (DEPLOYED, UNCHANGED, FAILED, SKIPPED)}
        unchanged = f", {counts[UNCHANGED]} unchanged" if counts[UNCHANGED] else ""
        lines.append(
            f"cluster {self.cluster}: {counts[DEPLOYED]} deployed{unchanged}, {counts[FAILED]} failed, "
            f"{counts[SKIPPED]} skipped in {self.seconds:.1f} s"
        )
        return "\n".join(lines)

    def failure(self) -> DeployFailed | None:
        """The error to exit with when not every release deployed."""
        if self.ok:
            return None
        bad = [f"{r.release} {r.status}" for r in self.results if r.status not in SUCCESS]
        return DeployFailed(f"cluster {self.cluster}: not every release deployed ({', '.join(bad)})")

    def markdown(self) -> str:
        lines = [
            f"### deploy {self.cluster}",
            "",
            "| release | kind | status | revision | live | seconds |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self._rows()]
        failed = [(r, r.error) for r in self.results if r.error]
        if failed:
            lines.append("")
            for r, error in failed:
                first = error.strip().splitlines()[0] if error.strip() else ""
                lines.append(f"- `{r.release}` {r.status}: {first}")
        return "\n".join(lines) + "\n"


def _number(value: int | None) -> str:
    return "" if value is None else str(value)
