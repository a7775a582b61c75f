# The kubedag image: one image runs the operator (`kubedag operator`), code servers
# (`kubedag code-server`) and run workers (`kubedag run-worker`). Users' code images build FROM it
# (see examples/kubernetes/Dockerfile and docs/image.md).
#
#   docker build -t kubedag:dev .
#
# It holds no secrets and writes nowhere but /tmp and /home/kubedag, so it runs with a read-only
# root filesystem when those two are emptyDir volumes (the Helm chart and the run launcher mount
# them).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: install kubedag and its extras into a virtualenv ------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the package is built from (.dockerignore keeps the rest out of the context).
COPY pyproject.toml README.md ./
COPY runtime ./runtime
COPY operator ./operator
# Non-editable: the sources are not in the final image, only the installed package.
RUN python -m venv /opt/kubedag \
    && /opt/kubedag/bin/pip install --upgrade pip \
    && /opt/kubedag/bin/pip install ".[postgres,s3,operator]"

# -- runtime: the virtualenv, a non-root user, nothing else -------------------------------------
FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="kubedag" \
      org.opencontainers.image.description="Data orchestration around software-defined assets: the kubedag operator, code server and run worker." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/kubedag/kubedag" \
      org.opencontainers.image.documentation="https://github.com/kubedag/kubedag/blob/main/docs/image.md"

# uid/gid 10001: above the range distributions give to real users, and numeric in USER below
# so Kubernetes can check `runAsNonRoot` without reading /etc/passwd.
RUN groupadd --system --gid 10001 kubedag \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/kubedag --create-home \
       --shell /usr/sbin/nologin kubedag

COPY --from=build /opt/kubedag /opt/kubedag

# PYTHONDONTWRITEBYTECODE: with a read-only root filesystem, importing users' code must not try
# to write .pyc files next to it (kubedag's own were compiled at install time).
ENV PATH=/opt/kubedag/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/kubedag \
    KUBEDAG_HOME=/home/kubedag/.kubedag

USER 10001:10001
WORKDIR /home/kubedag
ENTRYPOINT ["kubedag"]
CMD ["--help"]
