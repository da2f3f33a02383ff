/**
 * Multi-tenancy: quotas rendered onto the broker's tenant quota fields.
 *
 * StreamBus keeps tenants in memory and takes quotas through POST /api/v1/tenants with the Go field names of
 * tenancy.Quotas (matched case-insensitively): MaxBytesPerSecond, MaxMessagesPerSecond, MaxStorageBytes,
 * MaxTopics, MaxPartitions, MaxConnections. broker.yaml carries them under `tenancy:` with those names, so the
 * same objects can be posted to the admin API. Units: MB = 10^6 bytes, GB = 10^9 bytes (SI, as the field names
 * say); maxPartitionsPerTopic has no broker field and becomes MaxPartitions = maxTopics × maxPartitionsPerTopic
 * when both are known.
 */
import type { StreamBusClusterSpec } from '../api/schema.js';

type Quotas = NonNullable<NonNullable<StreamBusClusterSpec['multiTenancy']>['defaultQuotas']>;
export type BrokerQuotas = Partial<Record<'MaxBytesPerSecond' | 'MaxMessagesPerSecond' | 'MaxStorageBytes' | 'MaxTopics' | 'MaxPartitions' | 'MaxConnections', number>>;

export const MB = 1_000_000;
export const GB = 1_000_000_000;

export function brokerQuotas(q: Quotas | undefined): BrokerQuotas {
  if (!q) return {};
  const out: BrokerQuotas = {};
  if (q.maxBandwidthMBps !== undefined) out.MaxBytesPerSecond = Math.round(q.maxBandwidthMBps * MB);
  if (q.maxMessagesPerSecond !== undefined) out.MaxMessagesPerSecond = q.maxMessagesPerSecond;
  if (q.maxStorageGB !== undefined) out.MaxStorageBytes = Math.round(q.maxStorageGB * GB);
  if (q.maxTopics !== undefined) out.MaxTopics = q.maxTopics;
  if (q.maxTopics !== undefined && q.maxPartitionsPerTopic !== undefined) out.MaxPartitions = q.maxTopics * q.maxPartitionsPerTopic;
  if (q.maxConnections !== undefined) out.MaxConnections = q.maxConnections;
  return out;
}

/** The `tenancy:` section of broker.yaml, or undefined when multi-tenancy is off. */
export function tenancyConfig(spec: StreamBusClusterSpec): Record<string, unknown> | undefined {
  const mt = spec.multiTenancy;
  if (!mt?.enabled) return undefined;
  const defaults = mt.defaultQuotas;
  return {
    enabled: true,
    rate_limiting: !!mt.isolation?.rateLimiting,
    default_quotas: brokerQuotas(defaults),
    // An override replaces the defaults field by field: merge before mapping so derived fields stay consistent.
    tenants: (mt.tenantOverrides ?? []).map((t) => ({ id: t.tenantId, quotas: brokerQuotas({ ...defaults, ...t.quotas }) })),
  };
}
