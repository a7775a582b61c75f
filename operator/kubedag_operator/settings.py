"""kopf settings of the kubedag operator, applied when it starts.

- Progress and the last-handled spec live in annotations (`kopf.kubedag.io/…`), never in
  `status`: our statuses are structural (the CRDs list every field), so unknown fields such as
  `status.kopf` would be pruned by the API server. Handlers return nothing, so kopf stores no
  results in `status` either.
- Our own finalizer name, `kubedag.io/finalizer`.
- Peering: replicas share one peering object (`--peering`, default `kubedag-operator`); the
  highest priority is active and the others pause until its record goes (a graceful stop) or
  expires (`--peering-lifetime`, default 30 s). The object is created by
  `kubedag_operator.running` when missing.
- Handlers post Kubernetes Events for what they log at INFO and above.

The startup handler also puts the operator's `OperatorState` into kopf's `memo`; the cleanup
handler closes it (runtime instances, the API client).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from typing import Any

import kopf

from kubedag_operator.kube import KubeApi
from kubedag_operator.state import DEFAULT_PEERING_LIFETIME, OperatorOptions, OperatorState

PROGRESS_PREFIX = "kopf.kubedag.io"
FINALIZER = "kubedag.io/finalizer"


def apply_settings(
    settings: kopf.OperatorSettings, peering_lifetime: int = DEFAULT_PEERING_LIFETIME
) -> None:
    """The settings above, on a kopf settings object."""
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PROGRESS_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PROGRESS_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = FINALIZER
    settings.posting.enabled = True
    settings.posting.level = logging.INFO
    settings.peering.stealth = True  # keep-alives are not news
    settings.peering.lifetime = peering_lifetime
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.execution.max_workers = 20
    settings.networking.request_timeout = 60


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    options = getattr(memo, "options", None)
    if not isinstance(options, OperatorOptions):
        options = OperatorOptions()
    apply_settings(settings, options.peering_lifetime)
    if options.home is None:
        options = dataclasses.replace(options, home=tempfile.mkdtemp(prefix="kubedag-operator-"))
    memo.kubedag = OperatorState(options, KubeApi(options.kubeconfig_file))


@kopf.on.cleanup()
def close(memo: kopf.Memo, **_: Any) -> None:
    state = getattr(memo, "kubedag", None)
    if isinstance(state, OperatorState):
        state.close()


def announce(body: Any, logger: Any, reason: str, message: str, *, warning: bool = False) -> None:
    """Log `message` and post it as a Kubernetes Event of `body` (`kubectl describe` shows
    it). Only decisions are announced: kopf's own per-handler messages are not posted
    (`settings.posting.loggers` stays false), so timers do not flood the Events."""
    if warning:
        logger.warning(f"{reason}: {message}")
        kopf.warn(body, reason=reason, message=message)
    else:
        logger.info(f"{reason}: {message}")
        kopf.info(body, reason=reason, message=message)


@kopf.on.login()
def login(
    memo: Any, logger: Any, settings: kopf.OperatorSettings, **kwargs: Any
) -> kopf.ConnectionInfo | None:
    """With `--kubeconfig` (or `OperatorOptions.kubeconfig_file`), that file; otherwise
    kopf's own login (in a cluster the service account, else the usual kubeconfig). The file
    is read here, not through the client's default location, which the `kubernetes` library
    fixes when it is first imported."""
    state = getattr(memo, "kubedag", None)
    path = state.options.kubeconfig_file if isinstance(state, OperatorState) else None
    if path is None:
        return kopf.login_via_client(logger=logger, settings=settings, **kwargs)
    from kubernetes import client, config  # type: ignore[import-untyped]

    configuration = client.Configuration()
    config.load_kube_config(config_file=path, client_configuration=configuration)
    header = configuration.get_api_key_with_prefix(
        "BearerToken"
    ) or configuration.get_api_key_with_prefix("authorization")
    parts = header.split(" ", 1) if header else []
    scheme, token = (
        (None, None) if not parts else (None, parts[0]) if len(parts) == 1 else tuple(parts)
    )
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme,
        token=token,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
        trust_env=settings.networking.trust_env,
    )
