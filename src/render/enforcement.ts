/**
 * What the deployed broker does NOT enforce.
 *
 * StreamBus v1.0.1 reads only the server, storage, cluster and log-level keys of broker.yaml
 * (broker-contract.md §1, §3-5). TLS and mutual TLS are enforced in front of it by the pod's TLS sidecar
 * (tlsproxy.ts), so they are not listed here. Every other feature a claim asks for is rendered (so a broker that implements it
 * gets it) but is not in force; this table says which, so the function can tell the user in a WARNING result and
 * a condition instead of pretending. One row per feature: the field that asks for it and what really happens.
 */
import type { StreamBusClusterSpec } from '../api/schema.js';
import { mtlsRequired } from './tlsproxy.js';

export interface Unenforced {
  /** The spec field(s) that ask for the feature. */
  field: string;
  /** What happens instead. */
  note: string;
}

type Row = { field: string; when: (s: StreamBusClusterSpec) => boolean; note: string };

/**
 * What the broker version this project renders for can do, in one place. The renderers read it (never the
 * version): a broker release that replicates topics and messages between brokers changes `replicatesData` here, and
 * the client Service, the connection details and the status go back to every broker (dataplane.ts).
 */
export interface BrokerCapabilities {
  /** Named in conditions and results. */
  version: string;
  /**
   * Whether a message acknowledged by one broker can be read through any other. StreamBus v1.0.1: no. Topics and
   * messages live on the broker that received them (its request handler writes to the local log), its Raft group
   * carries broker metadata only, and its client sends every request to the first address it is given
   * (broker-contract.md §2).
   */
  replicatesData: boolean;
}

export const BROKER: BrokerCapabilities = { version: 'StreamBus v1.0.1', replicatesData: false };
export const BROKER_VERSION = BROKER.version;

/**
 * Authentication methods asked for that nothing enforces. TLS and mutual TLS are enforced by the TLS sidecar
 * (tlsproxy.ts), so `mtls` is enforced whenever client certificates are required; jwt and sasl never are.
 */
export function unenforcedAuthMethods(s: StreamBusClusterSpec): string[] {
  const auth = s.security?.authentication;
  if (!auth?.enabled) return [];
  const methods = auth.allowedMethods ?? (auth.method ? [auth.method] : []);
  if (methods.length === 0) return ['(no method named)'];
  return methods.filter((x) => !(x === 'mtls' && mtlsRequired(s)));
}

const ROWS: Row[] = [
  {
    field: 'replicas (data replication)',
    when: (s) => s.replicas > 1 && !BROKER.replicatesData,
    note: 'topics and messages are not replicated between brokers: they live on broker 0, the only address clients are given (condition DataReplicated)',
  },
  // security.tls and security.tls.clientAuthRequired are enforced by the TLS sidecar (tlsproxy.ts).
  {
    field: 'security.authentication',
    when: (s) => unenforcedAuthMethods(s).length > 0,
    note: 'jwt and sasl are not wired into the broker: a client that does not pass mutual TLS (when required) is accepted as anonymous; mtls is enforced only when TLS is on',
  },
  {
    field: 'security.authorization',
    when: (s) => !!s.security?.authorization?.enabled,
    note: 'ACLs are not evaluated; anonymous access is allowed',
  },
  {
    field: 'multiTenancy',
    when: (s) => !!s.multiTenancy?.enabled,
    note: 'tenancy is never switched on in the broker; defaultQuotas and tenantOverrides are rendered but not applied',
  },
  {
    field: 'multiTenancy.isolation.rateLimiting',
    when: (s) => !!s.multiTenancy?.enabled && !!s.multiTenancy.isolation?.rateLimiting,
    note: 'no per-tenant rate limits are applied',
  },
  {
    field: 'observability.metrics',
    when: (s) => !!s.observability?.metrics?.enabled,
    note: 'the broker serves no metrics: /metrics is a placeholder (scrapes see only that the broker is up)',
  },
  {
    field: 'observability.metrics.perTenantMetrics',
    when: (s) => !!s.observability?.metrics?.perTenantMetrics,
    note: 'no per-tenant metrics exist',
  },
  {
    field: 'observability.tracing',
    when: (s) => !!s.observability?.tracing?.enabled,
    note: 'tracing is never initialised; no spans are exported',
  },
  {
    field: 'observability.logging.format',
    when: (s) => s.observability?.logging?.format === 'text',
    note: 'broker log lines stay JSON; only the internal logger switches to console format (LOG_FORMAT)',
  },
  {
    field: 'observability.logging.includeTenantContext',
    when: (s) => !!s.observability?.logging?.includeTenantContext,
    note: 'log lines carry no tenant id',
  },
  {
    field: 'observability.logging.auditLog',
    when: (s) => !!s.observability?.logging?.auditLog?.enabled,
    note: 'no audit log is written',
  },
  {
    field: 'config.maxConnections, config.maxMessageSize, config.compressionEnabled',
    when: (s) => s.config.maxConnections !== undefined || s.config.maxMessageSize !== undefined || s.config.compressionEnabled !== undefined,
    note: 'these settings are not read by the broker',
  },
];

/** The features this spec asks for that the broker does not enforce, in a stable order. */
export function unenforcedFeatures(spec: StreamBusClusterSpec): Unenforced[] {
  return ROWS.filter((r) => r.when(spec)).map(({ field, note }) => ({ field, note }));
}
