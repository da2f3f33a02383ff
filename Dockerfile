# syntax=docker/dockerfile:1
# The function's runtime image, embedded in the Function package at release:
#   docker build -t function-streambus-runtime .
#   bash scripts/build-xpkg.sh --embed-runtime-image function-streambus-runtime
# (docs/install.md, "Releasing"). Node 26 is the Active LTS line (since 2026-10-28).
ARG NODE_IMAGE=node:26-alpine
# The build stage needs a shell and npm. The release builds both stages from NODE_IMAGE's default; CI
# (scripts/build-images.sh) passes its own distroless NODE_IMAGE, which has neither, and a NODE_BUILD_IMAGE that has.
ARG NODE_BUILD_IMAGE=node:26-alpine

# Build: compile and bundle with the dev dependencies (tsc, then esbuild: one ESM file holding the server and every
# dependency it imports), then assemble the runtime tree in /fn with the same script the tests run
# (scripts/assemble-runtime.mjs). test/e2e/runtime-tree.test.ts serves RunFunction from that tree, so what ships is
# what CI ran. The final image needs no node_modules.
FROM ${NODE_BUILD_IMAGE} AS build
# Empty in a release; CI points it at the host's CA bundle, mounted read-only for the build (never in the image).
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build && node scripts/assemble-runtime.mjs /fn

# Runtime: node and /fn only (root-owned, world-readable: any UID can run it, nothing is written, so a read-only
# root filesystem works). Crossplane mounts its TLS certificates at /tls/server and sets TLS_SERVER_CERTS_DIR;
# the function listens on 0.0.0.0:9443 and requires client certificates signed by /tls/server/ca.crt.
# NODE_OPTIONS: a small V8 heap (the live heap is ~20-45 MB; the caches hold at most 32 MiB) and small young
# generation semi-spaces, so V8 collects before the process nears the pod's 256Mi limit (bench/memory.ts).
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=2" \
    TLS_SERVER_CERTS_DIR=/tls/server
COPY --from=build /fn /fn
WORKDIR /fn
USER 65532:65532
EXPOSE 9443
ENTRYPOINT ["node", "/fn/function-streambus.mjs"]
