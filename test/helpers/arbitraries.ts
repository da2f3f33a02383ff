/**
 * fast-check arbitraries for VALID StreamBusCluster XRs and function inputs, generated within src/api/schema.ts
 * (and within what Kubernetes itself accepts where the schema is silent: label syntax, quantities, tolerations,
 * distinct ports). Every generated value is normalised through JSON, as a request decoded from protobuf would be.
 */
import fc from 'fast-check';
import { parseQuantity } from '../../src/k8s/quantity.js';

type Obj = Record<string, unknown>;

const rec = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T) => fc.record(model, { requiredKeys: [], noNullPrototype: true });

// ---- names and Kubernetes syntax
const dnsLabel = (max = 63) => fc.stringMatching(new RegExp(`^[a-z0-9]([-a-z0-9]{0,${max - 2}}[a-z0-9])?$`));
const dnsSubdomain = fc
  .array(dnsLabel(20), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join('.'));
/** A cluster (claim) name: DNS-1035 label of at most 52 characters. */
export const clusterName = fc.stringMatching(/^[a-z]([-a-z0-9]{0,50}[a-z0-9])?$/);
export const namespace = dnsLabel(63);
const qualifiedName = fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
export const labelKey = fc.tuple(fc.option(dnsSubdomain, { nil: undefined }), qualifiedName).map(([p, n]) => (p ? `${p}/${n}` : n));
export const labelValue = fc.oneof(fc.constant(''), qualifiedName);
const labelMap = fc.dictionary(labelKey, labelValue, { maxKeys: 6, noNullPrototype: true });
const annotationMap = fc.dictionary(labelKey, fc.string({ maxLength: 200, unit: 'grapheme' }), { maxKeys: 6, noNullPrototype: true });

// ---- quantities (apimachinery grammar, non-negative)
const decimal = fc.tuple(fc.nat(99999), fc.option(fc.stringMatching(/^[0-9]{1,3}$/), { nil: undefined })).map(([i, f]) => (f ? `${i}.${f}` : String(i)));
const suffix = fc.constantFrom('', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'n', 'u', 'm', 'k', 'M', 'G', 'T', 'P', 'E', 'e3', 'E-2');
export const quantity = fc.oneof(
  fc.tuple(decimal, suffix).map(([d, s]) => `${d}${s}`),
  fc.nat(100_000),
);
const storageSize = fc
  .tuple(fc.integer({ min: 1, max: 99999 }), fc.option(fc.stringMatching(/^[0-9]{1,2}$/), { nil: undefined }), fc.constantFrom('', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'k', 'M', 'G', 'T', 'P', 'E'))
  .map(([i, f, s]) => `${i}${f ? `.${f}` : ''}${s}`);
const resourceName = fc.constantFrom('cpu', 'memory', 'ephemeral-storage', 'nvidia.com/gpu', 'hugepages-2Mi');
const resourceMap = fc.dictionary(resourceName, quantity, { maxKeys: 4, noNullPrototype: true });

const imageTag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}$/);
/** An image repository the container runtime parses: [host[:port]/]path components joined by "/". */
const imageRepository = fc
  .tuple(
    fc.option(fc.constantFrom('ghcr.io', 'registry.example.com:5000', 'localhost'), { nil: undefined }),
    fc.array(fc.stringMatching(/^[a-z0-9]{1,8}([._-][a-z0-9]{1,8}){0,2}$/), { minLength: 1, maxLength: 3 }),
  )
  .map(([host, path]) => (host ? [host, ...path] : path).join('/'));

const toleration = fc.oneof(
  fc.record({ key: labelKey, operator: fc.constant('Equal'), value: labelValue, effect: fc.constantFrom('NoSchedule', 'PreferNoSchedule') }),
  fc.record({ key: labelKey, operator: fc.constant('Exists') }),
  fc.record({ key: labelKey, operator: fc.constant('Exists'), effect: fc.constant('NoExecute'), tolerationSeconds: fc.integer({ min: 0, max: 86400 }) }),
  fc.constant({ operator: 'Exists' }),
);

const affinity = fc.oneof(
  fc.constant(undefined),
  fc.record({
    nodeAffinity: fc.record({
      requiredDuringSchedulingIgnoredDuringExecution: fc.record({
        nodeSelectorTerms: fc.array(
          fc.record({ matchExpressions: fc.array(fc.record({ key: labelKey, operator: fc.constant('In'), values: fc.array(qualifiedName, { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 2 }) }),
          { minLength: 1, maxLength: 2 },
        ),
      }),
    }),
  }),
);

const quotas = rec({
  maxTopics: fc.integer({ min: 1, max: 1_000_000 }),
  maxPartitionsPerTopic: fc.integer({ min: 1, max: 100_000 }),
  maxConnections: fc.integer({ min: 1, max: 10_000_000 }),
  maxBandwidthMBps: fc.double({ min: 0.001, max: 1_000_000, noNaN: true }),
  maxStorageGB: fc.double({ min: 0.001, max: 1_000_000_000, noNaN: true }),
  maxMessagesPerSecond: fc.integer({ min: 1, max: 1_000_000_000 }),
});

/** Three distinct ports: client, HTTP, Raft (Kubernetes refuses a Service with two ports of the same number). */
const ports = fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 3, maxLength: 3 }).chain(([client, http, raft]) =>
  fc.oneof(
    fc.constant({ port: client, httpPort: http, grpcPort: raft }),
    fc.integer({ min: 1, max: 65535 }).map((grpc) => ({ port: client, httpPort: http, grpcPort: grpc, raftPort: raft })),
  ),
);

/** Mostly realistic cluster sizes, sometimes up to the maximum (the peer list grows with it). */
const replicas = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 9 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 100 }) });

export const spec = rec({
  replicas,
  version: imageTag,
  image: rec({
    repository: imageRepository,
    tag: imageTag,
    pullPolicy: fc.constantFrom('Always', 'IfNotPresent', 'Never'),
    pullSecrets: fc.array(dnsSubdomain, { maxLength: 3 }),
  }),
  // Kubernetes (and the schema) refuse a request above its limit: where both are generated, the limit wins.
  resources: rec({ requests: resourceMap, limits: resourceMap }).map((r) => {
    const req = (r as { requests?: Record<string, unknown>; limits?: Record<string, unknown> }).requests;
    const lim = (r as { limits?: Record<string, unknown> }).limits;
    if (!req || !lim) return r;
    const requests = Object.fromEntries(Object.entries(req).filter(([k]) => !(k in lim)));
    return { ...r, requests };
  }),
  storage: rec({ class: dnsSubdomain, size: storageSize, raftSize: storageSize, deleteClaimsOnDelete: fc.boolean() }),
  config: fc.tuple(
    ports,
    rec({
      logLevel: fc.constantFrom('debug', 'info', 'warn', 'error'),
      maxConnections: fc.integer({ min: 1, max: 10_000_000 }),
      maxMessageSize: fc.integer({ min: 1, max: 2_147_483_647 }),
      compressionEnabled: fc.boolean(),
    }),
  ).map(([p, rest]) => ({ ...rest, ...p })),
  security: rec({
    enabled: fc.boolean(),
    tls: rec({ enabled: fc.boolean(), certSecretName: dnsSubdomain, caSecretName: dnsSubdomain, clientAuthRequired: fc.boolean() }),
    authentication: rec({
      enabled: fc.boolean(),
      method: fc.constantFrom('mtls', 'jwt', 'sasl'),
      allowedMethods: fc.uniqueArray(fc.constantFrom('mtls', 'jwt', 'sasl'), { maxLength: 3 }),
      jwtSecretName: dnsSubdomain,
      sasl: rec({ mechanism: fc.constantFrom('PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'), secretName: dnsSubdomain }),
    }),
    authorization: rec({ enabled: fc.boolean(), defaultPolicy: fc.constantFrom('allow', 'deny') }),
  }),
  multiTenancy: rec({
    enabled: fc.boolean(),
    isolation: rec({ networkPolicies: fc.boolean(), resourceQuotas: fc.boolean(), rateLimiting: fc.boolean() }),
    defaultQuotas: quotas,
    tenantOverrides: fc.uniqueArray(
      fc.record({ tenantId: fc.stringMatching(/^[a-zA-Z0-9]([-a-zA-Z0-9_.]{0,30}[a-zA-Z0-9])?$/), quotas }),
      { maxLength: 4, selector: (t) => t.tenantId },
    ),
  }),
  observability: rec({
    metrics: rec({ enabled: fc.boolean(), serviceMonitor: fc.boolean(), interval: fc.constantFrom('15s', '30s', '1m', '1m30s', '500ms'), perTenantMetrics: fc.boolean() }),
    tracing: rec({ enabled: fc.boolean(), endpoint: fc.constantFrom('tempo.observability.svc:4317', 'otel:4317'), samplingRate: fc.double({ min: 0, max: 1, noNaN: true }), includeTenantId: fc.boolean() }),
    logging: rec({
      level: fc.constantFrom('debug', 'info', 'warn', 'error'),
      format: fc.constantFrom('json', 'text'),
      includeTenantContext: fc.boolean(),
      auditLog: rec({ enabled: fc.boolean(), level: fc.constantFrom('basic', 'detailed') }),
    }),
  }),
  affinity,
  nodeSelector: labelMap,
  tolerations: fc.array(toleration, { maxLength: 4 }),
  podAnnotations: annotationMap,
  podLabels: labelMap,
  priorityClassName: dnsSubdomain,
});

export const input = fc.record(
  {
    apiVersion: fc.constant('streambus.fn.crossplane.io/v1beta1'),
    kind: fc.constant('Input'),
    spec: rec({
      mode: fc.constantFrom('Object', 'Direct'),
      providerConfigName: dnsSubdomain,
      clusterDomain: dnsSubdomain,
      defaultImageRepository: imageRepository,
      defaultImageTag: imageTag,
      defaultStorageClass: dnsSubdomain,
    }),
  },
  { requiredKeys: ['spec'], noNullPrototype: true },
);

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/**
 * The schema's cross-field rules (the operator's semantics): TLS needs a certificate Secret, client authentication
 * needs TLS, JWT authentication needs its key Secret, tracing needs an endpoint. Completes a generated spec so
 * that it follows them (the generators above produce each field independently).
 */
function followRules(s: Obj): Obj {
  const sec = s.security as Obj | undefined;
  const tls = sec?.tls as Obj | undefined;
  if (tls?.clientAuthRequired) tls.enabled = true;
  if (tls?.enabled && !tls.certSecretName && !tls.secretName) tls.certSecretName = 'broker-tls';
  const auth = sec?.authentication as Obj | undefined;
  const usesJwt = auth?.method === 'jwt' || (Array.isArray(auth?.allowedMethods) && (auth.allowedMethods as string[]).includes('jwt'));
  if (auth?.enabled && usesJwt && !auth.jwtSecretName) auth.jwtSecretName = 'broker-jwt';
  const tracing = (s.observability as Obj | undefined)?.tracing as Obj | undefined;
  if (tracing?.enabled && !tracing.endpoint) tracing.endpoint = 'otel-collector.observability.svc:4317';
  fixResources(s.resources as Obj | undefined);
  return s;
}

/**
 * Kubernetes' resource rules: extended resources are whole numbers; extended resources and hugepages are never
 * overcommitted (limit = request); a request never exceeds its limit (the larger becomes the limit).
 */
function fixResources(r: Obj | undefined): void {
  if (!r) return;
  const val = (q: unknown) => parseQuantity(q as string | number) ?? 0;
  for (const kind of ['requests', 'limits']) {
    const m = r[kind] as Obj | undefined;
    for (const k of Object.keys(m ?? {})) if (k.includes('/')) m![k] = Math.min(Math.ceil(val(m![k])), 1_000_000);
  }
  const req = r.requests as Obj | undefined;
  if (!req) return;
  const lim = (r.limits ??= {}) as Obj;
  for (const k of Object.keys(req)) {
    if (k.includes('/') || k.startsWith('hugepages-')) lim[k] = req[k];
    else if (Object.hasOwn(lim, k) && val(req[k]) > val(lim[k])) lim[k] = req[k];
  }
}

/** A valid XR as Crossplane creates it from a claim, plus the function input. */
export const validXrAndInput = fc
  .record({
    name: clusterName,
    suffix: fc.stringMatching(/^[a-z0-9]{5}$/),
    namespace,
    generation: fc.integer({ min: 1, max: 1000 }),
    spec,
    input,
  })
  .map(({ name, suffix, namespace: ns, generation, spec: s, input: i }) => ({
    xr: json({
      apiVersion: 'streambus.io/v1alpha1',
      kind: 'XStreamBusCluster',
      metadata: {
        name: `${name}-${suffix}`,
        generation,
        labels: { 'crossplane.io/claim-name': name, 'crossplane.io/claim-namespace': ns },
      },
      spec: { ...followRules(json(s) as Obj), claimRef: { apiVersion: 'streambus.io/v1alpha1', kind: 'StreamBusCluster', name, namespace: ns } },
    }) as Obj,
    input: permissivePolicy(json(i) as Obj, s as Obj),
  }));

/**
 * The platform policy (input.spec.policy) is not what these properties are about: open it up so that every
 * schema-valid spec renders (tolerations without keys, any profile annotation, the generated PriorityClass).
 */
function permissivePolicy(input: Obj, spec: Obj): Obj {
  const pc = spec.priorityClassName as string | undefined;
  input.spec = {
    ...((input.spec as Obj | undefined) ?? {}),
    policy: { tolerations: 'Any', securityAnnotations: 'Any', deniedNamespaces: [], ...(pc ? { allowedPriorityClasses: [pc] } : {}) },
  };
  return input;
}
