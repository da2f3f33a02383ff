/**
 * Observed-state fixtures: what Crossplane would observe of a cluster in a given state, built from the function's
 * own desired output (so fixtures follow the render), in Object mode (wrapped, status.atProvider.manifest) or
 * Direct mode (the objects themselves), annotated with their composition-resource name as Crossplane does.
 */
import { Ready } from '@crossplane-org/function-sdk-typescript';
import { runFunction } from '../../src/function/handler.js';
import { request } from './fixtures.js';

type Obj = Record<string, any>;

export interface ClusterState {
  /** StatefulSet status fields (replicas etc. default to a fully ready cluster). */
  sts?: Obj;
  /** metadata.generation of the observed StatefulSet. */
  generation?: number;
  /** Change the observed StatefulSet spec (e.g. an older replica count or volume size). */
  mutateSts?: (sts: Obj) => void;
  /** Leave these composition resources out of the observed state. */
  absent?: string[];
}

export function readyStsStatus(replicas: number, generation = 1): Obj {
  return { observedGeneration: generation, replicas, readyReplicas: replicas, currentReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas, currentRevision: 'rev-1', updateRevision: 'rev-1' };
}

function statusFor(kind: string, manifest: Obj, state: ClusterState): Obj | undefined {
  switch (kind) {
    case 'StatefulSet':
      return { ...readyStsStatus(manifest.spec.replicas, state.generation ?? 1), ...(state.sts ?? {}) };
    case 'ResourceQuota':
      return { hard: manifest.spec.hard, used: {} };
    case 'PodDisruptionBudget':
      return { observedGeneration: 1, currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1, expectedPods: 3 };
    default:
      return undefined;
  }
}

/** Observed composed resources for `xr` rendered with `input`, in the state described. */
export function observedFor(xr: Obj, input: Obj, state: ClusterState = {}): Record<string, Obj> {
  const rsp = runFunction(request(xr, { input }));
  const out: Record<string, Obj> = {};
  for (const [key, res] of Object.entries(rsp.desired!.resources)) {
    if (state.absent?.includes(key)) continue;
    const desired = structuredClone(res.resource as Obj);
    const wrapped = desired.kind === 'Object';
    const manifest = wrapped ? desired.spec.forProvider.manifest : desired;
    manifest.metadata.generation = key === 'statefulset' ? (state.generation ?? 1) : 1;
    manifest.metadata.uid = `uid-${key}`;
    if (key === 'statefulset') state.mutateSts?.(manifest);
    const status = statusFor(manifest.kind, manifest, state);
    if (status) manifest.status = status;
    const annotations = { 'crossplane.io/composition-resource-name': key };
    out[key] = wrapped
      ? { ...desired, metadata: { ...desired.metadata, annotations }, status: { atProvider: { manifest }, conditions: [{ type: 'Ready', status: 'True', reason: 'Available' }, { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' }] } }
      : { ...manifest, metadata: { ...manifest.metadata, annotations: { ...(manifest.metadata.annotations ?? {}), ...annotations } } };
  }
  void Ready;
  return out;
}
