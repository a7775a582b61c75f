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
            "Schedules. Replicas share a kopf peering object; only one acts at a time. In a "
            "cluster the pod's service account is used, elsewhere the kubeconfig. Stops on "
            "SIGTERM or Ctrl-C."
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
        "--resync-seconds",
        type=float,
        default=2.0,
        help="how often each Run's status is compared with its run and pod (default 2)",
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
    }
    if args.priority is not None:
        options["priority"] = args.priority
    run_forever(OperatorOptions(**options))
    return EXIT_OK
