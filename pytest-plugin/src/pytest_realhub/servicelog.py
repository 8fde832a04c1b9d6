"""``python -m pytest_realhub.servicelog LOG -- COMMAND...``: run a managed service's command with its output
appended to LOG (``hub.service_log(name)`` reads it). The command replaces this process (``exec``), so the hub
signals and waits for the service itself."""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m pytest_realhub.servicelog LOG -- COMMAND...")
    log = os.open(argv[0], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    try:
        os.execvp(argv[2], argv[2:])
    except OSError as exc:
        sys.exit(f"pytest-realhub: cannot run the service command {argv[2]!r}: {exc}")


if __name__ == "__main__":
    main(sys.argv[1:])
