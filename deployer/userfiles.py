"""Reading a file a user named on the command line, safely: bounded in size, never waiting on a FIFO nobody writes,
never following a folder or device into an endless read.

``read_bounded(path, most, what, pipes=False) -> (data, None) | (None, why not)``: at most ``most`` bytes of a
regular file (with ``pipes``, also of a FIFO such as bash's ``<(...)``: what its writer sends, or nothing at once
when it has none). Anything else (a folder, a device, an unreadable or bigger file) gives ``(None, reason)``, for
the caller to turn into its own message (an error, or a warning).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_bounded(path: str | Path, most: int, what: str, *, pipes: bool = False) -> tuple[bytes | None, str | None]:
    """See the module docstring."""
    try:
        # O_NONBLOCK: opening a FIFO does not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    mode = os.fstat(fd).st_mode
    if pipes and stat.S_ISFIFO(mode):
        os.set_blocking(fd, True)  # now wait for what a writer sends (no writer: end of file at once)
    elif not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a special file"
        return None, f"is {kind}, not {what}"
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(most + 1)
        except OSError as exc:
            return None, f"cannot be read ({exc.strerror or exc})"
    if len(data) > most:
        return None, f"more than {most} bytes, not {what}"
    return data, None
