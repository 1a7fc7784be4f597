#!/usr/bin/env bash
# End-to-end run on a real kind cluster (`npm run e2e:kind`). Needs Docker, kind (v0.30.0, the
# release that published the node image pinned in kind-config.yaml), kubectl and helm on PATH.
# The Docker-less CI machines cannot run this; they use test/e2e against a locally built
# kube-apiserver instead.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cluster="${OUTRIGGER_KIND_CLUSTER:-outrigger}"
image="${OUTRIGGER_IMAGE:-outrigger:e2e}"
keep="${OUTRIGGER_KIND_KEEP:-}"

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "e2e:kind needs '$tool' on PATH" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "e2e:kind needs a running Docker engine" >&2; exit 1; }
[ -f "$root/Dockerfile" ] || { echo "e2e:kind needs $root/Dockerfile to build $image" >&2; exit 1; }
[ -d "$root/helm/outrigger" ] || { echo "e2e:kind needs the chart in $root/helm/outrigger" >&2; exit 1; }

cleanup() {
  if [ -z "$keep" ]; then kind delete cluster --name "$cluster" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if ! kind get clusters | grep -qx "$cluster"; then
  kind create cluster --name "$cluster" --config "$root/kind-config.yaml" --wait 120s
fi
kubectl config use-context "kind-$cluster"

docker build -t "$image" "$root"
kind load docker-image "$image" --name "$cluster"

# The chart installs the dapr.io CRDs and sentry (the operator and injector do not exist yet).
# dapr-system is the namespace sentry and the sidecars default to, as in Dapr.
namespace="${OUTRIGGER_NAMESPACE:-dapr-system}"
helm upgrade --install outrigger "$root/helm/outrigger" \
  --namespace "$namespace" --create-namespace \
  --set-string "image.repository=${image%:*}" --set-string "image.tag=${image##*:}" \
  --set-string image.pullPolicy=Never --wait --timeout 5m

kubectl get crd components.dapr.io configurations.dapr.io resiliencies.dapr.io subscriptions.dapr.io \
  httpendpoints.dapr.io
kubectl -n "$namespace" rollout status deployment/dapr-sentry --timeout=180s
# Sentry generated its root on first start: the trust anchors must be published.
anchors="$(kubectl -n "$namespace" get configmap dapr-trust-bundle -o jsonpath='{.data.ca\.crt}')"
case "$anchors" in
  *"BEGIN CERTIFICATE"*) ;;
  *) echo "sentry did not publish trust anchors in configmap $namespace/dapr-trust-bundle" >&2; exit 1 ;;
esac
kubectl -n "$namespace" get secret dapr-trust-bundle >/dev/null
echo "outrigger (CRDs + sentry) is running on kind cluster '$cluster' in namespace '$namespace'"
