"""`kubedag operator`: run the Kubernetes operator (kopf) with kubedag's handlers.

The operator lives in `kubedag_operator` (the `operator` extra: kopf and the `kubernetes`
client), imported only when this command runs, so `import kubedag` stays light.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from kubedag.cli.exit_codes import EXIT_OK
from kubedag.errors import KubedagError


def add_operator_commands(commands: Any) -> None:
    parser = commands.add_parser(
        "operator",
        help="run the Kubernetes operator (Instance, CodeLocation, Job, Schedule, Run)",
        description=(
            "Reconcile kubedag's custom resources (kubedag.io/v1alpha1) in the given namespaces: "
            "open and migrate Instances, launch Runs as pods and mirror their status, tick "
            "Schedules. Replicas share a kopf peering object; only the one with the highest "
            "priority acts, and another takes over when it stops (at once) or dies (after "
            "--peering-lifetime). A replica's peering identity is $POD_ID when set (the pod's "
            "name), else host, process id and a random suffix. In a cluster the pod's service account is used, elsewhere the "
            "kubeconfig. Stops on SIGTERM or Ctrl-C."
        ),
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "-n",
        "--namespace",
        dest="namespaces",
        action="append",
        metavar="NS",
        help="a namespace to watch (repeat for several)",
    )
    where.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    parser.add_argument(
        "--peering",
        metavar="NAME",
        default=None,
        help="the peering object the replicas share (default kubedag-operator; created when "
        "missing)",
    )
    parser.add_argument(
        "--priority",
        type=int,
        default=None,
        help="this replica's peering priority (default: random; the highest one acts)",
    )
    parser.add_argument(
        "--standalone", action="store_true", help="run without peering (one replica only)"
    )
    parser.add_argument(
        "--peering-lifetime",
        type=int,
        default=None,
        metavar="SECONDS",
        help="how long this replica's peering record lasts without renewal: a standby takes "
        "over this long after the active replica dies (default 30; renewed every "
        "lifetime minus 5-10 s, at least every second)",
    )
    parser.add_argument(
        "--liveness",
        metavar="URL",
        help="serve kopf's liveness probe at this URL, e.g. http://0.0.0.0:8080/healthz "
        "(for a Deployment's httpGet livenessProbe; default: off)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics at http://0.0.0.0:PORT/metrics (default: off; 0 picks "
        "a free port, logged at start)",
    )
    parser.add_argument(
        "--resync-seconds",
        type=float,
        default=5.0,
        help="how often each Run's status is compared with its run record (default 5); a "
        "change of its pod is acted on at once",
    )
    parser.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: usual)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.set_defaults(handler=run_operator_command)


def run_operator_command(args: argparse.Namespace) -> int:
    try:
        from kubedag_operator.running import run_forever
        from kubedag_operator.state import DEFAULT_PEERING_NAME, OperatorOptions
    except ImportError as exc:
        raise KubedagError(
            f"The operator needs the `operator` extra ({exc.name} is missing): "
            "pip install 'kubedag[operator]'."
        ) from None
    if args.peering is not None and args.standalone:
        raise KubedagError("Give --peering or --standalone, not both.")
    if args.peering_lifetime is not None and args.standalone:
        raise KubedagError("--peering-lifetime has no meaning with --standalone: drop one.")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    options: dict[str, Any] = {
        "namespaces": tuple(args.namespaces or ()),
        "all_namespaces": bool(args.all_namespaces),
        "peering_name": args.peering or DEFAULT_PEERING_NAME,
        "standalone": bool(args.standalone),
        "resync_seconds": args.resync_seconds,
        "kubeconfig_file": args.kubeconfig,
        "liveness_endpoint": args.liveness,
        "metrics_port": args.metrics_port,
    }
    if args.priority is not None:
        options["priority"] = args.priority
    if args.peering_lifetime is not None:
        options["peering_lifetime"] = args.peering_lifetime
    try:
        operator_options = OperatorOptions(**options)
    except ValueError as exc:
        raise KubedagError(str(exc)) from None
    run_forever(operator_options)
    return EXIT_OK
