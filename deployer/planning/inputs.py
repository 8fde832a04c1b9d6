"""Gathering a rollout's inputs: the fleet, the changed paths (given, and from git since a base revision), the
clusters as they were at that base, and the charts' ``file://`` dependencies; then the decision
(``planning.rules``) and folding under the matrix size limit (``planning.legs``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from deployer.charts import local_dependents
from deployer.config.load import load_fleet
from deployer.errors import UsageError
from deployer.planning.legs import Rollout, fold_legs
from deployer.planning.rules import plan_rollout
from deployer.userfiles import read_bounded

if TYPE_CHECKING:
    from deployer.run import Runner


@dataclass(frozen=True)
class MatrixRequest:
    paths: tuple[str, ...] = ()
    base: str | None = None
    force: str | None = None
    max_legs: int = 256


def gather_rollout(root: Path, request: MatrixRequest, *, env: Mapping[str, str], runner: Runner) -> Rollout:
    """The rollout for ``request``; git (for ``--base``) runs through ``runner`` with exactly ``env``."""
    fleet = load_fleet(root)  # a broken config raises ConfigError: exit 2
    changed = list(request.paths)
    base = None
    if request.base:
        from deployer.planning.git import Git

        git = Git(root, runner, env)
        changed += git.changed_paths(request.base)
        base = git.clusters_at(request.base)
    rollout = plan_rollout(
        fleet,
        [normalize(p) for p in changed],
        base=base,
        chart_dependents=local_dependents(root / "helm-charts"),
        force=request.force,
    )
    try:
        return replace(
            rollout, canary=fold_legs(rollout.canary, request.max_legs), prod=fold_legs(rollout.prod, request.max_legs)
        )
    except ValueError as exc:
        raise UsageError(f"--max-legs {request.max_legs}: {exc}") from None


WATCHED = ("config", "helm-charts")  # what a change must be committed under for --base to see it
SHOWN_PATHS = 5


def uncommitted_warning(
    root: Path, base: str, given: Iterable[str] = (), *, env: Mapping[str, str], runner: Runner
) -> str | None:
    """One line for stderr when files under ``WATCHED`` differ from HEAD (``--base`` compares commits only, so they
    are not in the plan) and are not among the ``given`` paths, saying how to include them; None when there are
    none (a clean checkout, as in CI)."""
    from deployer.planning.git import Git

    named = {normalize(p) for p in given}
    return uncommitted_message([p for p in Git(root, runner, env).uncommitted(WATCHED) if p not in named], base)


def uncommitted_message(paths: list[str], base: str) -> str | None:
    if not paths:
        return None
    shown = ", ".join(paths[:SHOWN_PATHS]) + (
        f" and {len(paths) - SHOWN_PATHS} more" if len(paths) > SHOWN_PATHS else ""
    )
    return (
        f"warning: uncommitted changes are not in this plan (--base {base} compares commits): {shown}; commit them, "
        f"or name them too: deployer generate-matrix --base {base} PATH... "
        f"(or: git diff --name-only HEAD | deployer generate-matrix --base {base} --from -)"
    )


def normalize(path: str) -> str:
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def read_paths(lines: Iterable[str]) -> list[str]:
    return [normalize(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


MAX_PATHS_BYTES = 64 * 1024 * 1024  # a million long paths; a bigger list of changed paths is not one
LISTING = "a list of changed paths (a text file or a pipe)"


def read_paths_file(name: str, stdin: BinaryIO) -> list[str]:
    """The changed paths listed in file ``name`` (``-``: ``stdin``), one per line (``#`` comments and blank lines
    skipped). A regular file or a FIFO (``--from <(git diff --name-only ...)``) of UTF-8 text of at most
    ``MAX_PATHS_BYTES``; anything else (a folder, a device, a missing file, binary data) is a ``UsageError`` naming
    the file (and line). A FIFO that no process writes reads as empty rather than waiting forever."""
    what = "standard input" if name == "-" else name
    hint = "give a text file of changed paths, one per line, or '-' to read them from standard input"
    if name == "-":
        data: bytes | None = stdin.read(MAX_PATHS_BYTES + 1)
        problem = f"more than {MAX_PATHS_BYTES} bytes, not {LISTING}" if len(data or b"") > MAX_PATHS_BYTES else None
    else:
        data, problem = read_bounded(name, MAX_PATHS_BYTES, LISTING, pipes=True)
    if data is None or problem:
        raise UsageError(f"--from {what}: {problem}; {hint}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"--from {what}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); {hint}") from None
    return read_paths(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))  # as universal newlines
