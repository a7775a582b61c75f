#!/usr/bin/env bash
# kubedag end to end on a local kind cluster: what `make kind-e2e` runs, and exactly what a user
# runs on a machine with Docker.
#
#   1. create the kind cluster `kubedag` from kind-config.yaml (or reuse it);
#   2. build the kubedag image (Dockerfile) and the quickstart's code image
#      (examples/kubernetes/Dockerfile), and load both into the cluster;
#   3. deploy an S3 server for compute logs (examples/kubernetes/kind/s3.yaml), with random
#      credentials in the Secret `kubedag-s3`;
#   4. install the Helm chart (helm/kubedag) with examples/kubernetes/kind/values.yaml: the
#      operator, the CRDs, an Instance on a bundled PostgreSQL;
#   5. apply the quickstart's CodeLocation, Jobs and Schedule (examples/kubernetes/quickstart.yaml,
#      made by `kubedag manifests`) with server-side apply;
#   6. create a Run of the job `daily_refresh`, wait until it has succeeded, and print the Run,
#      its pod, the worker's output and the step logs stored in the bucket.
#
# Needs docker (with a running daemon), kind, helm (v3 or v4) and kubectl on PATH. Settings:
# KIND_CLUSTER_NAME (default kubedag), KUBEDAG_E2E_TIMEOUT (seconds to wait for the Run,
# default 600). Re-running reuses the cluster and upgrades the release; `kind delete cluster
# --name kubedag` removes everything.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="${KIND_CLUSTER_NAME:-kubedag}"
CONTEXT="kind-${CLUSTER}"
NAMESPACE="kubedag"
RELEASE="kubedag"
IMAGE="kubedag:dev"
CODE_IMAGE="kubedag-quickstart:dev"
MC_IMAGE="quay.io/minio/mc:RELEASE.2024-11-21T17-21-54Z"
JOB="quickstart-daily-refresh"
TIMEOUT="${KUBEDAG_E2E_TIMEOUT:-600}"
S3_SECRET="kubedag-s3"
BUCKET="kubedag-logs"
PREFIX="compute-logs"

say() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf 'kind-e2e: error: %s\n' "$*" >&2; exit 1; }
k() { kubectl --context "$CONTEXT" --namespace "$NAMESPACE" "$@"; }

# -- 0. tools -------------------------------------------------------------------------------------
need() {
  command -v "$1" >/dev/null 2>&1 || fail "\`$1\` is not on PATH; $2"
}
need docker "install Docker: https://docs.docker.com/engine/install/"
need kind "install kind (v0.25 or newer): https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need helm "install Helm: https://helm.sh/docs/intro/install/"
need kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"
docker info >/dev/null 2>&1 \
  || fail "the Docker daemon does not answer (\`docker info\` fails); start Docker, or check that your user may use it."
[[ -f "$REPO/helm/kubedag/Chart.yaml" ]] || fail "no Helm chart at helm/kubedag; run this from a complete kubedag checkout."
cd "$REPO"

# -- 1. cluster ----------------------------------------------------------------------------------
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  say "Reusing the kind cluster '$CLUSTER'"
else
  say "Creating the kind cluster '$CLUSTER' (kind-config.yaml)"
  kind create cluster --config kind-config.yaml --name "$CLUSTER" --wait 120s
fi
kubectl --context "$CONTEXT" get --raw /readyz >/dev/null \
  || fail "the cluster '$CLUSTER' does not answer on context $CONTEXT."

# -- 2. images -----------------------------------------------------------------------------------
say "Building $IMAGE (Dockerfile)"
docker build -t "$IMAGE" .
say "Building $CODE_IMAGE (examples/kubernetes/Dockerfile, FROM $IMAGE)"
docker build --build-arg "KUBEDAG_IMAGE=$IMAGE" -t "$CODE_IMAGE" \
  -f examples/kubernetes/Dockerfile examples/quickstart
say "Loading both images into the cluster"
kind load docker-image "$IMAGE" "$CODE_IMAGE" --name "$CLUSTER"

# -- 3. S3 server for compute logs ---------------------------------------------------------------
kubectl --context "$CONTEXT" create namespace "$NAMESPACE" --dry-run=client -o yaml \
  | kubectl --context "$CONTEXT" apply -f - >/dev/null
if ! k get secret "$S3_SECRET" >/dev/null 2>&1; then
  say "Creating the Secret $S3_SECRET with random credentials"
  k create secret generic "$S3_SECRET" \
    --from-literal=AWS_ACCESS_KEY_ID="kubedag-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    --from-literal=AWS_SECRET_ACCESS_KEY="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    >/dev/null
fi
say "Deploying the S3 server (examples/kubernetes/kind/s3.yaml)"
k apply -f examples/kubernetes/kind/s3.yaml
k rollout status deployment/minio --timeout=300s
k wait --for=condition=Complete job/minio-create-bucket --timeout=300s

# -- 4. the chart ---------------------------------------------------------------------------------
say "Installing the chart helm/kubedag as release '$RELEASE'"
helm upgrade --install "$RELEASE" helm/kubedag \
  --kube-context "$CONTEXT" --namespace "$NAMESPACE" --create-namespace \
  -f examples/kubernetes/kind/values.yaml \
  --set image.repository=kubedag --set image.tag=dev \
  --wait --timeout 10m
k wait --for=condition=Ready instances.kubedag.io/kubedag --timeout=300s

# -- 5. the quickstart's objects -----------------------------------------------------------------
say "Applying the quickstart's CodeLocation, Jobs and Schedule (examples/kubernetes/quickstart.yaml)"
k apply --server-side --field-manager=kubedag-e2e -f examples/kubernetes/quickstart.yaml
k wait --for=condition=Ready codelocations.kubedag.io/quickstart --timeout=300s
k wait --for=condition=Ready "jobs.kubedag.io/$JOB" --timeout=120s

# -- 6. one Run ---------------------------------------------------------------------------------
RUN="quickstart-e2e-$(date +%s)"
say "Creating the Run $RUN of the Job $JOB"
k create -f - <<YAML
apiVersion: kubedag.io/v1alpha1
kind: Run
metadata:
  name: ${RUN}
spec:
  jobRef:
    name: ${JOB}
YAML

say "Waiting up to ${TIMEOUT}s for the Run to succeed"
deadline=$(( $(date +%s) + TIMEOUT ))
until k wait --for=jsonpath='{.status.phase}'=Succeeded "runs.kubedag.io/$RUN" --timeout=15s >/dev/null 2>&1; do
  phase="$(k get "runs.kubedag.io/$RUN" -o jsonpath='{.status.phase}' || true)"
  case "$phase" in
    Failed | Canceled)
      k get "runs.kubedag.io/$RUN" -o yaml >&2
      fail "the Run $RUN ended $phase (its status is above)."
      ;;
  esac
  if (( $(date +%s) >= deadline )); then
    k get "runs.kubedag.io/$RUN" -o yaml >&2
    fail "the Run $RUN did not succeed within ${TIMEOUT}s (phase: ${phase:-none yet})."
  fi
  echo "   phase: ${phase:-none yet}" >&2
done

RUN_ID="$(k get "runs.kubedag.io/$RUN" -o jsonpath='{.status.runId}')"
POD="$(k get "runs.kubedag.io/$RUN" -o jsonpath='{.status.podName}')"

say "The Run"
k get "runs.kubedag.io/$RUN" -o wide
say "Its pod"
k get pod "$POD" -o wide || true
say "The run worker's own output (kubectl logs $POD)"
k logs "$POD" || true

say "Step logs in s3://$BUCKET/$PREFIX/$RUN_ID/ (what \`kubedag logs $RUN_ID\` prints)"
LOGS_POD="logs-${RUN}"
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: ${LOGS_POD}
  labels:
    app.kubernetes.io/part-of: kubedag-e2e
spec:
  restartPolicy: Never
  containers:
    - name: mc
      image: ${MC_IMAGE}
      command: ["/bin/sh", "-c"]
      args:
        - >-
          mc alias set local http://minio:9000 "\$AWS_ACCESS_KEY_ID" "\$AWS_SECRET_ACCESS_KEY" >/dev/null
          && mc ls --recursive "local/${BUCKET}/${PREFIX}/${RUN_ID}/"
          && mc find "local/${BUCKET}/${PREFIX}/${RUN_ID}" --name '*.out' --exec 'mc cat {}'
      env:
        - name: MC_CONFIG_DIR
          value: /tmp/.mc
      envFrom:
        - secretRef:
            name: ${S3_SECRET}
YAML
k wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$LOGS_POD" --timeout=120s >/dev/null \
  || echo "   (could not list the bucket; see kubectl -n $NAMESPACE logs $LOGS_POD)" >&2
k logs "$LOGS_POD" || true
k delete pod "$LOGS_POD" --wait=false >/dev/null || true

cat >&2 <<TEXT

kind-e2e: the Run $RUN (run id $RUN_ID) succeeded.
  Run:        kubectl --context $CONTEXT -n $NAMESPACE get runs.kubedag.io $RUN -o yaml
  Pod:        kubectl --context $CONTEXT -n $NAMESPACE logs $POD
  Step logs:  s3://$BUCKET/$PREFIX/$RUN_ID/<step>.out and .err on the MinIO of
              examples/kubernetes/kind/s3.yaml; with it and PostgreSQL port-forwarded,
              \`kubedag logs $RUN_ID\` on an instance configured for them prints them.
  Clean up:   kind delete cluster --name $CLUSTER
TEXT
