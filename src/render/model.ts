/**
 * The cluster model: everything the resource builders need, derived once from the validated spec,
 * the platform defaults (function input) and the cluster's identity. Pure: no I/O, no clock.
 * Like Strimzi's model classes, builders read the model and never the raw spec defaults.
 */
import type { FunctionInputSpec, StreamBusClusterSpec } from '../api/schema.js';
import { DNS1035_LABEL } from '../k8s/names.js';

export interface ClusterIdentity {
  /** Cluster name: the claim's name (or the XR's when there is no claim). Names every composed object. */
  name: string;
  /** Namespace the brokers live in: the claim's namespace. */
  namespace: string;
}

export interface Ports {
  client: number;
  http: number;
  raft: number;
}

export interface ClusterModel extends ClusterIdentity {
  spec: StreamBusClusterSpec;
  input: FunctionInputSpec;
  replicas: number;
  image: string;
  imageTag: string;
  ports: Ports;
  clusterDomain: string;
  names: {
    statefulSet: string;
    headlessService: string;
    clientService: string;
    configMap: string;
    /**
     * The Raft volume claim template: `raft` (PVCs raft-<pod>), or `raft-data` for a cluster adopted from the StreamBus
     * operator, whose StatefulSet named it so (PVCs raft-data-<pod>); see plan.ts and docs/upgrading.md.
     */
    raftClaimTemplate: RaftClaimTemplate;
  };
  /** Labels on every composed object. */
  labels: Record<string, string>;
  /** The StatefulSet selector: stable for the life of the cluster, never user-extended. */
  selectorLabels: Record<string, string>;
  storageClass: string | undefined;
  /**
   * Storage the ResourceQuota allows, in bytes, when it must differ from replicas × (size + raftSize): while a
   * volume size change is refused, the claims may be expanded by hand to the requested size, so the quota allows
   * the larger of the kept and the requested sizes.
   */
  quotaStorageBytes?: number;
}

/** Names the Raft volume claim template may have: the function's own, and the StreamBus operator's. */
export const RAFT_CLAIM_TEMPLATES = ['raft', 'raft-data'] as const;
export type RaftClaimTemplate = (typeof RAFT_CLAIM_TEMPLATES)[number];

/** Paths inside the broker container. The image's entrypoint binary and the dirs its user (1000) owns. */
export const BROKER_BINARY = '/app/streambus-broker';
export const CONFIG_DIR = '/etc/streambus';
export const CONFIG_FILE = 'broker.yaml';
export const DATA_DIR = '/data';
export const RAFT_DIR = '/raft';
export const BROKER_UID = 1000;

/** Longest cluster name: the StatefulSet's pods carry `controller-revision-hash: <name>-<10 chars>` (≤ 63). */
export const MAX_NAME_LENGTH = 52;

/** Returns an error message when `name` cannot name a StreamBus cluster, or undefined when it can. */
export function checkClusterName(name: string): string | undefined {
  if (!DNS1035_LABEL.test(name)) {
    return `"${name}" must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter) because it names the cluster's Services`;
  }
  if (name.length > MAX_NAME_LENGTH) {
    return `"${name}" is ${name.length} characters; at most ${MAX_NAME_LENGTH} fit the StatefulSet's pod labels (controller-revision-hash)`;
  }
  return undefined;
}

export function buildModel(id: ClusterIdentity, spec: StreamBusClusterSpec, input: FunctionInputSpec): ClusterModel {
  const imageTag = spec.image.tag ?? spec.version ?? input.defaultImageTag;
  const repository = spec.image.repository ?? input.defaultImageRepository;
  const selectorLabels = {
    'app.kubernetes.io/name': 'streambus-broker',
    'app.kubernetes.io/instance': id.name,
  };
  return {
    ...id,
    spec,
    input,
    replicas: spec.replicas,
    image: `${repository}:${imageTag}`,
    imageTag,
    ports: {
      client: spec.config.port,
      http: spec.config.httpPort,
      raft: spec.config.raftPort ?? spec.config.grpcPort,
    },
    clusterDomain: input.clusterDomain,
    names: {
      statefulSet: id.name,
      headlessService: `${id.name}-headless`,
      clientService: id.name,
      configMap: `${id.name}-config`,
      raftClaimTemplate: 'raft',
    },
    labels: {
      ...selectorLabels,
      'app.kubernetes.io/component': 'broker',
      'app.kubernetes.io/part-of': 'streambus',
      'app.kubernetes.io/managed-by': 'function-streambus',
      'app.kubernetes.io/version': sanitizeLabelValue(imageTag),
    },
    selectorLabels,
    storageClass: spec.storage.class ?? input.defaultStorageClass,
  };
}

/** A label value (≤ 63 chars of [A-Za-z0-9-_.], alphanumeric at both ends). */
function sanitizeLabelValue(v: string): string {
  const s = v.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return s;
}

/** Stable DNS name of broker `ordinal`: <pod>.<headless>.<ns>.svc.<clusterDomain>. */
export function podFqdn(m: ClusterModel, ordinal: number): string {
  return `${m.names.statefulSet}-${ordinal}.${m.names.headlessService}.${m.namespace}.svc.${m.clusterDomain}`;
}

/** Broker id of pod `ordinal`: ordinal + 1 (ids must be unique and non-zero). */
export function brokerId(ordinal: number): number {
  return ordinal + 1;
}

/** `id:host:port` for every broker, identical on every node (the broker's static Raft membership). */
export function raftPeers(m: ClusterModel): string[] {
  const peers: string[] = [];
  for (let i = 0; i < m.replicas; i++) peers.push(`${brokerId(i)}:${podFqdn(m, i)}:${m.ports.raft}`);
  return peers;
}
