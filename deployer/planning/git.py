"""What git knows: the paths changed since a base revision, and the clusters as they were there.

The only module that runs git, always through the given ``Runner`` with exactly the given environment.
``Git(root, runner, env).changed_paths(base)`` is ``git diff --name-only BASE...HEAD`` (changes on this branch
since it left BASE); ``.clusters_at(base)`` reads every ``config/clusters/*/cluster.yaml`` of BASE without
checking it out. ``.toplevel()`` is the top of the work tree holding ``root`` (None outside any) and
``.ignored(paths)`` the ones ``git check-ignore`` says git ignores (the export's OUTDIR checks).
``.uncommitted(folders)`` lists the paths under those folders of ``root`` that differ from HEAD (staged, unstaged or
untracked and not ignored: ``git status --porcelain``), relative to ``root``. A failing or missing
git raises ``UsageError`` (exit 2) naming the git command (and ``purpose``, what needed git).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deployer.config.load import cluster_from_text
from deployer.config.model import ClusterConfig
from deployer.errors import CommandError, UsageError
from deployer.repo import CLUSTERS_DIR

if TYPE_CHECKING:
    from deployer.run import Completed, Runner


@dataclass(frozen=True)
class Git:
    root: Path  # where git runs: the config root (it may be a folder inside a bigger work tree), or any folder
    runner: Runner
    env: Mapping[str, str]
    purpose: str = "--base"  # what needs git, for the message when it is not installed

    def _run(self, *args: str) -> Completed:
        try:
            return self.runner.run(["git", *args], env=self.env, cwd=self.root, check=False)
        except CommandError as exc:  # the runner could not start git at all
            if exc.returncode == 127:
                raise UsageError(f"git is not installed; {self.purpose} needs it") from None
            raise

    def _git(self, *args: str) -> str:
        done = self._run(*args)
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or [""])[0]
            raise UsageError(f"git {' '.join(args)} failed: {first}")
        return done.stdout

    def toplevel(self) -> Path | None:
        """The top folder of the git work tree holding ``root``; None when it is in none (or inside a .git folder)."""
        done = self._run("rev-parse", "--show-toplevel")
        if done.returncode != 0 and ("not a git repository" in done.stderr or "in a work tree" in done.stderr):
            return None
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or [""])[0]
            raise UsageError(f"git rev-parse --show-toplevel failed in {self.root}: {first}")
        return Path(done.stdout.strip())

    def ignored(self, path: str) -> bool:
        """Whether git ignores ``path`` (inside the work tree; end it with ``/`` for a folder)."""
        done = self._run("check-ignore", "--quiet", "--", path)
        if done.returncode not in (0, 1):  # 1: not ignored
            first = (done.stderr.strip().splitlines() or [""])[0]
            raise UsageError(f"git check-ignore failed for {path}: {first}")
        return done.returncode == 0

    def _prefix(self) -> str:
        """The config root's path inside the git work tree ('' at the top), so paths can be made root-relative."""
        return self._git("rev-parse", "--show-prefix").strip()

    def changed_paths(self, base: str) -> list[str]:
        self._git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
        prefix = self._prefix()
        out = self._git("diff", "--name-only", "--no-renames", f"{base}...HEAD", "--", ".")
        return [line[len(prefix) :] for line in out.splitlines() if line.startswith(prefix)]

    def uncommitted(self, folders: tuple[str, ...]) -> list[str]:
        """The paths under ``folders`` (relative to ``root``) that a commit would change: modified, staged, deleted,
        renamed (both names) or untracked and not ignored; relative to ``root``, sorted."""
        prefix = self._prefix()
        out = self._git("status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", "--", *folders)
        paths = {entry[3:] for entry in out.split("\0") if len(entry) > 3}  # "XY path"; paths from the top
        return sorted(p[len(prefix) :] for p in paths if p.startswith(prefix))

    def clusters_at(self, base: str) -> dict[str, ClusterConfig | None]:
        """name -> the cluster as it was at ``base`` (None when its cluster.yaml did not pass the checks there)."""
        prefix = self._prefix()
        listing = self._git("ls-tree", "--full-name", "--name-only", "-r", base, "--", CLUSTERS_DIR.as_posix())
        found: dict[str, ClusterConfig | None] = {}
        for path in listing.splitlines():
            rel = path[len(prefix) :]
            parts = rel.split("/")
            if len(parts) == 4 and parts[3] == "cluster.yaml":
                text = self._git("show", f"{base}:{path}")
                found[parts[2]] = cluster_from_text(self.root, parts[2], text)
        return found
