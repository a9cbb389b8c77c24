"""`utility-gap serve`: the embedded model in the foreground, for `inspect eval` by hand."""

from __future__ import annotations

import argparse
import time

from utility_gap.models.embedded import BASE_URL_ENV, EmbeddedModelError, start_embedded_server
from utility_gap.pipeline.errors import CommandError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=None, help="loopback port (default: a free one)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default: 2)")
    parser.add_argument("--n-ctx", type=int, default=4096, help="context length (default: 4096)")


def run(args: argparse.Namespace) -> int:
    if args.port is not None and not 0 < args.port < 65536:
        raise CommandError(f"--port {args.port} is not a valid port number (1-65535).")
    try:
        server = start_embedded_server(port=args.port, threads=args.threads, n_ctx=args.n_ctx)
    except EmbeddedModelError as ex:
        raise CommandError(str(ex)) from None
    print(f"Embedded model ready (PID {server.pid}). In another shell:")
    print(f"  export {BASE_URL_ENV}={server.base_url}")
    print(f"  inspect eval utility_gap/preference_elicitation --model {server.model} --max-connections 1")
    print("Stop with Ctrl-C.", flush=True)
    try:
        while server.alive():
            time.sleep(1)
        print(f"The server exited ({server.process.returncode}); its log: {server.log_path}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
