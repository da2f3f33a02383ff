/**
 * The broker configuration file (ConfigMap `<name>-config`, key broker.yaml).
 *
 * StreamBus v1.0.1 reads exactly these keys (shared/reference/broker-contract.md §1): server.host, server.port,
 * server.http_port, storage.data_dir, cluster.raft.data_dir, cluster.peers, observability.logging.level.
 * server.broker_id is per pod, so it is passed as --broker-id by the container command, not written here.
 * The security, tenancy, metrics and tracing sections use the broker's documented keys so a broker that reads
 * them gets them; v1.0.1 ignores them, which enforcement.ts reports.
 */
import { CONFIG_FILE, DATA_DIR, RAFT_DIR, raftPeers, type ClusterModel } from './model.js';
import { securityConfig } from './security.js';
import { tenancyConfig } from './tenancy.js';
import { tlsProxy } from './tlsproxy.js';

type Obj = Record<string, unknown>;

export interface BrokerConfig {
  server: { host: string; port: number; http_port: number } & Obj;
  storage: { data_dir: string };
  cluster: { raft: { data_dir: string }; peers: string[] };
  observability: { logging: Obj; metrics?: Obj; tracing?: Obj };
  security?: Obj;
  tenancy?: Obj;
}

export function logLevel(m: ClusterModel): string {
  return m.spec.observability?.logging?.level ?? m.spec.config.logLevel;
}

export function brokerConfig(m: ClusterModel): BrokerConfig {
  const o = m.spec.observability;
  const logging: Obj = { level: logLevel(m) };
  if (o?.logging) {
    logging.format = o.logging.format;
    if (o.logging.includeTenantContext) logging.include_tenant_context = true;
    if (o.logging.auditLog?.enabled) logging.audit = { enabled: true, level: o.logging.auditLog.level };
  }
  const observability: BrokerConfig['observability'] = { logging };
  if (o?.metrics) {
    observability.metrics = { enabled: o.metrics.enabled, path: '/metrics', ...(o.metrics.perTenantMetrics ? { per_tenant: true } : {}) };
  }
  if (o?.tracing?.enabled) {
    observability.tracing = {
      enabled: true,
      endpoint: o.tracing.endpoint,
      sampling_rate: o.tracing.samplingRate,
      ...(o.tracing.includeTenantId ? { include_tenant_id: true } : {}),
    };
  }
  const c = m.spec.config;
  // With TLS the sidecar (tlsproxy.ts) serves the client port; the broker listens on the pod's loopback only.
  const proxy = tlsProxy(m);
  const cfg: BrokerConfig = {
    server: {
      host: proxy ? '127.0.0.1' : '0.0.0.0',
      port: proxy ? proxy.brokerPort : m.ports.client,
      http_port: m.ports.http,
      ...(c.maxConnections !== undefined ? { max_connections: c.maxConnections } : {}),
      ...(c.maxMessageSize !== undefined ? { max_message_size: c.maxMessageSize } : {}),
      ...(c.compressionEnabled !== undefined ? { compression_enabled: c.compressionEnabled } : {}),
    },
    storage: { data_dir: DATA_DIR },
    cluster: { raft: { data_dir: RAFT_DIR }, peers: raftPeers(m) },
    observability,
  };
  const security = securityConfig(m.spec);
  // The sidecar terminates TLS: a broker that read security.tls would expect TLS on its loopback port, which
  // the sidecar forwards as plain TCP. So broker.yaml carries no tls section when the sidecar is rendered.
  if (security && proxy) delete security.tls;
  if (security && Object.keys(security).length > 0) cfg.security = security;
  const tenancy = tenancyConfig(m.spec);
  if (tenancy) cfg.tenancy = tenancy;
  return cfg;
}

/**
 * broker.yaml is written as JSON, which is YAML (1.2) too: the broker's YAML reader takes it as is, it reads
 * well, and it serialises about 100× faster than a YAML emitter on the function's hot path.
 */
export function brokerConfigYaml(m: ClusterModel): string {
  return `# StreamBus broker configuration, rendered by function-streambus (JSON is valid YAML).\n${JSON.stringify(brokerConfig(m), null, 2)}\n`;
}

export function configMap(m: ClusterModel, yaml: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: m.names.configMap, namespace: m.namespace, labels: m.labels },
    data: { [CONFIG_FILE]: yaml },
  };
}
