"""`kubedag manifests`: print a code location's `CodeLocation`, `Job` and `Schedule` objects.

Thin: load the definitions as every command does (`-f FILE` or `-m MODULE`), build the objects
with `kubedag.manifests`, check each one with the operator's own models (what the operator
would refuse is an error here, not a surprise after `kubectl apply`), and print the YAML, or
write it with `-o FILE`. What has no object (sensors, function schedules) is said on stderr and
in the file's header.

Where the code is inside the image: `-m MODULE` is the same module there. For `-f FILE` the
path on this machine says nothing about the image, so `--code-path` gives it; by default it is
`/app/<file name>`, where `examples/kubernetes/Dockerfile` copies the quickstart.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubedag.cli.exit_codes import EXIT_OK
from kubedag.errors import KubedagError

if TYPE_CHECKING:  # imported when the command runs: PyYAML is not needed to start the CLI
    from kubedag.manifests import ManifestTarget

DEFAULT_CODE_DIRECTORY = "/app"


def add_manifests_command(commands: Any) -> None:
    from kubedag.cli.code_location_args import add_code_location_arguments

    parser = commands.add_parser(
        "manifests",
        help="print the CodeLocation, Job and Schedule objects of a code location as YAML",
        description=(
            "Print the kubedag.io custom resources that deploy a code location: one "
            "CodeLocation, one Job per job (the implicit all-assets job included) and one "
            "Schedule per schedule, as YAML for a Git repository and server-side apply. Only "
            "fields that differ from the CRD defaults are written, never status; the same "
            "code gives the same bytes."
        ),
    )
    add_code_location_arguments(parser)
    parser.add_argument(
        "--code-location",
        required=True,
        metavar="NAME",
        help="name of the CodeLocation object, and prefix of its Jobs' and Schedules' names",
    )
    parser.add_argument(
        "--image",
        required=True,
        metavar="IMAGE",
        help="the image holding the code and kubedag, such as registry.example.com/pipes:1.4",
    )
    parser.add_argument(
        "--namespace", metavar="NS", help="metadata.namespace of every object (default: none)"
    )
    parser.add_argument(
        "--code-path",
        metavar="PATH",
        help=f"with -f: the file's path inside the image (default {DEFAULT_CODE_DIRECTORY}/"
        "<file name>)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the YAML to FILE instead of stdout"
    )
    parser.set_defaults(handler=run_manifests)


def manifest_target(args: argparse.Namespace) -> ManifestTarget:
    """Where the objects point, from the command line."""
    from kubedag.manifests import ManifestTarget

    if args.module_name is not None and args.code_path is not None:
        raise KubedagError(
            "--code-path is for -f FILE (the file's path inside the image); with -m MODULE "
            "the image imports the same module. Drop --code-path."
        )
    python_file = None
    if args.python_file is not None:
        python_file = args.code_path or f"{DEFAULT_CODE_DIRECTORY}/{Path(args.python_file).name}"
    return ManifestTarget(
        code_location=args.code_location,
        image=args.image,
        namespace=args.namespace,
        module=args.module_name,
        python_file=python_file,
        attribute=args.attribute,
    )


def command_line(args: argparse.Namespace) -> str:
    """The command, in one canonical order and without `-o`, for the header: how to
    regenerate the file, and the same text however the options were ordered."""
    words = ["kubedag", "manifests"]
    if args.python_file is not None:
        words += ["-f", args.python_file]
    else:
        words += ["-m", args.module_name]
    if args.attribute is not None:
        words += ["-a", args.attribute]
    words += ["--code-location", args.code_location, "--image", args.image]
    if args.namespace is not None:
        words += ["--namespace", args.namespace]
    if args.code_path is not None:
        words += ["--code-path", args.code_path]
    return shlex.join(words)


def check_with_operator_models(documents: list[dict[str, Any]]) -> None:
    """Raise `KubedagError` when the operator would refuse an object (it reads them with
    these models), naming the object and the field."""
    from kubedag_operator.resources import ALL_RESOURCES, InvalidResourceError

    resources = {resource.kind_name: resource for resource in ALL_RESOURCES}
    for document in documents:
        try:
            resources[document["kind"]].parse(document)
        except InvalidResourceError as error:
            raise KubedagError(f"kubedag manifests would write an invalid {error}.") from None


def run_manifests(args: argparse.Namespace) -> int:
    from kubedag.cli.code_location_args import load_code_location
    from kubedag.manifests import build_manifests, render_manifests

    target = manifest_target(args)
    defs = load_code_location(args)
    manifests = build_manifests(defs, target)
    check_with_operator_models(manifests.documents)
    text = render_manifests(command_line(args), manifests.documents, manifests.notes)
    for note in manifests.notes:
        print(f"kubedag manifests: not emitted: {note}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise KubedagError(
            f"-o {args.output}: cannot write the file: {exc.strerror or exc}."
        ) from None
    count = len(manifests.documents)
    print(f"Wrote {count} objects to {args.output}.", file=sys.stderr)
    return EXIT_OK
