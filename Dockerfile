# syntax=docker/dockerfile:1
# Build: compile TypeScript with the dev dependencies.
FROM node:22-alpine AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build

# Production dependencies only.
FROM node:22-alpine AS deps
WORKDIR /fn
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Runtime: node, the compiled function and its production dependencies; non-root; read-only root filesystem OK.
FROM node:22-alpine
ENV NODE_ENV=production
WORKDIR /fn
COPY --from=deps /fn/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
USER 65532:65532
EXPOSE 9443
ENTRYPOINT ["node", "/fn/dist/src/main.js"]
CMD ["--tls-server-certs-dir=/tls/server"]
