"""docs/architecture.md lists every module of the package with its one-line job, and nothing that does not exist.

A module added, moved or deleted without the map being updated fails here, so the map stays true.
"""

from __future__ import annotations

import re

from helpers import PROJECT

DOC = PROJECT / "docs" / "architecture.md"
LISTED = re.compile(r"`(deployer/[\w/]+\.py)`")


def modules() -> set[str]:
    found = set()
    for path in (PROJECT / "deployer").rglob("*.py"):
        rel = path.relative_to(PROJECT).as_posix()
        if path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip(" \n\"'"):
            continue  # an empty package marker has no job of its own
        found.add(rel)
    return found


def test_every_module_is_listed_with_its_job() -> None:
    text = DOC.read_text(encoding="utf-8")
    listed = set(LISTED.findall(text))
    missing = sorted(modules() - listed)
    assert not missing, f"docs/architecture.md does not list: {', '.join(missing)}"
    for rel in sorted(modules()):
        row = next(line for line in text.splitlines() if f"`{rel}`" in line)
        job = row.split(f"`{rel}`", 1)[1].strip(" |-:")
        assert len(job.split()) >= 3, f"docs/architecture.md: {rel} has no one-line job: {row!r}"


def test_every_listed_module_exists() -> None:
    listed = set(LISTED.findall(DOC.read_text(encoding="utf-8")))
    gone = sorted(rel for rel in listed if not (PROJECT / rel).is_file())
    assert not gone, f"docs/architecture.md lists modules that do not exist: {', '.join(gone)}"
