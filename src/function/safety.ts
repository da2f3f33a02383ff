/**
 * Day-2 safety: changes that would lose data or break a running cluster are refused, and the last good value is
 * kept, so the desired state never destroys anything.
 *
 * Judged against the observed StatefulSet (the cluster as it runs), before rendering:
 *  - storage.size / storage.raftSize / storage.class: volumeClaimTemplates are immutable, and a smaller or
 *    differently-classed volume would mean new, empty volumes. The observed templates are kept.
 *  - replicas: Raft membership is static in StreamBus v1.0.1 (broker-contract.md §2): a new replica count
 *    bootstraps a conflicting log. The observed count is kept unless the claim carries the annotation
 *    streambus.io/allow-replica-change: "true".
 * Each refusal names the field, the requested and the kept value, and what to do instead.
 */
import type { StreamBusClusterSpec } from '../api/schema.js';
import type { ClusterModel } from '../render/model.js';
import { parseQuantity } from '../render/quantity.js';

export const ALLOW_REPLICA_CHANGE_ANNOTATION = 'streambus.io/allow-replica-change';

export interface Refusal {
  field: string;
  reason: string;
  message: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

interface ObservedTemplate {
  size?: string;
  storageClassName?: string;
}

function observedTemplates(sts: Obj): Record<string, ObservedTemplate> {
  const out: Record<string, ObservedTemplate> = {};
  const vcts = obj(sts.spec)?.volumeClaimTemplates;
  if (!Array.isArray(vcts)) return out;
  for (const t of vcts) {
    const name = obj(obj(t)?.metadata)?.name;
    const spec = obj(obj(t)?.spec);
    if (typeof name !== 'string' || !spec) continue;
    const size = obj(obj(spec.resources)?.requests)?.storage;
    out[name] = {
      ...(typeof size === 'string' || typeof size === 'number' ? { size: String(size) } : {}),
      ...(typeof spec.storageClassName === 'string' ? { storageClassName: spec.storageClassName } : {}),
    };
  }
  return out;
}

function raftPortOf(sts: Obj): number | undefined {
  const containers = obj(obj(obj(sts.spec)?.template)?.spec)?.containers;
  if (!Array.isArray(containers)) return undefined;
  for (const c of containers) {
    const ports = obj(c)?.ports;
    if (!Array.isArray(ports)) continue;
    for (const p of ports) if (obj(p)?.name === 'raft' && typeof obj(p)?.containerPort === 'number') return obj(p)!.containerPort as number;
  }
  return undefined;
}

export interface Guarded {
  spec: StreamBusClusterSpec;
  /** Set when the observed storage class must be kept even if it differs from the platform default. */
  storageClass?: string | null;
  refusals: Refusal[];
}

/**
 * Returns the spec to render (requested values where safe, observed values where not) and the refusals.
 * `storageClassOf(spec)` gives the class the render would use (spec or platform default).
 */
export function guard(
  spec: StreamBusClusterSpec,
  observedSts: Obj | undefined,
  xrAnnotations: Record<string, unknown>,
  storageClassOf: (s: StreamBusClusterSpec) => string | undefined,
): Guarded {
  if (!observedSts) return { spec, refusals: [] };
  const refusals: Refusal[] = [];
  const out: StreamBusClusterSpec = { ...spec, storage: { ...spec.storage } };
  let storageClass: string | null | undefined;

  // Replicas.
  const observedReplicas = obj(observedSts.spec)?.replicas;
  if (typeof observedReplicas === 'number' && observedReplicas !== spec.replicas) {
    if (xrAnnotations[ALLOW_REPLICA_CHANGE_ANNOTATION] === 'true') {
      // Explicit override: the user accepts re-forming the Raft group.
    } else {
      out.replicas = observedReplicas;
      refusals.push({
        field: 'spec.replicas',
        reason: 'ReplicaChangeRefused',
        message:
          `spec.replicas: holding ${observedReplicas} brokers (requested ${spec.replicas}): StreamBus Raft membership is static, ` +
          `a changed count would split the cluster; to re-form it on purpose, annotate the claim ${ALLOW_REPLICA_CHANGE_ANNOTATION}="true"`,
      });
    }
  }

  // Raft port: every broker dials every other on it; a broker rolled onto a new port would never reach the old
  // ones (and the NetworkPolicy would move first), so the running port is kept.
  const observedRaft = raftPortOf(observedSts);
  const wantRaft = spec.config.raftPort ?? spec.config.grpcPort;
  if (observedRaft !== undefined && observedRaft !== wantRaft) {
    out.config = { ...spec.config, raftPort: observedRaft };
    refusals.push({
      field: spec.config.raftPort !== undefined ? 'spec.config.raftPort' : 'spec.config.grpcPort',
      reason: 'RaftPortChangeRefused',
      message:
        `${spec.config.raftPort !== undefined ? 'spec.config.raftPort' : 'spec.config.grpcPort'}: keeping Raft port ${observedRaft} (requested ${wantRaft}): ` +
        'brokers rolled onto a new Raft port cannot reach the others, and the cluster would lose quorum',
    });
  }

  // Volumes.
  const seen = observedTemplates(observedSts);
  const checkSize = (tmpl: 'data' | 'raft', field: 'size' | 'raftSize') => {
    const was = seen[tmpl]?.size;
    const want = spec.storage[field];
    if (was === undefined || was === want) return;
    const a = parseQuantity(was);
    const b = parseQuantity(want);
    if (a !== undefined && b !== undefined && a === b) return;
    out.storage[field] = was;
    const shrink = a !== undefined && b !== undefined && b < a;
    refusals.push({
      field: `spec.storage.${field}`,
      reason: shrink ? 'StorageShrinkRefused' : 'StorageChangeRefused',
      message: shrink
        ? `spec.storage.${field}: keeping ${was} (requested ${want}): volumes cannot shrink without losing the ${tmpl} of every broker`
        : `spec.storage.${field}: keeping ${was} (requested ${want}): the StatefulSet's ${tmpl} volume template is immutable; ` +
          `expand the existing claims instead (kubectl patch pvc ${tmpl}-<pod> with the new size, on a StorageClass that allows expansion)`,
    });
  };
  checkSize('data', 'size');
  checkSize('raft', 'raftSize');

  const wantClass = storageClassOf(spec);
  const haveClass = seen.data ? (seen.data.storageClassName ?? null) : undefined;
  if (haveClass !== undefined && (haveClass ?? undefined) !== wantClass) {
    storageClass = haveClass;
    refusals.push({
      field: 'spec.storage.class',
      reason: 'StorageClassChangeRefused',
      message:
        `spec.storage.class: keeping ${haveClass ?? '(cluster default)'} (requested ${wantClass ?? '(cluster default)'}): ` +
        'the volumes of a running cluster cannot move to another StorageClass; create a new cluster and migrate the data',
    });
  }
  return { spec: out, refusals, ...(storageClass !== undefined ? { storageClass } : {}) };
}

/** Applies a kept storage class to the model (the model otherwise derives it from spec and platform default). */
export function withStorageClass(m: ClusterModel, storageClass: string | null | undefined): ClusterModel {
  if (storageClass === undefined) return m;
  return { ...m, storageClass: storageClass ?? undefined };
}
