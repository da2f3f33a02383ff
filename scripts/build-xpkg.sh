#!/usr/bin/env bash
# Builds the three Crossplane packages with the real CLI (`crossplane xpkg build`), offline:
#   OUT/function-streambus.xpkg          package/ (crossplane.yaml + the input CRD); no examples
#   OUT/configuration-streambus.xpkg     legacy API (claims): configuration/crossplane.yaml + apis/*.yaml + every
#                                        compositions/*.yaml; examples: every examples/*/claim.yaml (as claims)
#   OUT/configuration-streambus-v2.xpkg  Crossplane 2 API (namespaced XRs): configuration-v2/crossplane.yaml +
#                                        apis/v2/*.yaml + every compositions/v2/*.yaml; examples: the same
#                                        examples/*/claim.yaml files, which are namespaced XRs in this API
#
# Usage: scripts/build-xpkg.sh [-o OUT] [--embed-runtime-image REF | --embed-runtime-image-tarball FILE]
#   -o OUT                             output folder (default .tmp/xpkg)
#   --embed-runtime-image REF          release: embed the image `docker build` made (needs a Docker daemon)
#   --embed-runtime-image-tarball FILE embed an image saved with `docker save` (works without a daemon)
# Without either flag the Function package has no runtime image (Crossplane then cannot run it: this is for CI,
# which checks the package contents; see docs/install.md, "Releasing"). CROSSPLANE overrides the CLI path.
#
# Packages cannot carry RBAC (`xpkg build` refuses a ClusterRole), so deploy/rbac/ is applied with kubectl.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
crossplane="${CROSSPLANE:-$root/.tools/bin/crossplane}"
out="$root/.tmp/xpkg"
runtime=()
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    --embed-runtime-image|--embed-runtime-image-tarball) runtime=("$1=$2"); shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -x "$crossplane" ] || { echo "no Crossplane CLI at $crossplane (run scripts/install-tools.sh crossplane)" >&2; exit 1; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# Function. --examples-root names a folder that does not exist: the Function package has no examples, and without
# the flag xpkg build would take ./examples (the Configuration's claims) relative to the working directory.
"$crossplane" xpkg build --package-root "$root/package" --examples-root "$root/package/examples" \
  ${runtime[@]+"${runtime[@]}"} -o "$out/function-streambus.xpkg"

# Configuration: staged so that every file in apis/ and compositions/ is included without listing them.
mkdir -p "$stage/configuration/apis" "$stage/configuration/compositions" "$stage/examples"
cp "$root/configuration/crossplane.yaml" "$stage/configuration/"
cp "$root"/apis/*.yaml "$stage/configuration/apis/"
cp "$root"/compositions/*.yaml "$stage/configuration/compositions/"
for claim in "$root"/examples/*/claim.yaml; do
  name="$(basename "$(dirname "$claim")")"
  cp "$claim" "$stage/examples/$name.yaml"
done
"$crossplane" xpkg build --package-root "$stage/configuration" --examples-root "$stage/examples" \
  -o "$out/configuration-streambus.xpkg"

# Configuration for Crossplane 2: the v2 XRD and the Compositions for namespaced XRs; the same example manifests.
mkdir -p "$stage/configuration-v2/apis" "$stage/configuration-v2/compositions"
cp "$root/configuration-v2/crossplane.yaml" "$stage/configuration-v2/"
cp "$root"/apis/v2/*.yaml "$stage/configuration-v2/apis/"
cp "$root"/compositions/v2/*.yaml "$stage/configuration-v2/compositions/"
"$crossplane" xpkg build --package-root "$stage/configuration-v2" --examples-root "$stage/examples" \
  -o "$out/configuration-streambus-v2.xpkg"

ls -l "$out"/function-streambus.xpkg "$out"/configuration-streambus.xpkg "$out"/configuration-streambus-v2.xpkg
