"""Finding the config repository root: the first folder, walking up, that holds ``config/clusters/``.

The CLI resolves the root once (``--repo`` or ``DEPLOYER_REPO`` override the walk) and passes it down;
nothing else in the package looks at the current directory.
"""

from __future__ import annotations

from pathlib import Path

from deployer.errors import UsageError

CLUSTERS_DIR = Path("config") / "clusters"


def find_root(start: Path, override: str | None = None) -> Path:
    """Return the repository root for ``start`` (or ``override`` when given)."""
    if override:
        root = Path(override).expanduser().resolve()
        if not (root / CLUSTERS_DIR).is_dir():
            raise UsageError(
                f"{override}: not a deployer config repository (no {CLUSTERS_DIR.as_posix()}/ folder in it); "
                "pass the folder that holds config/clusters/ to --repo or DEPLOYER_REPO"
            )
        return root
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CLUSTERS_DIR).is_dir():
            return folder
    raise UsageError(
        f"no {CLUSTERS_DIR.as_posix()}/ folder found in {start} or any folder above it; "
        "run the deployer inside a config repository or pass --repo DIR (or set DEPLOYER_REPO)"
    )


def relative(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` in POSIX form, for messages (falls back to the path as given)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
