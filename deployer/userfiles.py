"""Reading files safely: bounded in size, never waiting on a FIFO nobody writes, never following a folder or device
into an endless read. The size limits of every file the deployer reads live here.

``read_bounded(path, most, what, pipes=False) -> (data, None) | (None, why not)``: at most ``most`` bytes of a file
a user named on the command line (with ``pipes``, also of a FIFO such as bash's ``<(...)``: what its writer sends,
or nothing at once when it has none). Anything else (a folder, a device, an unreadable or bigger file) gives
``(None, reason)``, for the caller to turn into its own message (an error, or a warning).

``read_capped(path, most, what, hint=SPLIT) -> bytes``: a regular file of the config repository (or a
kubeconfig), at most ``most`` bytes; a ``Refused`` (message: what is wrong, and ``hint``: what to do) for a bigger
file, a folder, FIFO or device, found from ``fstat`` before anything is read (a 10 GB sparse file is refused at
once); ``OSError`` as ``open`` raises it (e.g. ``FileNotFoundError``), for the caller to word.
``check_capped(path, most, what, hint=SPLIT)``: the same checks without reading, for a file another program reads
(sops).

Limits (README "Limits"): ``MAX_CLUSTER_FILE`` (1 MiB) for a cluster.yaml (about 8,000 hubs; validating a file of
that size takes seconds, every hub being checked, so a bigger one would make ``validate`` slow rather than fail);
``MAX_CONFIG_FILE`` (8 MiB) for every other YAML or JSON file of the config repository (values files, encrypted or
not, checked before sops runs) and for kubeconfigs; ``MAX_CHART_FILE`` (5 MiB) for a file of a chart (Chart.yaml,
Chart.lock, values.yaml, values.schema.json): helm's own ``MaxDecompressedFileSize`` (helm/helm
pkg/chart/loader/archive/archive.go; charts in folders are held to it too in pkg/chart/v2/loader/directory.go), so a
chart this refuses is one helm would refuse; ``MAX_CHART_ARCHIVE`` (100 MiB) for a packaged chart, compressed or not
(helm's ``MaxDecompressedChartSize``). Helm sets no limit on ``--values`` files; 8 MiB is 100 times the biggest
values file of a real fleet and keeps every check (and the error path that finds a line) within seconds.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MIB = 1024 * 1024
MAX_CONFIG_FILE = 8 * MIB
MAX_CLUSTER_FILE = 1 * MIB  # a cluster.yaml: ~8,000 hubs, validated in a few seconds
MAX_CHART_FILE = 5 * MIB
MAX_CHART_ARCHIVE = 100 * MIB


class Refused(Exception):
    """A file that is not read: too big, or not a regular file (the message says which and what to do)."""


def human(size: int) -> str:
    """``size`` bytes for a message: ``512 bytes``, ``8 MiB``, ``10.0 GiB``."""
    if size < 1024:
        return f"{size} bytes"
    value, units = size / 1024, ["KiB", "MiB", "GiB", "TiB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    unit = units[0]
    return f"{value:.0f} {unit}" if value.is_integer() else f"{value:.1f} {unit}"


def _kind(mode: int) -> str:
    return "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a special file"


SPLIT = "split it or remove what is not needed"  # what to do about a file that is too big (the default)
HELM_TOO = "helm would refuse the chart too; make the file smaller"  # ... about a chart's file


def read_capped(path: str | Path, most: int, what: str, hint: str = SPLIT) -> bytes:
    """See the module docstring."""
    # O_NONBLOCK: opening a FIFO does not wait for a writer
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"is {_kind(info.st_mode)}, not {what}: put a regular file there")
        if info.st_size > most:
            raise Refused(_too_big(info.st_size, most, what, hint))
        data = handle.read(most + 1)
    if len(data) > most:  # it grew while being read
        raise Refused(_too_big(len(data), most, what, hint))
    return data


def check_capped(path: str | Path, most: int, what: str, hint: str = SPLIT) -> None:
    """What ``read_capped`` checks, without reading: for a file another program (sops) will read."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"is {_kind(info.st_mode)}, not {what}: put a regular file there")
    if info.st_size > most:
        raise Refused(_too_big(info.st_size, most, what, hint))


def _too_big(size: int, most: int, what: str, hint: str) -> str:
    return f"is {human(size)}, more than the {human(most)} limit for {what}: {hint}"


def read_bounded(path: str | Path, most: int, what: str, *, pipes: bool = False) -> tuple[bytes | None, str | None]:
    """See the module docstring."""
    try:
        # O_NONBLOCK: opening a FIFO does not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    info = os.fstat(fd)
    if pipes and stat.S_ISFIFO(info.st_mode):
        os.set_blocking(fd, True)  # now wait for what a writer sends (no writer: end of file at once)
    elif not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return None, f"is {_kind(info.st_mode)}, not {what}"
    elif info.st_size > most:  # refused before reading anything
        os.close(fd)
        return None, f"more than {most} bytes, not {what}"
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(most + 1)
        except OSError as exc:
            return None, f"cannot be read ({exc.strerror or exc})"
    if len(data) > most:
        return None, f"more than {most} bytes, not {what}"
    return data, None
