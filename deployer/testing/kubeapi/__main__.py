"""``python -m deployer.testing.kubeapi``: run the stand-in until SIGTERM or Ctrl-C.

Writes a kubeconfig for it, prints one line saying where (server URL, kubeconfig path, context), and exits 0 when
stopped by SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deployer.testing.kubeapi", description="Run a local, in-memory Kubernetes API stand-in."
    )
    parser.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig")
    parser.add_argument("--context", default="deployer-local", help="context name (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--token", default=None, help="require this bearer token (written into the kubeconfig)")
    args = parser.parse_args(argv)

    from deployer.testing.kubeapi import KubeAPIServer

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = KubeAPIServer(token=args.token, port=args.port)
    server.start()
    try:
        path = server.write_kubeconfig(args.kubeconfig, context=args.context)
        print(
            f"Kubernetes API stand-in serving at {server.url}; kubeconfig written to {path} (context {args.context})",
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
