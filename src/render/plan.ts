/**
 * Day-2 planning: the step of the pure core between the validated spec and the model.
 *
 *   validated spec + platform input + what the function last applied (src/render/applied.ts) + the XR's override
 *   annotations → decisions (what is kept, and why) → planned spec → validated again → model
 *
 * Rules (each refusal names the field, the requested and the kept value, and what to do instead):
 *  - composition mode: a running cluster composed as provider-kubernetes Objects is not switched to Direct
 *    composition (or back) unless the XR carries streambus.io/allow-mode-switch: "true" — the switch deletes the old
 *    composed resources and creates new ones. Refused: FATAL.
 *  - replicas: Raft membership is static in StreamBus v1.0.1 (broker-contract.md §2): a new count bootstraps a
 *    conflicting log. The applied count is kept unless the XR carries streambus.io/allow-replica-change: "true".
 *  - Raft port: every broker dials every other on it; brokers rolled onto a new port never reach the old ones. Kept.
 *  - storage.size / raftSize / class: volumeClaimTemplates are immutable and a smaller or differently-classed volume
 *    is a new, empty one. The applied templates are kept; the ResourceQuota leaves room to expand the claims by hand.
 *
 *  - Raft volume claim template name: `raft`, or `raft-data` when the XR carries
 *    streambus.io/raft-claim-template: raft-data (a cluster adopted from the StreamBus operator, whose StatefulSet
 *    named its template so: the new StatefulSet's pods then claim the operator's PVCs raft-data-<pod>, see
 *    docs/upgrading.md). Immutable like every template: the applied name is kept.
 *
 * Applied values outside the schema's bounds (NaN, 0, 100000, 2.5, a size that is not a quantity) are refused as
 * FATAL, never adopted. The planned spec is validated again (zod and the cross-field rules) so that a kept value can
 * never combine with a requested one into an object Kubernetes or the brokers would reject (e.g. the kept Raft port
 * 9093 with config.port moved to 9093).
 */
import { MAX_REPLICAS, MIN_REPLICAS, STORAGE_SIZE, StreamBusClusterSpec, type FunctionInputSpec } from '../api/schema.js';
import { DNS1123_SUBDOMAIN } from '../k8s/names.js';
import { parseQuantity } from '../k8s/quantity.js';
import type { Applied } from './applied.js';
import { RAFT_CLAIM_TEMPLATES, buildModel, type ClusterIdentity, type ClusterModel, type RaftClaimTemplate } from './model.js';

export const ALLOW_REPLICA_CHANGE_ANNOTATION = 'streambus.io/allow-replica-change';
export const ALLOW_MODE_SWITCH_ANNOTATION = 'streambus.io/allow-mode-switch';
export const RAFT_CLAIM_TEMPLATE_ANNOTATION = 'streambus.io/raft-claim-template';

/** A requested change that was not made: the applied value is kept. Reported as a WARNING. */
export interface Decision {
  field: string;
  reason: string;
  message: string;
}

export interface PlanInput {
  identity: ClusterIdentity;
  spec: StreamBusClusterSpec;
  platform: FunctionInputSpec;
  /** metadata.annotations of the XR (the overrides). */
  annotations: Record<string, unknown>;
  /** What the function last applied, or undefined for a cluster not composed yet. */
  applied: Applied | undefined;
}

export type Plan =
  | { ok: true; model: ClusterModel; kept: Decision[] }
  /** FATAL: nothing is rendered this cycle. `reason` is the result's reason, `message` starts with the field. */
  | { ok: false; reason: string; message: string };

const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
const isReplicas = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= MIN_REPLICAS && v <= MAX_REPLICAS;
const isSize = (v: unknown): v is string => typeof v === 'string' && v.length <= 64 && STORAGE_SIZE.test(v);
const isClass = (v: unknown): v is string | undefined => v === undefined || (typeof v === 'string' && v.length <= 253 && DNS1123_SUBDOMAIN.test(v));
const showValue = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v) ?? 'nothing').slice(0, 64);

function outOfBounds(applied: Applied, what: string, value: unknown, bounds: string): Plan {
  return {
    ok: false,
    reason: 'AppliedStateInvalid',
    message:
      `${what}: ${applied.source} holds ${showValue(value)}, outside ${bounds}; refusing to adopt it. ` +
      'Restore the composed StatefulSet (or its Object) to what the function rendered',
  };
}

export function planCluster(p: PlanInput): Plan {
  const { spec, platform, applied } = p;
  const storageClassOf = (s: StreamBusClusterSpec) => s.storage.class ?? platform.defaultStorageClass;
  const requestedRaftClaim = p.annotations[RAFT_CLAIM_TEMPLATE_ANNOTATION];
  if (requestedRaftClaim !== undefined && !(RAFT_CLAIM_TEMPLATES as readonly unknown[]).includes(requestedRaftClaim)) {
    return {
      ok: false,
      reason: 'InvalidRaftClaimTemplate',
      message:
        `metadata.annotations["${RAFT_CLAIM_TEMPLATE_ANNOTATION}"]: ${showValue(requestedRaftClaim)} is not a Raft volume claim template name; ` +
        'use "raft" (the default) or "raft-data" (a cluster adopted from the StreamBus operator, see docs/upgrading.md)',
    };
  }
  let raftClaim: RaftClaimTemplate = (requestedRaftClaim as RaftClaimTemplate | undefined) ?? 'raft';
  if (!applied) return finish(p, spec, [], undefined, undefined, raftClaim);

  // Composition mode.
  if (applied.format !== platform.mode && p.annotations[ALLOW_MODE_SWITCH_ANNOTATION] !== 'true') {
    return {
      ok: false,
      reason: 'ModeSwitchRefused',
      message:
        `input.spec.mode: this running cluster is composed in ${applied.format} mode, the Composition now asks for ${platform.mode}; ` +
        `switching deletes the composed ${applied.format === 'Object' ? 'Objects' : 'resources'} and creates new ones. To switch on purpose, ` +
        `annotate the claim ${ALLOW_MODE_SWITCH_ANNOTATION}="true" (and orphan the StatefulSet and its volumes first, see docs/upgrading.md)`,
    };
  }

  const kept: Decision[] = [];
  const out: StreamBusClusterSpec = { ...spec, storage: { ...spec.storage }, config: { ...spec.config } };

  // Replicas.
  const allowReplicas = p.annotations[ALLOW_REPLICA_CHANGE_ANNOTATION] === 'true';
  if (!allowReplicas) {
    if (!isReplicas(applied.replicas)) return outOfBounds(applied, 'spec.replicas', applied.replicas, `the schema's bounds (a whole number ${MIN_REPLICAS}-${MAX_REPLICAS})`);
    if (applied.replicas !== spec.replicas) {
      out.replicas = applied.replicas;
      kept.push({
        field: 'spec.replicas',
        reason: 'ReplicaChangeRefused',
        message:
          `spec.replicas: holding ${applied.replicas} brokers (requested ${spec.replicas}): StreamBus Raft membership is static, ` +
          `a changed count would split the cluster; to re-form it on purpose, annotate the claim ${ALLOW_REPLICA_CHANGE_ANNOTATION}="true"`,
      });
    }
  }

  // Raft port.
  const raftField = spec.config.raftPort !== undefined ? 'spec.config.raftPort' : 'spec.config.grpcPort';
  if (!isPort(applied.raftPort)) return outOfBounds(applied, raftField, applied.raftPort, 'a port (a whole number 1-65535)');
  const wantRaft = spec.config.raftPort ?? spec.config.grpcPort;
  if (applied.raftPort !== wantRaft) {
    out.config.raftPort = applied.raftPort;
    kept.push({
      field: raftField,
      reason: 'RaftPortChangeRefused',
      message:
        `${raftField}: keeping Raft port ${applied.raftPort} (requested ${wantRaft}): ` +
        'brokers rolled onto a new Raft port cannot reach the others, and the cluster would lose quorum',
    });
  }

  // Volumes.
  const sizes: { field: 'size' | 'raftSize'; tmpl: 'data' | 'raft' }[] = [
    { field: 'size', tmpl: 'data' },
    { field: 'raftSize', tmpl: 'raft' },
  ];
  let quotaStorageBytes: number | undefined;
  for (const { field, tmpl } of sizes) {
    const t = applied.templates[tmpl];
    if (!t) continue;
    if (!isSize(t.size)) return outOfBounds(applied, `spec.storage.${field}`, t.size, 'a positive storage quantity such as 10Gi');
    const want = spec.storage[field];
    const a = parseQuantity(t.size)!;
    const b = parseQuantity(want)!;
    if (a === b) {
      out.storage[field] = t.size; // the same size written differently: render it as applied
      continue;
    }
    out.storage[field] = t.size;
    quotaStorageBytes = 0;
    const shrink = b < a;
    kept.push({
      field: `spec.storage.${field}`,
      reason: shrink ? 'StorageShrinkRefused' : 'StorageChangeRefused',
      message: shrink
        ? `spec.storage.${field}: keeping ${t.size} (requested ${want}): volumes cannot shrink without losing the ${tmpl} of every broker`
        : `spec.storage.${field}: keeping ${t.size} (requested ${want}): the StatefulSet's ${tmpl} volume template is immutable; ` +
          `expand the existing claims instead (kubectl patch pvc ${tmpl}-<pod> with the new size, on a StorageClass that allows expansion)`,
    });
  }

  // The Raft volume claim template's name: immutable, the applied one is kept.
  const appliedRaft = applied.templates.raft?.name as RaftClaimTemplate | undefined;
  if (appliedRaft !== undefined && appliedRaft !== raftClaim) {
    if (requestedRaftClaim !== undefined) {
      kept.push({
        field: `metadata.annotations["${RAFT_CLAIM_TEMPLATE_ANNOTATION}"]`,
        reason: 'RaftClaimTemplateChangeRefused',
        message:
          `metadata.annotations["${RAFT_CLAIM_TEMPLATE_ANNOTATION}"]: keeping the Raft volume claim template ${appliedRaft} (requested ${raftClaim}): ` +
          "a StatefulSet's volume claim templates are immutable, and a renamed template would give every broker a new, empty Raft volume",
      });
    }
    raftClaim = appliedRaft;
  }

  let storageClass: string | null | undefined;
  const data = applied.templates.data;
  if (data) {
    if (!isClass(data.storageClassName)) return outOfBounds(applied, 'spec.storage.class', data.storageClassName, 'a StorageClass name');
    const have = data.storageClassName ?? null;
    const want = storageClassOf(spec);
    if ((have ?? undefined) !== want) {
      storageClass = have;
      kept.push({
        field: 'spec.storage.class',
        reason: 'StorageClassChangeRefused',
        message:
          `spec.storage.class: keeping ${have ?? '(cluster default)'} (requested ${want ?? '(cluster default)'}): ` +
          'the volumes of a running cluster cannot move to another StorageClass; create a new cluster and migrate the data',
      });
    }
  }

  if (quotaStorageBytes !== undefined) {
    // A refused size change keeps the templates; the quota leaves room for expanding the claims by hand.
    const larger = (x: string, y: string) => Math.max(parseQuantity(x) ?? 0, parseQuantity(y) ?? 0);
    quotaStorageBytes = out.replicas * (larger(spec.storage.size, out.storage.size) + larger(spec.storage.raftSize, out.storage.raftSize));
  }
  return finish(p, out, kept, storageClass, quotaStorageBytes, raftClaim);
}

/** Validates the planned spec again, then builds the model. */
function finish(p: PlanInput, planned: StreamBusClusterSpec, kept: Decision[], storageClass: string | null | undefined, quotaStorageBytes: number | undefined, raftClaimTemplate: RaftClaimTemplate): Plan {
  if (kept.length > 0) {
    const problem = revalidate(planned, kept);
    if (problem) return { ok: false, reason: 'KeptValuesConflict', message: problem };
  }
  let model = buildModel(p.identity, planned, p.platform);
  if (raftClaimTemplate !== model.names.raftClaimTemplate) model = { ...model, names: { ...model.names, raftClaimTemplate } };
  if (storageClass !== undefined) model = { ...model, storageClass: storageClass ?? undefined };
  if (quotaStorageBytes !== undefined) model = { ...model, quotaStorageBytes };
  return { ok: true, model, kept };
}

/** The planned spec through the schema again; a problem names the fields involved and the values kept. */
function revalidate(planned: StreamBusClusterSpec, kept: Decision[]): string | undefined {
  const keptList = kept.map((k) => k.field).join(', ');
  // Ports first, with the precise fields: the kept Raft port against the requested client and HTTP ports.
  const raftKept = kept.find((k) => k.reason === 'RaftPortChangeRefused');
  if (raftKept) {
    const raft = planned.config.raftPort ?? planned.config.grpcPort;
    for (const [field, port] of [['spec.config.port', planned.config.port], ['spec.config.httpPort', planned.config.httpPort]] as const) {
      if (port === raft) {
        return (
          `${field}: ${port} is the Raft port the running cluster keeps (${raftKept.field} cannot change); ` +
          `two ports ${port} would be rendered; choose another ${field.slice('spec.config.'.length)}`
        );
      }
    }
  }
  const again = StreamBusClusterSpec.safeParse(planned);
  if (again.success) return undefined;
  const issues = again.error.issues
    .slice(0, 3)
    .map((i) => `spec.${i.path.map(String).join('.')}: ${i.message}`)
    .join('; ');
  return `${issues} (with the values kept from the running cluster: ${keptList})`;
}
