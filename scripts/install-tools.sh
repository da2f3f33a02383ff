#!/usr/bin/env bash
# Installs the pinned external tools this project tests against, through the Go module proxy,
# into .tools/bin (git-ignored). Idempotent: a tool already at its pinned version is skipped.
# Usage: scripts/install-tools.sh [crossplane] [crossplane1] [broker] [all]
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
  go_install github.com/gstreamio/streambus "$STREAMBUS" github.com/gstreamio/streambus/cmd/broker streambus-broker
  go_install github.com/gstreamio/streambus "$STREAMBUS" github.com/gstreamio/streambus/cmd/cli streambus-cli
  echo "$STREAMBUS" > "$root/.tools/stamps/streambus"
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

# The benchmark's Go peer (bench/gopeer, our own code on Crossplane's Go SDK from the module proxy). It stands in
# for function-go-templating, which the proxy refuses: 403 for v0.11.0, v0.10.0, v0.9.0, v0.8.0 and v0.9.2's zip.
install_gopeer() {
  local src="$root/bench/gopeer" sum
  sum="$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)"
  stamp gopeer "$sum" streambus-gopeer && return 0
  echo ">> Go peer: bench/gopeer (github.com/crossplane/function-sdk-go v0.5.0)" >&2
  (cd "$src" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$bin/streambus-gopeer" .)
  echo "$sum" > "$root/.tools/stamps/gopeer"
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

[ $# -eq 0 ] && set -- crossplane
for t in "$@"; do
  case "$t" in
    crossplane) install_crossplane ;;
    crossplane1) install_crossplane1 ;;
    broker) install_broker ;;
    crds) install_crds ;;
    gopeer) install_gopeer ;;
    configcheck) install_configcheck ;;
    all) install_crossplane; install_crossplane1; install_broker; install_crds ;;
    *) echo "unknown tool: $t" >&2; exit 2 ;;
  esac
done
