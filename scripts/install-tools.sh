#!/usr/bin/env bash
# Installs the pinned external tools this project tests against, through the Go module proxy,
# into .tools/bin (git-ignored). Idempotent: a tool already at its pinned version is skipped.
# Usage: scripts/install-tools.sh [crossplane] [crossplane1] [broker] [operator] [crds] [configcheck] [celcheck] [go-templating] [controlplane] [node] [all] ...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.tools/bin"
mkdir -p "$bin" "$root/.tools/stamps"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0

# v2.2.4 is the version we target; the module proxy here refuses it (403 "This module version is not
# available"), so the newest v2.2.x it serves, v2.2.1, is the fallback. Both render in-process.
CROSSPLANE_V2_CANDIDATES="v2.2.4 v2.2.1"
CROSSPLANE_V1=v1.20.11
STREAMBUS=v1.0.1

stamp() { [ -f "$root/.tools/stamps/$1" ] && [ "$(cat "$root/.tools/stamps/$1")" = "$2" ] && [ -x "$bin/$3" ]; }

# go_install MODULE VERSION PACKAGE OUTNAME [LDFLAGS]
# Installs PACKAGE of MODULE@VERSION from the Go module proxy. The proxy here answers 403 for a module's
# version list, which `go install pkg@version` reads (to check deprecations) and then gives up on; a throw-away
# go.mod that requires the exact version avoids that list lookup. Still only the module proxy, never a source copy.
go_install() {
  local module="$1" version="$2" pkg="$3" out="$4" ldflags="${5:-}"
  local mod; mod="$(mktemp -d)"
  printf 'module tools\ngo 1.26\nrequire %s %s\n' "$module" "$version" > "$mod/go.mod"
  (cd "$mod" && GOBIN="$mod/bin" go install -mod=mod -ldflags "-s -w $ldflags" "$pkg") || { rm -rf "$mod"; return 1; }
  mv "$mod/bin/$(basename "$pkg")" "$bin/$out"
  rm -rf "$mod"
}

install_crossplane() {
  local v
  for v in $CROSSPLANE_V2_CANDIDATES; do
    stamp crossplane "$v" crossplane && return 0
  done
  for v in $CROSSPLANE_V2_CANDIDATES; do
    echo ">> crossplane CLI: github.com/crossplane/crossplane/v2/cmd/crank@$v" >&2
    if go_install github.com/crossplane/crossplane/v2 "$v" github.com/crossplane/crossplane/v2/cmd/crank crossplane \
      "-X github.com/crossplane/crossplane/v2/internal/version.version=$v"; then
      echo "$v" > "$root/.tools/stamps/crossplane"
      return 0
    fi
    echo "!! the Go module proxy did not supply crossplane $v" >&2
  done
  return 1
}

install_crossplane1() {
  stamp crossplane1 "$CROSSPLANE_V1" crossplane-v1 && return 0
  echo ">> crossplane 1.x CLI: github.com/crossplane/crossplane/cmd/crank@$CROSSPLANE_V1" >&2
  go_install github.com/crossplane/crossplane "$CROSSPLANE_V1" github.com/crossplane/crossplane/cmd/crank crossplane-v1 \
    "-X github.com/crossplane/crossplane/internal/version.version=$CROSSPLANE_V1"
  echo "$CROSSPLANE_V1" > "$root/.tools/stamps/crossplane1"
}

install_broker() {
  stamp streambus "$STREAMBUS" streambus-broker && [ -x "$bin/streambus-cli" ] && return 0
  echo ">> streambus broker and CLI: github.com/gstreamio/streambus/cmd/{broker,cli}@$STREAMBUS" >&2
  if go_install github.com/gstreamio/streambus "$STREAMBUS" github.com/gstreamio/streambus/cmd/broker streambus-broker &&
    go_install github.com/gstreamio/streambus "$STREAMBUS" github.com/gstreamio/streambus/cmd/cli streambus-cli; then
    echo "$STREAMBUS" > "$root/.tools/stamps/streambus"
    return 0
  fi
  # The module proxy here refuses the module (403): fall back to the prebuilt, checksummed upstream release in the
  # project root's sibling shared/tools/ (its README lists the sha256 of each binary). Copied, never committed.
  local dir="$root/../shared/tools/streambus-$STREAMBUS" f want got
  echo "!! the Go module proxy did not supply streambus $STREAMBUS; using $dir" >&2
  [ -f "$dir/README.md" ] || { echo "!! $dir/README.md not found: cannot install the broker" >&2; return 1; }
  for f in streambus-broker streambus-cli; do
    want="$(sed -n "s/^| \`$f\` | .* | \`\([0-9a-f]\{64\}\)\` |$/\1/p" "$dir/README.md")"
    [ -n "$want" ] || { echo "!! no sha256 for $f in $dir/README.md" >&2; return 1; }
    [ -f "$dir/$f" ] || { echo "!! $dir/$f not found" >&2; return 1; }
    got="$(sha256sum "$dir/$f" | cut -d' ' -f1)"
    if [ "$got" != "$want" ]; then
      echo "!! sha256 MISMATCH for $dir/$f: README says $want, the file is $got; refusing to install it" >&2
      return 1
    fi
    cp "$dir/$f" "$bin/$f.tmp" && chmod 0755 "$bin/$f.tmp" && mv "$bin/$f.tmp" "$bin/$f"
  done
  echo "$STREAMBUS" > "$root/.tools/stamps/streambus"
}

# The StreamBus operator v1.0.1 (the upstream operator function-streambus replaces), for the adoption e2e test
# (test/e2e/operator-adoption.test.ts): the Go module proxy refuses github.com/gstreamio/streambus, so only the
# prebuilt, unmodified upstream build in the project root's sibling shared/tools/ is used (its README gives the
# sha256 of the .xz and of the binary). Both are checked; the binary is decompressed into .tools/bin, never committed.
# Its CRD and RBAC are read from the same folder by the test.
OPERATOR_SHA256_XZ=8b7b22ea2a928771f0269d22a0d2b828e826406b6c5cb345cf05fc78a665fbeb
OPERATOR_SHA256=35b3b236137fb1947a387eacdd5b86e4833141f7ca5751fde114a5dccef95363
install_operator() {
  stamp streambus-operator "$STREAMBUS" streambus-operator &&
    [ "$(sha256sum "$bin/streambus-operator" | cut -d' ' -f1)" = "$OPERATOR_SHA256" ] && return 0
  local dir="$root/../shared/tools/streambus-operator-$STREAMBUS" got tmp
  echo ">> streambus operator $STREAMBUS: $dir/streambus-operator.xz" >&2
  [ -f "$dir/streambus-operator.xz" ] || { echo "!! $dir/streambus-operator.xz not found: cannot install the operator" >&2; return 1; }
  command -v xz >/dev/null || apt-get install -y -qq -o DPkg::Lock::Timeout=600 xz-utils >/dev/null || { echo "!! xz is missing and could not be installed" >&2; return 1; }
  got="$(sha256sum "$dir/streambus-operator.xz" | cut -d' ' -f1)"
  if [ "$got" != "$OPERATOR_SHA256_XZ" ]; then
    echo "!! sha256 MISMATCH for $dir/streambus-operator.xz: pinned $OPERATOR_SHA256_XZ, the file is $got; refusing it" >&2
    return 1
  fi
  tmp="$bin/streambus-operator.tmp.$$"
  xz -dc "$dir/streambus-operator.xz" > "$tmp" || { rm -f "$tmp"; return 1; }
  got="$(sha256sum "$tmp" | cut -d' ' -f1)"
  if [ "$got" != "$OPERATOR_SHA256" ]; then
    rm -f "$tmp"
    echo "!! sha256 MISMATCH for the decompressed operator: pinned $OPERATOR_SHA256, got $got; refusing it" >&2
    return 1
  fi
  chmod 0755 "$tmp" && mv "$tmp" "$bin/streambus-operator"
  echo "$STREAMBUS" > "$root/.tools/stamps/streambus-operator"
}

# The provider-kubernetes CRDs (to validate rendered Objects against their real schema), from the module
# proxy's copy of the provider's source: a data file, kept in .tools/crds, never committed.
PROVIDER_KUBERNETES=v1.2.1
install_crds() {
  local out="$root/.tools/crds"
  [ -f "$out/provider-kubernetes-$PROVIDER_KUBERNETES/kubernetes.crossplane.io_objects.yaml" ] && return 0
  echo ">> provider-kubernetes CRDs: github.com/crossplane-contrib/provider-kubernetes@$PROVIDER_KUBERNETES" >&2
  local mod dir; mod="$(mktemp -d)"
  dir="$(cd "$mod" && go mod download -json "github.com/crossplane-contrib/provider-kubernetes@$PROVIDER_KUBERNETES" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rm -rf "$mod"
  [ -n "$dir" ] && [ -d "$dir/package/crds" ] || { echo "!! could not download provider-kubernetes $PROVIDER_KUBERNETES" >&2; return 1; }
  mkdir -p "$out/provider-kubernetes-$PROVIDER_KUBERNETES"
  cp "$dir"/package/crds/*.yaml "$out/provider-kubernetes-$PROVIDER_KUBERNETES/"
  chmod -R u+w "$out"
}

# The benchmark's Go peer: the real function-go-templating v0.12.2, an unmodified upstream build provided outside the
# project (../shared/tools/function-go-templating-v0.12.2/, see its README; the Go module proxy refuses the module).
# Nothing is installed or copied: this only checks that the binary is there and is the pinned build (its sha256);
# bench/go-templating.ts checks the sha256 again before running it. $FUNCTION_GO_TEMPLATING overrides the path.
GO_TEMPLATING=v0.12.2
GO_TEMPLATING_SHA256=09feafca618466adbe211a42d227c51f266446687e5ed323d23f691905562ec7
# kube-linter v0.8.3, to lint the rendered manifests (test/e2e/kubelinter.test.ts). The Go module proxy refuses
# golang.stackrox.io/kube-linter and github.com/stackrox/kube-linter (403), so the unmodified upstream build provided in
# ../shared/tools/kube-linter-v0.8.3/ is copied into .tools/bin after its sha256 is checked (never committed).
KUBE_LINTER=v0.8.3
KUBE_LINTER_SHA256=b974afc66ffc037e4cc55d59243b139c3b6dd6c8be50930c41b623583017536c
install_kube_linter() {
  stamp kube-linter "$KUBE_LINTER" kube-linter && return 0
  local src="$root/../shared/tools/kube-linter-$KUBE_LINTER/kube-linter" sum
  [ -f "$src" ] || { echo "!! kube-linter $KUBE_LINTER not found at $src" >&2; return 1; }
  sum="$(sha256sum "$src" | cut -d' ' -f1)"
  if [ "$sum" != "$KUBE_LINTER_SHA256" ]; then
    echo "!! $src has sha256 $sum, not the pinned kube-linter $KUBE_LINTER ($KUBE_LINTER_SHA256): refusing it" >&2
    return 1
  fi
  cp "$src" "$bin/kube-linter.tmp" && chmod 0755 "$bin/kube-linter.tmp" && mv "$bin/kube-linter.tmp" "$bin/kube-linter"
  echo "$KUBE_LINTER" > "$root/.tools/stamps/kube-linter"
}

install_go_templating() {
  local path="${FUNCTION_GO_TEMPLATING:-$root/../shared/tools/function-go-templating-$GO_TEMPLATING/function-go-templating}" sum
  if [ ! -f "$path" ]; then
    echo "!! function-go-templating $GO_TEMPLATING not found at $path" >&2
    return 1
  fi
  sum="$(sha256sum "$path" | cut -d' ' -f1)"
  if [ "$sum" != "$GO_TEMPLATING_SHA256" ]; then
    echo "!! $path has sha256 $sum, not the pinned function-go-templating $GO_TEMPLATING ($GO_TEMPLATING_SHA256): refusing it" >&2
    return 1
  fi
  if [ ! -x "$path" ]; then
    echo "!! $path is not executable" >&2
    return 1
  fi
  echo ">> function-go-templating $GO_TEMPLATING: $path (sha256 checked; run in place, never copied)" >&2
}

# test/configcheck: the broker v1.0.1's configuration reading (viper v1.21.0), our own code, for the e2e tests.
install_configcheck() {
  local src="$root/test/configcheck" sum
  sum="$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)"
  stamp configcheck "$sum" streambus-configcheck && return 0
  echo ">> test/configcheck (github.com/spf13/viper v1.21.0)" >&2
  (cd "$src" && go build -mod=readonly -o "$bin/streambus-configcheck" .)
  echo "$sum" > "$root/.tools/stamps/configcheck"
}

# test/celcheck: Kubernetes' own CEL environment (k8s.io/apiserver v0.34.1, as kube-apiserver v1.34.1 evaluates CRD
# validation rules), for test/unit/xrd-parity.test.ts. About 75 s to build cold on the 2-core machine.
install_celcheck() {
  local src="$root/test/celcheck" sum
  sum="$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)"
  stamp celcheck "$sum" streambus-celcheck && return 0
  echo ">> test/celcheck (k8s.io/apiserver v0.34.1 CEL environment)" >&2
  (cd "$src" && go build -mod=readonly -trimpath -o "$bin/streambus-celcheck.tmp" . && mv "$bin/streambus-celcheck.tmp" "$bin/streambus-celcheck")
  echo "$sum" > "$root/.tools/stamps/celcheck"
}

# ---------------------------------------------------------------------------------------------------------------
# The real control plane (test/e2e/controlplane*.test.ts, test/helpers/controlplane.ts): etcd, Kubernetes, Crossplane
# core, an OCI registry, provider-kubernetes and kwok, each built from the Go module proxy at a pinned version.
ETCD=v3.6.5
KUBERNETES=v1.34.1
CROSSPLANE_CORE=v2.2.1
GGCR=v0.20.6
KWOK=v0.7.0
GHOSTUNNEL=v1.8.4

# mod_dir MODULE VERSION: the module's source in the module cache (downloaded through the proxy).
mod_dir() {
  local tmp dir; tmp="$(mktemp -d)"
  dir="$(cd "$tmp" && go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rm -rf "$tmp"
  [ -n "$dir" ] && [ -d "$dir" ] || { echo "!! the Go module proxy did not supply $1@$2" >&2; return 1; }
  echo "$dir"
}

# build_pinned MODULE VERSION "PKG=OUT ..." LDFLAGS [EXTRA_GOMOD]
# Builds each PKG of MODULE@VERSION into .tools/bin/OUT through a throw-away module that requires the exact version
# and carries the module's own go.sum (the checksum database lacks some pseudo-versions its go.sum pins).
build_pinned() {
  local module="$1" version="$2" targets="$3" ldflags="$4" extra="${5:-}" mod src t pkg out
  src="$(mod_dir "$module" "$version")" || return 1
  mod="$(mktemp -d)"
  { printf 'module tools\ngo 1.26\n'; [ -n "$extra" ] && printf '%s\n' "$extra"; printf 'require %s %s\n' "$module" "$version"; } > "$mod/go.mod"
  [ -f "$src/go.sum" ] && cat "$src/go.sum" > "$mod/go.sum"
  for t in $targets; do
    pkg="${t%%=*}"; out="${t##*=}"
    echo ">> $out: $pkg@$version" >&2
    (cd "$mod" && go build -mod=mod -trimpath -ldflags "-s -w $ldflags" -o "$bin/$out.tmp" "$pkg") || { rm -rf "$mod"; return 1; }
    mv "$bin/$out.tmp" "$bin/$out"
  done
  rm -rf "$mod"
}

install_etcd() {
  stamp etcd "$ETCD" etcd && return 0
  build_pinned go.etcd.io/etcd/server/v3 "$ETCD" "go.etcd.io/etcd/server/v3=etcd" "" && echo "$ETCD" > "$root/.tools/stamps/etcd"
}

# k8s_module_args: sets K8S_REPLACES (the throw-away go.mod's godebug and replace block) and K8S_LDFLAGS (the version
# stamps) for building commands of k8s.io/kubernetes@$KUBERNETES.
k8s_module_args() {
  local src staging replaces v ld x
  src="$(mod_dir k8s.io/kubernetes "$KUBERNETES")" || return 1
  # Replace each staging module (a local path inside k8s.io/kubernetes) with its published version.
  staging="v0.${KUBERNETES#v1.}"
  replaces="godebug default=go1.24
replace ("
  for v in $(sed -n '/^replace (/,/^)/s#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$src/go.mod"); do
    replaces="$replaces
	$v => $v $staging"
  done
  replaces="$replaces
)"
  ld=""
  for x in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $x.gitVersion=$KUBERNETES -X $x.gitMajor=1 -X $x.gitMinor=$(echo "$KUBERNETES" | cut -d. -f2) -X $x.gitTreeState=clean"
  done
  K8S_REPLACES="$replaces" K8S_LDFLAGS="$ld"
}

install_kubernetes() {
  stamp kubernetes "$KUBERNETES" kube-apiserver && [ -x "$bin/kubectl" ] && [ -x "$bin/kube-controller-manager" ] && [ -x "$bin/kube-scheduler" ] && return 0
  k8s_module_args || return 1
  build_pinned k8s.io/kubernetes "$KUBERNETES" \
    "k8s.io/kubernetes/cmd/kube-apiserver=kube-apiserver k8s.io/kubernetes/cmd/kubectl=kubectl k8s.io/kubernetes/cmd/kube-controller-manager=kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler=kube-scheduler" \
    "$K8S_LDFLAGS" "$K8S_REPLACES" && echo "$KUBERNETES" > "$root/.tools/stamps/kubernetes"
}

install_crossplane_core() {
  stamp crossplane-core "$CROSSPLANE_CORE" crossplane-core && return 0
  build_pinned github.com/crossplane/crossplane/v2 "$CROSSPLANE_CORE" "github.com/crossplane/crossplane/v2/cmd/crossplane=crossplane-core" \
    "-X github.com/crossplane/crossplane/v2/internal/version.version=$CROSSPLANE_CORE" &&
    echo "$CROSSPLANE_CORE" > "$root/.tools/stamps/crossplane-core"
  install_crossplane_data
}

# Crossplane's CRDs (applied before `crossplane core init`) and its Helm chart's RBAC templates (the ClusterRoles a
# real install has, rendered by test/helpers/controlplane.ts), from the module's source; data files, never committed.
install_crossplane_data() {
  local out="$root/.tools/crossplane-$CROSSPLANE_CORE" src
  [ -f "$out/chart/clusterrole.yaml" ] && [ -d "$out/crds" ] && return 0
  src="$(mod_dir github.com/crossplane/crossplane/v2 "$CROSSPLANE_CORE")" || return 1
  rm -rf "$out"; mkdir -p "$out/crds" "$out/chart"
  cp "$src"/cluster/crds/*.yaml "$out/crds/"
  cp "$src"/cluster/charts/crossplane/templates/{clusterrole,clusterrolebinding,rbac-manager-clusterrole,rbac-manager-clusterrolebinding,rbac-manager-managed-clusterroles,rbac-manager-allowed-provider-permissions}.yaml "$out/chart/"
  chmod -R u+w "$out"
}

# prometheus-operator's ServiceMonitor and PrometheusRule CRDs (the claims that ask for monitoring compose them).
PROMETHEUS_OPERATOR=v0.85.0
install_prometheus_crds() {
  local out="$root/.tools/crds/prometheus-operator-$PROMETHEUS_OPERATOR" src
  [ -f "$out/monitoring.coreos.com_servicemonitors.yaml" ] && return 0
  src="$(mod_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR")" || return 1
  mkdir -p "$out"
  cp "$src"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml "$out/"
  chmod -R u+w "$out"
}

install_registry() {
  stamp registry "$GGCR" registry && return 0
  build_pinned github.com/google/go-containerregistry "$GGCR" "github.com/google/go-containerregistry/cmd/registry=registry" "" &&
    echo "$GGCR" > "$root/.tools/stamps/registry"
}

install_provider_kubernetes() {
  stamp provider-kubernetes "$PROVIDER_KUBERNETES" provider-kubernetes && return 0
  build_pinned github.com/crossplane-contrib/provider-kubernetes "$PROVIDER_KUBERNETES" \
    "github.com/crossplane-contrib/provider-kubernetes/cmd/provider=provider-kubernetes" "" &&
    echo "$PROVIDER_KUBERNETES" > "$root/.tools/stamps/provider-kubernetes"
}

install_kwok() {
  if ! stamp kwok "$KWOK" kwok; then
    build_pinned sigs.k8s.io/kwok "$KWOK" "sigs.k8s.io/kwok/cmd/kwok=kwok" "" && echo "$KWOK" > "$root/.tools/stamps/kwok" || return 1
  fi
  # kwok's own "general" pod stages (pods take seconds, not milliseconds, to start and stop), which the harness
  # configures kwok with; a data file from the module, never committed.
  local out="$root/.tools/kwok-$KWOK/stages" src
  [ -f "$out/pod-ready.yaml" ] && return 0
  src="$(mod_dir sigs.k8s.io/kwok "$KWOK")" || return 1
  mkdir -p "$out" && cp "$src"/kustomize/stage/pod/general/pod-*.yaml "$out/" && chmod -R u+w "$out"
}

# ghostunnel: the TLS-terminating sidecar the brokers get when spec.security.tls is on (test/e2e/broker*.test.ts).
install_ghostunnel() {
  stamp ghostunnel "$GHOSTUNNEL" ghostunnel && return 0
  CGO_ENABLED=1 build_pinned github.com/ghostunnel/ghostunnel "$GHOSTUNNEL" "github.com/ghostunnel/ghostunnel=ghostunnel" "" &&
    echo "$GHOSTUNNEL" > "$root/.tools/stamps/ghostunnel"
}

# ---------------------------------------------------------------------------------------------------------------
# A real node (test/helpers/node.ts, test/e2e/node.test.ts): the kubelet and kube-proxy from the same module and
# throw-away go.mod as the control plane's Kubernetes, CoreDNS from the module proxy, the pause image's program (our
# own, test/pause), and containerd 1.6, runc, the CNI reference plugins, iptables, conntrack and a static busybox
# (the shell of the test images) from Debian.
COREDNS=v1.13.1
NODE_APT="containerd runc containernetworking-plugins iptables conntrack busybox-static"

install_node_packages() {
  local missing=() c
  for c in containerd:containerd ctr:containerd runc:runc iptables:iptables conntrack:conntrack; do
    command -v "${c%%:*}" >/dev/null || missing+=("${c##*:}")
  done
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] && [ -x /usr/lib/cni/portmap ] || missing+=(containernetworking-plugins)
  dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || missing+=(busybox-static)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo ">> node packages from Debian: ${missing[*]}" >&2
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}"; then
    apt-get update -qq -o DPkg::Lock::Timeout=600 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}"
  fi
}

install_kubelet() {
  stamp kubelet "$KUBERNETES" kubelet && [ -x "$bin/kube-proxy" ] && return 0
  k8s_module_args || return 1
  build_pinned k8s.io/kubernetes "$KUBERNETES" "k8s.io/kubernetes/cmd/kubelet=kubelet k8s.io/kubernetes/cmd/kube-proxy=kube-proxy" \
    "$K8S_LDFLAGS" "$K8S_REPLACES" && echo "$KUBERNETES" > "$root/.tools/stamps/kubelet"
}

install_coredns() {
  stamp coredns "$COREDNS" coredns && return 0
  build_pinned github.com/coredns/coredns "$COREDNS" "github.com/coredns/coredns=coredns" \
    "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS" && echo "$COREDNS" > "$root/.tools/stamps/coredns"
}

# The pause image's program: our own source (test/pause), no dependencies.
install_pause() {
  local src="$root/test/pause" sum
  sum="$(cat "$src/go.mod" "$src"/*.go | sha256sum | cut -c1-16)"
  stamp pause "$sum" streambus-pause && return 0
  echo ">> test/pause (the node's pause image)" >&2
  (cd "$src" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$bin/streambus-pause.tmp" . && mv "$bin/streambus-pause.tmp" "$bin/streambus-pause")
  echo "$sum" > "$root/.tools/stamps/pause"
}

install_node() {
  install_node_packages && install_pause && install_coredns && install_kubelet
}

install_controlplane() {
  install_etcd && install_kubernetes && install_crossplane_core && install_registry && install_provider_kubernetes &&
    install_kwok && install_crossplane && install_crds && install_crossplane_data && install_prometheus_crds
}

[ $# -eq 0 ] && set -- crossplane
for t in "$@"; do
  case "$t" in
    crossplane) install_crossplane ;;
    crossplane1) install_crossplane1 ;;
    broker) install_broker ;;
    operator) install_operator ;;
    crds) install_crds ;;
    go-templating) install_go_templating ;;
    kube-linter) install_kube_linter ;;
    configcheck) install_configcheck ;;
    celcheck) install_celcheck ;;
    etcd) install_etcd ;;
    kubernetes) install_kubernetes ;;
    crossplane-core) install_crossplane_core ;;
    registry) install_registry ;;
    provider-kubernetes) install_provider_kubernetes ;;
    kwok) install_kwok ;;
    ghostunnel) install_ghostunnel ;;
    controlplane) install_controlplane ;;
    node-packages) install_node_packages ;;
    kubelet) install_kubelet ;;
    coredns) install_coredns ;;
    pause) install_pause ;;
    node) install_node ;;
    all) install_crossplane; install_crossplane1; install_broker; install_operator; install_crds; install_go_templating; install_kube_linter; install_controlplane; install_node ;;
    *) echo "unknown tool: $t" >&2; exit 2 ;;
  esac
done
