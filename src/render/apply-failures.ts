/**
 * Composed resources the cluster refused, surfaced on the claim.
 *
 * In Object mode provider-kubernetes applies each wrapped object and reports the apiserver's answer on the Object
 * only: `Synced=False, reason ReconcileError, message "cannot create object: StatefulSet.apps "x" is invalid: ..."`.
 * The claim would otherwise only say that the StatefulSet "has not been observed yet". This reads every observed
 * composed resource's conditions and names each refused one — composition resource, kind, object and the
 * apiserver's reason — so the claim's first function condition (ResourcesApplied) tells a person what is wrong.
 */
import { obj, type Obj } from '../k8s/json.js';
import type { Manifest } from './index.js';

export interface ApplyFailure {
  /** Composition resource name (the desired-resource key), e.g. `statefulset`. */
  key: string;
  /** `StatefulSet default/streambus-secure`, from the wrapped manifest (or the resource itself). */
  object: string;
  /** The provider's message: the apiserver's reason. */
  message: string;
}

/** Longest provider message quoted on the claim (the apiserver's reasons are short; stack-like dumps are not). */
const MAX_MESSAGE = 600;

function describe(resource: Obj): string {
  const wrapped = obj(obj(obj(resource.spec)?.forProvider)?.manifest);
  const target = resource.kind === 'Object' && wrapped ? wrapped : resource;
  const meta = obj(target.metadata) ?? {};
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${String(target.kind ?? 'object')} ${ns}${String(meta.name ?? '?')}`;
}

/** Every observed composed resource whose Synced condition is False, in key order. */
export function applyFailures(observed: Record<string, Manifest | undefined>): ApplyFailure[] {
  const out: ApplyFailure[] = [];
  for (const key of Object.keys(observed).sort()) {
    const resource = obj(observed[key]);
    const conditions = obj(resource?.status)?.conditions;
    if (!resource || !Array.isArray(conditions)) continue;
    const synced = conditions.map(obj).find((c) => c?.type === 'Synced');
    if (synced?.status !== 'False') continue;
    const raw = typeof synced.message === 'string' && synced.message ? synced.message : String(synced.reason ?? 'not synced');
    out.push({ key, object: describe(resource), message: raw.length > MAX_MESSAGE ? `${raw.slice(0, MAX_MESSAGE)}…` : raw });
  }
  return out;
}

export function applyFailureMessage(failures: readonly ApplyFailure[]): string {
  return failures.map((f) => `${f.key} (${f.object}) was refused: ${f.message}`).join('; ');
}
