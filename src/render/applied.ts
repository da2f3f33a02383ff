/**
 * What the function itself last applied to a running cluster, read back from the observed composed StatefulSet.
 *
 * Day-2 decisions (src/render/plan.ts) are judged against this, never against the live values an outside actor can
 * change (`kubectl scale` rewrites a live StatefulSet's spec.replicas; an HPA or a hand edit can too):
 *
 *  - Object mode: the provider-kubernetes Object's spec.forProvider.manifest, which only the function writes
 *    (status.atProvider.manifest is the live object and is never read here);
 *  - Direct mode: the composed StatefulSet is the live object, so the function records what it applied in an
 *    annotation on it, streambus.io/applied: {"replicas":3,"raftPort":9093}, and reads the count and the Raft port
 *    from there (a scaler changes spec.replicas, not this annotation, and Crossplane re-applies it every cycle).
 *    Volume templates are read from the live spec: Kubernetes makes volumeClaimTemplates immutable.
 *    A StatefulSet rendered before the annotation existed falls back to its live spec, once; the next apply
 *    writes the annotation.
 *
 * Everything read is `unknown` here: the planner checks it against the schema's bounds before using any of it.
 */
import { obj, type Obj } from '../k8s/json.js';
import { OBJECT_KIND, appliedManifest, isObject } from '../k8s/object.js';
import { RAFT_CLAIM_TEMPLATES, type ClusterModel } from './model.js';

export const APPLIED_ANNOTATION = 'streambus.io/applied';


export interface AppliedTemplate {
  size: unknown;
  storageClassName: unknown;
  /** The template's name (for `raft`: `raft`, or the operator's `raft-data` of an adopted cluster). */
  name: string;
}

export interface Applied {
  /** How the observed StatefulSet is composed: wrapped in an Object, or raw (Direct). */
  format: 'Object' | 'Direct';
  /** Where the values were read, for messages (e.g. `the Object's spec.forProvider.manifest`). */
  source: string;
  replicas: unknown;
  raftPort: unknown;
  /** Volume claim templates by role (data; raft, named raft or raft-data); absent when the applied StatefulSet has none. */
  templates: Partial<Record<'data' | 'raft', AppliedTemplate>>;
}

/** The record the function writes on the StatefulSet it renders (both modes; read back in Direct mode). */
export function appliedRecord(m: ClusterModel): string {
  return JSON.stringify({ replicas: m.replicas, raftPort: m.ports.raft });
}

/** Adds the applied record to a rendered StatefulSet's metadata (not the pod template: it never rolls the pods). */
export function withAppliedRecord(sts: Obj, m: ClusterModel): Obj {
  const meta = obj(sts.metadata) ?? {};
  return { ...sts, metadata: { ...meta, annotations: { ...(obj(meta.annotations) ?? {}), [APPLIED_ANNOTATION]: appliedRecord(m) } } };
}

function raftPortOf(sts: Obj): unknown {
  const containers = obj(obj(obj(sts.spec)?.template)?.spec)?.containers;
  if (!Array.isArray(containers)) return undefined;
  for (const c of containers) {
    const ports = obj(c)?.ports;
    if (!Array.isArray(ports)) continue;
    for (const p of ports) if (obj(p)?.name === 'raft') return obj(p)!.containerPort;
  }
  return undefined;
}

function templatesOf(sts: Obj): Applied['templates'] {
  const out: Applied['templates'] = {};
  const vcts = obj(sts.spec)?.volumeClaimTemplates;
  if (!Array.isArray(vcts)) return out;
  for (const t of vcts) {
    const name = obj(obj(t)?.metadata)?.name;
    const spec = obj(obj(t)?.spec);
    const slot = name === 'data' ? 'data' : (RAFT_CLAIM_TEMPLATES as readonly unknown[]).includes(name) ? 'raft' : undefined;
    if (!slot || !spec || Object.hasOwn(out, slot)) continue;
    out[slot] = { size: obj(obj(spec.resources)?.requests)?.storage, storageClassName: spec.storageClassName, name: name as string };
  }
  return out;
}

export type ReadApplied = { ok: true; applied?: Applied } | { ok: false; message: string };

/**
 * Reads what was last applied from the observed composed resource `statefulset` (either format), or nothing when
 * the cluster has not been composed yet. An observed resource that is neither a StatefulSet nor an Object carrying
 * one is refused: judging changes against nothing would let every change through.
 */
export function readApplied(observed: Obj | undefined): ReadApplied {
  if (!observed) return { ok: true };
  if (isObject(observed) || observed.kind === OBJECT_KIND) {
    const m = appliedManifest(observed);
    if (!m || m.kind !== 'StatefulSet') {
      return { ok: false, message: 'the observed Object "statefulset" carries no StatefulSet in spec.forProvider.manifest; cannot tell what the cluster runs' };
    }
    return {
      ok: true,
      applied: { format: 'Object', source: "the Object's spec.forProvider.manifest", replicas: obj(m.spec)?.replicas, raftPort: raftPortOf(m), templates: templatesOf(m) },
    };
  }
  if (observed.kind !== 'StatefulSet') {
    return { ok: false, message: `the observed composed resource "statefulset" is a ${String(observed.kind).slice(0, 64)}, not a StatefulSet or an Object` };
  }
  const note = obj(obj(observed.metadata)?.annotations)?.[APPLIED_ANNOTATION];
  if (note === undefined) {
    // Rendered by a version that did not write the record: the live spec, once (bounds-checked by the planner).
    return {
      ok: true,
      applied: { format: 'Direct', source: `the live StatefulSet (no ${APPLIED_ANNOTATION} annotation yet)`, replicas: obj(observed.spec)?.replicas, raftPort: raftPortOf(observed), templates: templatesOf(observed) },
    };
  }
  let rec: Obj | undefined;
  try {
    rec = typeof note === 'string' && note.length <= 1024 ? obj(JSON.parse(note)) : undefined;
  } catch {
    rec = undefined;
  }
  const source = `the StatefulSet's ${APPLIED_ANNOTATION} annotation`;
  if (!rec) return { ok: true, applied: { format: 'Direct', source, replicas: undefined, raftPort: undefined, templates: templatesOf(observed) } };
  return { ok: true, applied: { format: 'Direct', source, replicas: rec.replicas, raftPort: rec.raftPort, templates: templatesOf(observed) } };
}
