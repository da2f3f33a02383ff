/**
 * The StreamBusCluster API: the single source of truth.
 *
 * From this one zod schema come (a) the XRD in apis/ (`npm run generate`, see src/api/xrd.ts),
 * (b) the TypeScript types (z.infer below) and (c) runtime validation of every XR the function sees.
 * Field names, enums and defaults follow the StreamBus operator's API (streambus.io/v1alpha1), so the
 * operator's manifests apply unchanged as Crossplane claims.
 *
 * Every field carries a description; the XRD generator and the docs generator both read them.
 */
import { z } from 'zod';
import { parseQuantity, QUANTITY_PATTERN } from '../k8s/quantity.js';
import {
  DNS1123_SUBDOMAIN,
  IMAGE_REPOSITORY_PATTERN,
  IMAGE_TAG_PATTERN,
  LABEL_VALUE_PATTERN,
  QUALIFIED_NAME_PATTERN,
  classifyResourceName,
} from '../k8s/names.js';

export { QUANTITY_PATTERN } from '../k8s/quantity.js';
const quantityRe = new RegExp(QUANTITY_PATTERN);

/** A quantity that may be written as a YAML number or a string (`cpu: 1`, `memory: 512Mi`). */
const quantity = (description: string) =>
  z
    .union([
      z.string().max(64).regex(quantityRe, 'must be a Kubernetes quantity such as 500m, 2Gi or 10'),
      // int-or-string: Kubernetes takes a number only when it is a whole number (`cpu: 0.5` must be written "500m").
      z.number().int('a number must be whole; write fractions as a string such as 500m').nonnegative(),
    ])
    .meta({ 'x-kubernetes-int-or-string': true })
    .describe(description);

/** A storage size: a string quantity with a binary or decimal suffix, strictly positive. */
export const STORAGE_SIZE = /^[1-9][0-9]*(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const storageSize = (description: string, dflt: string) =>
  z
    .string()
    .regex(STORAGE_SIZE, 'must be a positive storage quantity such as 10Gi')
    .default(dflt)
    .describe(description);

const port = (description: string, dflt: number) =>
  z.number().int().min(1).max(65535).default(dflt).describe(description);

/** DNS-1123 label (names of Secrets, ServiceAccounts and other namespaced objects we reference). */
const secretName = (description: string) =>
  z.string().min(1).max(253).regex(DNS1123_SUBDOMAIN, 'must be a valid Secret name (DNS-1123 subdomain)').describe(description);

const stringMap = (description: string) => z.record(z.string(), z.string()).describe(description);
/** A map of label values (the keys are checked by the function: structural schemas cannot bound map keys). */
const labelMap = (description: string) =>
  z
    .record(z.string(), z.string().max(63).regex(new RegExp(LABEL_VALUE_PATTERN), 'must be a label value: at most 63 ASCII letters, digits, "-", "_" and ".", alphanumeric at both ends'))
    .describe(description);

// ---------------------------------------------------------------------------------------------
// spec.image
export const ImageSpec = z
  .object({
    repository: z
      .string()
      .min(1)
      .max(255)
      .regex(new RegExp(IMAGE_REPOSITORY_PATTERN), 'must be an image repository such as ghcr.io/gstreamio/streambus/broker (the tag goes in image.tag)')
      .optional()
      .describe(
        'Image repository of the StreamBus broker. When unset, the platform default from the function input is used ' +
          '(ghcr.io/gstreamio/streambus/broker unless the platform team changed it).',
      ),
    tag: z
      .string()
      .min(1)
      .max(128)
      .regex(new RegExp(IMAGE_TAG_PATTERN), 'must be an image tag such as v1.0.1')
      .optional()
      .describe('Image tag. Overrides spec.version when set; when both are unset the platform default tag from the function input is used.'),
    pullPolicy: z
      .enum(['Always', 'IfNotPresent', 'Never'])
      .default('IfNotPresent')
      .describe('Image pull policy of the broker container.'),
    pullSecrets: z
      .array(secretName('Name of an image pull Secret in the claim namespace.'))
      .max(16)
      .optional()
      .describe('Names of image pull Secrets in the claim namespace.'),
  })
  .describe('Container image of the broker.');

// spec.resources
/** Most resources named in requests or limits (bounds the XRD's CEL rules; a pod names a handful). */
export const MAX_RESOURCE_NAMES = 16;

/**
 * Kubernetes' rules for a container's resources (ValidateResourceRequirements), as zod checks and as CEL for the XRD.
 * The maps are read with Object.hasOwn / Object.entries only: a key such as `constructor` is data, never a lookup.
 */
const RESOURCE_MAP_RULES: { message: string; cel: string }[] = [
  {
    message: 'resource names must be cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource <domain>/<name> outside kubernetes.io',
    cel: "self.all(k, k in ['cpu', 'memory', 'ephemeral-storage'] || k.startsWith('hugepages-') || (k.contains('/') && !k.contains('kubernetes.io/') && !k.startsWith('requests.')))",
  },
  {
    message: 'extended resources (<domain>/<name>) must be whole numbers',
    cel: "self.all(k, !k.contains('/') || !isQuantity(string(self[k])) || quantity(string(self[k])).isInteger())",
  },
];
const RESOURCES_RULES: { path: string[]; message: string; cel: string }[] = [
  {
    path: ['requests'],
    message: 'a request must not exceed its limit',
    cel:
      '!has(self.requests) || !has(self.limits) || self.requests.all(k, !(k in self.limits) || !isQuantity(string(self.requests[k])) || ' +
      '!isQuantity(string(self.limits[k])) || quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)',
  },
  {
    path: ['limits'],
    message: 'extended resources and hugepages cannot be overcommitted: set a limit equal to the request',
    cel:
      "!has(self.requests) || self.requests.all(k, !(k.contains('/') || k.startsWith('hugepages-')) || (has(self.limits) && k in self.limits && " +
      'isQuantity(string(self.requests[k])) && isQuantity(string(self.limits[k])) && quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) == 0))',
  },
];

const resourceMap = (description: string, item: string) =>
  z
    .record(z.string(), quantity(item))
    .meta({ maxProperties: MAX_RESOURCE_NAMES, 'x-kubernetes-validations': RESOURCE_MAP_RULES.map((r) => ({ rule: r.cel, message: r.message })) })
    .describe(description);

export const ResourcesSpec = z
  .object({
    requests: resourceMap('Minimum compute resources per broker (cpu, memory, ...).', 'Requested amount of this resource.').optional(),
    limits: resourceMap('Maximum compute resources per broker (cpu, memory, ...).', 'Limit for this resource.').optional(),
  })
  .superRefine((r, ctx) => {
    const requests = new Map(Object.entries(r.requests ?? {}));
    const limits = new Map(Object.entries(r.limits ?? {}));
    for (const [kind, m] of [['requests', requests], ['limits', limits]] as const) {
      if (m.size > MAX_RESOURCE_NAMES) ctx.addIssue({ code: 'custom', path: [kind], message: `at most ${MAX_RESOURCE_NAMES} resources` });
      for (const [name, q] of m) {
        const c = classifyResourceName(name);
        if ('problem' in c) {
          ctx.addIssue({ code: 'custom', path: [kind, name], message: `not a container resource name: ${c.problem}` });
          continue;
        }
        const v = parseQuantity(q);
        if (c.kind === 'extended' && v !== undefined && !Number.isInteger(v)) {
          ctx.addIssue({ code: 'custom', path: [kind, name], message: 'an extended resource must be a whole number' });
        }
      }
    }
    // Kubernetes rejects a container whose request exceeds its limit; say so on the claim, naming the field.
    for (const [name, req] of requests) {
      const lim = limits.get(name);
      const a = parseQuantity(req);
      const b = lim === undefined ? undefined : parseQuantity(lim);
      const c = classifyResourceName(name);
      const overcommit = 'kind' in c && c.kind !== 'standard';
      if (overcommit && (b === undefined || a !== b)) {
        ctx.addIssue({ code: 'custom', path: ['limits', name], message: `must be set and equal requests.${name} (${String(req)}): Kubernetes does not overcommit ${name}` });
        continue;
      }
      if (a !== undefined && b !== undefined && a > b) {
        ctx.addIssue({ code: 'custom', path: ['requests', name], message: `must not exceed limits.${name} (${String(lim)})` });
      }
    }
  })
  .meta({ 'x-kubernetes-validations': RESOURCES_RULES.map((r) => ({ rule: r.cel, message: `${r.path.join('.')}: ${r.message}` })) })
  .describe('Compute resources of each broker container, as in a Pod spec.');

// spec.storage
export const StorageSpec = z
  .object({
    class: z
      .string()
      .min(1)
      .max(253)
      .regex(DNS1123_SUBDOMAIN, 'must be a StorageClass name')
      .optional()
      .describe(
        'StorageClass of the data and Raft volumes. When unset, the platform default from the function input is used, ' +
          'and when that is unset too, the cluster default StorageClass.',
      ),
    size: storageSize('Size of each broker\'s data volume (topics and partitions), mounted at /data.', '10Gi'),
    raftSize: storageSize('Size of each broker\'s Raft log volume, mounted at /raft.', '5Gi'),
    deleteClaimsOnDelete: z
      .boolean()
      .default(false)
      .describe('Delete the brokers\' PersistentVolumeClaims when the cluster is deleted or scaled down. Off by default: data is retained.'),
  })
  .describe('Persistent storage of each broker: one data and one Raft volume claim per broker.');

// spec.config
export const ConfigSpec = z
  .object({
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Broker log level (observability.logging.level in broker.yaml).'),
    port: port('Client (StreamBus protocol) port of each broker.', 9092),
    httpPort: port('HTTP port of each broker: health endpoints /health/live and /health/ready, admin API and metrics.', 8081),
    grpcPort: port(
      'Port reserved for the broker\'s gRPC API. StreamBus v1.0.1 serves no gRPC; kept for compatibility with the operator API and used as the default Raft port.',
      9093,
    ),
    raftPort: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe('Raft peer port of each broker. Defaults to grpcPort (9093), the port the upstream examples use for Raft.'),
    maxConnections: z.number().int().min(1).max(10_000_000).optional().describe('Maximum client connections per broker (documented broker setting; not read by StreamBus v1.0.1).'),
    maxMessageSize: z.number().int().min(1).max(2_147_483_647).optional().describe('Maximum message size in bytes (documented broker setting; not read by StreamBus v1.0.1).'),
    compressionEnabled: z.boolean().optional().describe('Enable message compression (documented broker setting; not read by StreamBus v1.0.1).'),
  })
  .describe('Broker configuration, rendered into broker.yaml.');

// spec.security
export const SecuritySpec = z
  .object({
    enabled: z.boolean().default(false).describe('Master switch for security features (operator API compatibility).'),
    tls: z
      .object({
        enabled: z.boolean().default(false).describe('Serve the client listener with TLS.'),
        certSecretName: secretName('Secret (type kubernetes.io/tls) holding tls.crt and tls.key for the brokers.').optional(),
        secretName: secretName('Deprecated alias of certSecretName (operator API).').optional(),
        caSecretName: secretName('Secret holding ca.crt, the CA that signs client certificates.').optional(),
        clientAuthRequired: z.boolean().default(false).describe('Require and verify client certificates (mutual TLS).'),
      })
      .optional()
      .describe('TLS for client connections.'),
    authentication: z
      .object({
        enabled: z.boolean().default(false).describe('Require clients to authenticate.'),
        method: z.enum(['mtls', 'jwt', 'sasl']).optional().describe('Primary authentication method.'),
        allowedMethods: z.array(z.enum(['mtls', 'jwt', 'sasl'])).max(3).optional().describe('All authentication methods the brokers accept.'),
        jwtSecretName: secretName('Secret holding the JWT verification key.').optional(),
        sasl: z
          .object({
            mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).default('SCRAM-SHA-256').describe('SASL mechanism.'),
            secretName: secretName('Secret holding the SASL credentials.').optional(),
          })
          .optional()
          .describe('SASL authentication.'),
      })
      .optional()
      .describe('Client authentication.'),
    authorization: z
      .object({
        enabled: z.boolean().default(false).describe('Enforce ACLs.'),
        defaultPolicy: z.enum(['allow', 'deny']).default('deny').describe('Decision when no ACL matches.'),
      })
      .optional()
      .describe('Client authorization (ACLs).'),
  })
  .describe('Security of the client listener: TLS, authentication and authorization.');

// spec.multiTenancy
const quotas = z
  .object({
    maxTopics: z.number().int().min(1).max(1_000_000).optional().describe('Maximum topics per tenant.'),
    maxPartitionsPerTopic: z.number().int().min(1).max(100_000).optional().describe('Maximum partitions per topic of a tenant.'),
    maxConnections: z.number().int().min(1).max(10_000_000).optional().describe('Maximum concurrent connections per tenant.'),
    maxBandwidthMBps: z.number().positive().max(1_000_000).optional().describe('Maximum throughput per tenant in MB/s.'),
    maxStorageGB: z.number().positive().max(1_000_000_000).optional().describe('Maximum storage per tenant in GB.'),
    maxMessagesPerSecond: z.number().int().min(1).max(1_000_000_000).optional().describe('Maximum messages per second per tenant.'),
  })
  .describe('Per-tenant quotas.');

export const MultiTenancySpec = z
  .object({
    enabled: z.boolean().default(false).describe('Enable multi-tenancy.'),
    isolation: z
      .object({
        networkPolicies: z.boolean().default(false).describe('Isolate the cluster with NetworkPolicies.'),
        resourceQuotas: z.boolean().default(false).describe('Create a ResourceQuota for the cluster\'s namespace.'),
        rateLimiting: z.boolean().default(false).describe('Enforce per-tenant rate limits in the brokers.'),
      })
      .optional()
      .describe('How tenants are isolated.'),
    defaultQuotas: quotas.optional().describe('Quotas applied to every tenant without an override.'),
    tenantOverrides: z
      .array(
        z
          .object({
            tenantId: z.string().min(1).max(253).regex(/^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/, 'must be a tenant id of letters, digits, - _ .').describe('Tenant identifier.'),
            quotas: quotas.describe('Quotas of this tenant, replacing the defaults field by field.'),
          })
          .describe('Quotas of one tenant.'),
      )
      .max(100)
      .optional()
      .describe('Per-tenant quota overrides (at most 100); tenant ids must be unique.'),
  })
  .describe('Multi-tenancy: tenant quotas and isolation.');

// spec.observability
export const ObservabilitySpec = z
  .object({
    metrics: z
      .object({
        enabled: z.boolean().default(true).describe('Expose broker metrics on the HTTP port.'),
        serviceMonitor: z.boolean().default(false).describe('Create a Prometheus Operator ServiceMonitor.'),
        interval: z
          .string()
          .regex(/^([0-9]+(ms|s|m|h))+$/, 'must be a duration such as 30s')
          .default('30s')
          .describe('Scrape interval of the ServiceMonitor.'),
        perTenantMetrics: z.boolean().default(false).describe('Label metrics with the tenant id.'),
      })
      .optional()
      .describe('Prometheus metrics.'),
    tracing: z
      .object({
        enabled: z.boolean().default(false).describe('Export traces over OTLP.'),
        endpoint: z
          .string()
          .max(1024)
          .regex(/^[^\s\x00-\x1f\x7f-\x9f]+$/, 'must be host:port or a URL, without spaces or control characters')
          .optional()
          .describe('OTLP gRPC endpoint, host:port.'),
        samplingRate: z.number().min(0).max(1).default(0.1).describe('Fraction of requests traced, 0 to 1.'),
        includeTenantId: z.boolean().default(false).describe('Add the tenant id to spans.'),
      })
      .optional()
      .describe('Distributed tracing.'),
    logging: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error']).optional().describe('Log level; overrides config.logLevel when set.'),
        format: z.enum(['json', 'text']).default('json').describe('Log format.'),
        includeTenantContext: z.boolean().default(false).describe('Add the tenant id to log lines.'),
        auditLog: z
          .object({
            enabled: z.boolean().default(false).describe('Write an audit log.'),
            level: z.enum(['basic', 'detailed']).default('basic').describe('Audit detail.'),
          })
          .optional()
          .describe('Audit logging.'),
      })
      .optional()
      .describe('Broker logging.'),
  })
  .describe('Metrics, tracing and logging.');

/** Kubernetes' own toleration rules (apimachinery ValidateTolerations), as zod checks and CEL for the XRD. */
const TOLERATION_RULES: { path: string[]; message: string; cel: string; check: (t: { key?: string; operator?: string; value?: string; effect?: string; tolerationSeconds?: number }) => boolean }[] = [
  {
    path: ['operator'],
    message: 'a toleration without a key must use operator Exists',
    cel: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
    check: (t) => !!t.key || t.operator === 'Exists',
  },
  {
    path: ['value'],
    message: 'operator Exists takes no value',
    cel: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
    check: (t) => t.operator !== 'Exists' || !t.value,
  },
  {
    path: ['tolerationSeconds'],
    message: 'tolerationSeconds needs effect NoExecute',
    cel: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
    check: (t) => t.tolerationSeconds === undefined || t.effect === 'NoExecute',
  },
];

const toleration = z
  .object({
    key: z
      .string()
      .max(317)
      .regex(new RegExp(`(${QUALIFIED_NAME_PATTERN.slice(1, -1)})|^$`), 'must be a taint key: a qualified name such as dedicated or example.com/pool')
      .optional()
      .describe('Taint key the toleration applies to.'),
    operator: z.enum(['Exists', 'Equal']).optional().describe('Exists or Equal.'),
    value: z
      .string()
      .max(63)
      .regex(new RegExp(LABEL_VALUE_PATTERN), 'must be a label value: at most 63 ASCII letters, digits, "-", "_" and ".", alphanumeric at both ends')
      .optional()
      .describe('Taint value to match.'),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional().describe('Taint effect to match.'),
    tolerationSeconds: z.number().int().optional().describe('How long a NoExecute taint is tolerated.'),
  })
  .superRefine((t, ctx) => {
    for (const r of TOLERATION_RULES) if (!r.check(t)) ctx.addIssue({ code: 'custom', path: r.path, message: r.message });
  })
  .meta({ 'x-kubernetes-validations': TOLERATION_RULES.map((r) => ({ rule: r.cel, message: `${r.path.join('.')}: ${r.message}` })) })
  .describe('A Pod toleration.');

// ---------------------------------------------------------------------------------------------
/**
 * Cross-field rules. Each is checked twice: by the API server (the CEL rule, in the XRD) before the claim is
 * stored, and by the function (check) for anything that reaches it another way. Keep the two in step.
 */
type SpecShape = {
  config?: { port?: number; httpPort?: number; grpcPort?: number; raftPort?: number };
  security?: { tls?: { enabled?: boolean; certSecretName?: string; secretName?: string; clientAuthRequired?: boolean }; authentication?: { enabled?: boolean; method?: string; allowedMethods?: string[]; jwtSecretName?: string } };
  multiTenancy?: { tenantOverrides?: { tenantId: string }[] };
  observability?: { tracing?: { enabled?: boolean; endpoint?: string } };
};
export interface SpecRule {
  path: string[];
  message: string;
  cel: string;
  check: (s: SpecShape) => boolean;
}
export const SPEC_RULES: SpecRule[] = [
  {
    path: ['security', 'tls', 'certSecretName'],
    message: 'required when security.tls.enabled is true (a kubernetes.io/tls Secret with tls.crt and tls.key)',
    cel: '!has(self.security) || !has(self.security.tls) || !has(self.security.tls.enabled) || !self.security.tls.enabled || has(self.security.tls.certSecretName) || has(self.security.tls.secretName)',
    check: (s) => !s.security?.tls?.enabled || !!(s.security.tls.certSecretName || s.security.tls.secretName),
  },
  {
    path: ['security', 'tls', 'clientAuthRequired'],
    message: 'needs security.tls.enabled: true',
    cel: '!has(self.security) || !has(self.security.tls) || !has(self.security.tls.clientAuthRequired) || !self.security.tls.clientAuthRequired || (has(self.security.tls.enabled) && self.security.tls.enabled)',
    check: (s) => !s.security?.tls?.clientAuthRequired || !!s.security.tls.enabled,
  },
  {
    path: ['security', 'authentication', 'jwtSecretName'],
    message: 'required when authentication uses jwt (method or allowedMethods)',
    cel: "!has(self.security) || !has(self.security.authentication) || !has(self.security.authentication.enabled) || !self.security.authentication.enabled || !((has(self.security.authentication.method) && self.security.authentication.method == 'jwt')) || has(self.security.authentication.jwtSecretName)",
    check: (s) => {
      const a = s.security?.authentication;
      return !a?.enabled || a.method !== 'jwt' || !!a.jwtSecretName;
    },
  },
  {
    path: ['multiTenancy', 'tenantOverrides'],
    message: 'tenantId values must be unique',
    cel: '!has(self.multiTenancy) || !has(self.multiTenancy.tenantOverrides) || self.multiTenancy.tenantOverrides.all(a, self.multiTenancy.tenantOverrides.exists_one(b, b.tenantId == a.tenantId))',
    check: (s) => {
      const ids = (s.multiTenancy?.tenantOverrides ?? []).map((t) => t.tenantId);
      return new Set(ids).size === ids.length;
    },
  },
  {
    path: ['config', 'httpPort'],
    message: 'config.port, config.httpPort and the Raft port (config.raftPort, else config.grpcPort) must all differ',
    cel: '!has(self.config) || (self.config.port != self.config.httpPort && (has(self.config.raftPort) ? self.config.raftPort : self.config.grpcPort) != self.config.port && (has(self.config.raftPort) ? self.config.raftPort : self.config.grpcPort) != self.config.httpPort)',
    check: (s) => {
      const c = s.config;
      if (!c) return true;
      const raft = c.raftPort ?? c.grpcPort;
      return c.port !== c.httpPort && raft !== c.port && raft !== c.httpPort;
    },
  },
  {
    path: ['observability', 'tracing', 'endpoint'],
    message: 'required when observability.tracing.enabled is true (host:port of an OTLP collector)',
    cel: '!has(self.observability) || !has(self.observability.tracing) || !has(self.observability.tracing.enabled) || !self.observability.tracing.enabled || has(self.observability.tracing.endpoint)',
    check: (s) => !s.observability?.tracing?.enabled || !!s.observability.tracing.endpoint,
  },
];

// ---------------------------------------------------------------------------------------------
export const MIN_REPLICAS = 1;
export const MAX_REPLICAS = 100;

export const StreamBusClusterSpec = z
  .object({
    replicas: z
      .number()
      .int()
      .min(MIN_REPLICAS)
      .max(MAX_REPLICAS)
      .default(3)
      .describe(
        'Number of brokers. Raft membership is static in StreamBus v1.0.1, so the count is fixed once the cluster has ' +
          'been created; use an odd number (1, 3, 5, 7) for quorum.',
      ),
    version: z
      .string()
      .min(1)
      .max(128)
      .regex(new RegExp(IMAGE_TAG_PATTERN), 'must be an image tag such as v1.0.1')
      .optional()
      .describe('StreamBus version to deploy, used as the image tag when image.tag is unset.'),
    image: ImageSpec.default({ pullPolicy: 'IfNotPresent' }),
    resources: ResourcesSpec.optional(),
    storage: StorageSpec.default({ size: '10Gi', raftSize: '5Gi', deleteClaimsOnDelete: false }),
    config: ConfigSpec.default({ logLevel: 'info', port: 9092, httpPort: 8081, grpcPort: 9093 }),
    security: SecuritySpec.optional(),
    multiTenancy: MultiTenancySpec.optional(),
    observability: ObservabilitySpec.optional(),
    affinity: z
      .looseObject({})
      .optional()
      .describe('Pod affinity rules (a core/v1 Affinity). When unset, brokers spread across hosts and zones.'),
    nodeSelector: labelMap('Node labels the brokers must be scheduled on.').optional(),
    tolerations: z.array(toleration).max(64).optional().describe('Tolerations of the broker pods.'),
    podAnnotations: stringMap('Annotations added to the broker pods.').optional(),
    podLabels: labelMap('Labels added to the broker pods; they never change the StatefulSet selector.').optional(),
    priorityClassName: z.string().max(253).regex(DNS1123_SUBDOMAIN).optional().describe('PriorityClass of the broker pods.'),
  })
  .superRefine((spec, ctx) => {
    for (const rule of SPEC_RULES) {
      if (!rule.check(spec)) ctx.addIssue({ code: 'custom', path: rule.path, message: rule.message });
    }
  })
  .describe('Desired state of a StreamBus cluster.');

export const ConditionSchema = z
  .object({
    type: z.string().describe('Condition type.'),
    status: z.string().describe('True, False or Unknown.'),
    reason: z.string().optional().describe('Machine-readable reason.'),
    message: z.string().optional().describe('Human-readable detail.'),
    lastTransitionTime: z.string().optional().describe('When the status last changed.'),
    observedGeneration: z.number().int().optional().describe('Generation the condition was set for.'),
  })
  .describe('A status condition.');

export const StreamBusClusterStatus = z
  .object({
    phase: z.enum(['Pending', 'Creating', 'Running', 'Updating', 'Degraded', 'Failed']).optional().describe('Lifecycle phase of the cluster.'),
    conditions: z.array(ConditionSchema).optional().describe('Observations of the cluster\'s state.'),
    replicas: z.number().int().optional().describe('Number of brokers the cluster runs.'),
    readyReplicas: z.number().int().optional().describe('Number of ready brokers.'),
    observedGeneration: z.number().int().optional().describe('Generation of the spec this status describes.'),
    endpoints: z
      .array(z.string())
      .optional()
      .describe(
        'Client addresses (host:port) applications use: the data broker\'s (<name>-0) only while the broker does not replicate ' +
          'data (StreamBus v1.0.1), every broker\'s for a broker that does.',
      ),
    bootstrapServers: z.string().optional().describe('The same addresses, comma-separated: what a client is configured with.'),
    httpEndpoint: z.string().optional().describe('HTTP endpoint of the client Service (health and admin API).'),
    metricsEndpoint: z.string().optional().describe('Metrics endpoint of the brokers.'),
  })
  .describe('Observed state of a StreamBus cluster.');

export type StreamBusClusterSpec = z.infer<typeof StreamBusClusterSpec>;
export type StreamBusClusterSpecInput = z.input<typeof StreamBusClusterSpec>;
export type StreamBusClusterStatus = z.infer<typeof StreamBusClusterStatus>;

// ---------------------------------------------------------------------------------------------
// Function input: the platform team's defaults, set in the Composition's pipeline step.
export const FUNCTION_INPUT_GROUP = 'streambus.fn.crossplane.io';
export const FUNCTION_INPUT_VERSION = 'v1beta1';
export const FUNCTION_INPUT_KIND = 'Input';

/** Namespaces no cluster is ever composed into unless the platform team lists otherwise. */
export const DEFAULT_DENIED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease', 'crossplane-system'];

/**
 * What a claim may ask for, decided by the platform team (src/render/policy.ts enforces it; each refusal is a
 * FATAL result naming the claim's field and the policy). The defaults keep the seed examples working and refuse
 * what only a cluster administrator should decide.
 */
export const PlatformPolicy = z
  .object({
    allowedImageRegistries: z
      .array(z.string().min(1).max(255).regex(/^[A-Za-z0-9.-]+(:[0-9]+)?$/, 'must be a registry host such as ghcr.io or registry.example.com:5000'))
      .max(64)
      .optional()
      .describe(
        'Registries broker images may come from (the host of spec.image.repository; docker.io for names without a host). ' +
          'Unset: any registry. Set it in production.',
      ),
    allowedPriorityClasses: z
      .array(z.string().min(1).max(253).regex(DNS1123_SUBDOMAIN))
      .max(64)
      .optional()
      .describe(
        'PriorityClasses a claim may set in spec.priorityClassName. Unset: any class except the system ones ' +
          '(system-node-critical, system-cluster-critical and every other system-* class).',
      ),
    tolerations: z
      .enum(['Any', 'Keyed', 'None'])
      .default('Keyed')
      .describe(
        'Tolerations a claim may add: Any; Keyed (default): each must name a taint key, so no toleration of every taint, ' +
          'and none of the control plane\'s node-role.kubernetes.io/* taints; None.',
      ),
    allowNodeSelector: z.boolean().default(true).describe('Whether a claim may set spec.nodeSelector (node-role.kubernetes.io/* keys are always refused).'),
    securityAnnotations: z
      .enum(['Any', 'Confined', 'None'])
      .default('Confined')
      .describe(
        'AppArmor and seccomp annotations a claim may put on the pods (spec.podAnnotations): Any; Confined (default): ' +
          'only profiles that confine (runtime/default, docker/default, localhost/<profile>), never unconfined; None.',
      ),
    maxReplicasWithoutDataReplication: z
      .number()
      .int()
      .min(MIN_REPLICAS)
      .max(MAX_REPLICAS)
      .optional()
      .describe(
        'Most brokers a new cluster may ask for (spec.replicas) while the broker does not replicate data (StreamBus v1.0.1): ' +
          'the extra brokers add Raft metadata peers, not data capacity or a second copy of any message. 1 refuses every ' +
          'multi-broker cluster. Applies to new clusters and to replica increases; a running cluster above it keeps running. ' +
          'Unset: no limit.',
      ),
    deniedNamespaces: z
      .array(z.string().min(1).max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/))
      .max(256)
      .default(DEFAULT_DENIED_NAMESPACES)
      .describe('Namespaces no cluster is composed into (the claim namespace, or the namespace label of a directly created XR).'),
  })
  .describe('Platform policy: what claims may ask for.');
export type PlatformPolicy = z.infer<typeof PlatformPolicy>;

export const FunctionInputSpec = z
  .object({
    mode: z
      .enum(['Object', 'Direct'])
      .default('Object')
      .describe(
        'Object wraps every composed resource in a provider-kubernetes Object (works on Crossplane 1 and 2, the cluster ' +
          'may be remote); Direct composes the raw Kubernetes objects (Crossplane 2 only, needs RBAC for Crossplane).',
      ),
    providerConfigName: z
      .string()
      .min(1)
      .max(253)
      .regex(DNS1123_SUBDOMAIN)
      .default('default')
      .describe('provider-kubernetes ProviderConfig the Objects use (Object mode).'),
    providerConfigKind: z
      .enum(['ClusterProviderConfig', 'ProviderConfig'])
      .default('ClusterProviderConfig')
      .describe(
        'Kind of the provider-kubernetes provider config that namespaced Objects (kubernetes.m.crossplane.io, for ' +
          'namespaced StreamBusCluster XRs) reference: ClusterProviderConfig (one for the whole cluster) or ProviderConfig ' +
          '(in the XR\'s namespace). Cluster-scoped Objects (legacy XRs) always use a cluster-scoped ProviderConfig.',
      ),
    clusterDomain: z
      .string()
      .min(1)
      .max(253)
      .regex(DNS1123_SUBDOMAIN)
      .default('cluster.local')
      .describe('DNS domain of the Kubernetes cluster the brokers run in; peers are <pod>.<headless>.<ns>.svc.<clusterDomain>.'),
    defaultImageRepository: z
      .string()
      .min(1)
      .max(255)
      .regex(new RegExp(IMAGE_REPOSITORY_PATTERN), 'must be an image repository such as ghcr.io/gstreamio/streambus/broker')
      .default('ghcr.io/gstreamio/streambus/broker').describe('Image repository used when a claim sets none.'),
    defaultImageTag: z.string().min(1).max(128).regex(new RegExp(IMAGE_TAG_PATTERN), 'must be an image tag such as v1.0.1').default('v1.0.1').describe('Image tag used when a claim sets neither image.tag nor version.'),
    defaultStorageClass: z.string().regex(DNS1123_SUBDOMAIN).optional().describe('StorageClass used when a claim sets none; unset means the cluster default.'),
    tlsProxyImage: z
      .string()
      .min(1)
      .default('ghostunnel/ghostunnel:v1.8.4')
      .describe(
        'Image of the TLS-terminating sidecar (ghostunnel) each broker pod gets when security.tls.enabled: it serves the client ' +
          'port with the certificate Secret (and requires client certificates for mutual TLS) and forwards to the broker on the ' +
          "pod's loopback. Its entrypoint must be ghostunnel. Pin a tag or digest your registry mirrors.",
      ),
    tlsProxyReloadInterval: z
      .string()
      .regex(/^[1-9][0-9]*(s|m|h)$/)
      .default('60s')
      .describe(
        'How often the TLS sidecar re-reads the certificate, key and CA bundle (ghostunnel --timed-reload), so a renewed Secret ' +
          'is served without a restart, e.g. 60s.',
      ),
    policy: PlatformPolicy.default(PlatformPolicy.parse({})),
  })
  .describe('Platform-team defaults of function-streambus.');

export const FunctionInput = z.object({
  apiVersion: z.literal(`${FUNCTION_INPUT_GROUP}/${FUNCTION_INPUT_VERSION}`).optional(),
  kind: z.literal(FUNCTION_INPUT_KIND).optional(),
  metadata: z.looseObject({}).optional(),
  spec: FunctionInputSpec.default(FunctionInputSpec.parse({})),
});

export type FunctionInputSpec = z.infer<typeof FunctionInputSpec>;
