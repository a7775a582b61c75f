"""`kubedag code-server`: serve one code location over HTTP (see `kubedag.code_server`).

The port opens first and the code loads after, so a location whose import fails still answers
/healthz with the error. SIGTERM or Ctrl-C stops it: /readyz turns 503, the listener closes,
the instance (if a sensor opened one) is disposed, and the command exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from kubedag.cli.exit_codes import EXIT_OK
from kubedag.errors import KubedagError

DEFAULT_PORT = 4000


def add_code_server_commands(commands: Any) -> None:
    from kubedag.cli.code_location_args import add_code_location_arguments

    parser = commands.add_parser(
        "code-server",
        help="serve a code location's definitions and schedule/sensor evaluation over HTTP",
        description=(
            "Load a code location once and serve, as JSON over HTTP: GET /healthz, GET /readyz, "
            "GET /v1/snapshot, POST /v1/schedules/NAME/evaluate, GET /v1/schedules/NAME/ticks, "
            "POST /v1/sensors/NAME/evaluate. Sensors that read the instance open it from "
            "KUBEDAG_INSTANCE_REF, else $KUBEDAG_HOME. Stops on SIGTERM (exit 0)."
        ),
    )
    add_code_location_arguments(parser)
    parser.add_argument(
        "--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0: all)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--location-name",
        metavar="NAME",
        help="the code location's name in the snapshot (default: the module name or the "
        "file's stem)",
    )
    parser.set_defaults(handler=run_code_server)


class _Stop(BaseException):
    """Raised from the signal handler to abandon loading the code (not an `Exception`, so the
    loader's error handling lets it through)."""


def run_code_server(args: argparse.Namespace) -> int:
    from kubedag.automation.workspace import location_name_for
    from kubedag.cli.code_location_args import load_code_location
    from kubedag.code_server.server import CodeHTTPServer, CodeServer

    name = args.location_name or location_name_for(args.python_file, args.module_name)
    code_server = CodeServer(name, lambda: load_code_location(args))
    try:
        httpd = CodeHTTPServer((args.host, args.port), code_server)
    except OSError as exc:
        raise KubedagError(
            f"Cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. Choose another "
            "--port (0 picks a free one) or --host."
        ) from None
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()
        if code_server.state == "loading":
            raise _Stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    log = httpd.log_line
    try:
        try:
            log(f"kubedag code-server: listening on {httpd.base_url} (port {httpd.server_port})")
            code_server.load()
        except _Stop:
            pass
        if code_server.state == "loaded":
            log(f"kubedag code-server: code location '{name}' loaded; ready")
        elif code_server.load_error is not None:
            log(
                f"kubedag code-server: code location '{name}' failed to load (served on "
                f"/healthz): {code_server.load_error.message}"
            )
        while not stop.wait(0.5):
            pass
        log("kubedag code-server: stopping")
    finally:
        code_server.draining = True
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
        code_server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    sys.stderr.flush()
    return EXIT_OK
