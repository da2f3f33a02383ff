/**
 * The broker configuration file (ConfigMap `<name>-config`, key broker.yaml).
 *
 * StreamBus v1.0.1 reads exactly these keys (shared/reference/broker-contract.md §1): server.host, server.port,
 * server.http_port, storage.data_dir, cluster.raft.data_dir, cluster.peers, observability.logging.level.
 * server.broker_id is per pod, so it is passed as --broker-id by the container command, not written here.
 */
import { stringify } from 'yaml';
import { CONFIG_FILE, DATA_DIR, RAFT_DIR, raftPeers, type ClusterModel } from './model.js';

export interface BrokerConfig {
  server: { host: string; port: number; http_port: number };
  storage: { data_dir: string };
  cluster: { raft: { data_dir: string }; peers: string[] };
  observability: { logging: { level: string } };
}

export function brokerConfig(m: ClusterModel): BrokerConfig {
  return {
    server: { host: '0.0.0.0', port: m.ports.client, http_port: m.ports.http },
    storage: { data_dir: DATA_DIR },
    cluster: { raft: { data_dir: RAFT_DIR }, peers: raftPeers(m) },
    observability: { logging: { level: m.spec.observability?.logging?.level ?? m.spec.config.logLevel } },
  };
}

export function brokerConfigYaml(m: ClusterModel): string {
  return stringify(brokerConfig(m), { lineWidth: 0 });
}

export function configMap(m: ClusterModel, yaml: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: m.names.configMap, namespace: m.namespace, labels: m.labels },
    data: { [CONFIG_FILE]: yaml },
  };
}
