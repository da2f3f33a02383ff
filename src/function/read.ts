/**
 * The read step of RunFunction: everything the pure core needs, taken from the request and checked, or the FATAL
 * refusal naming the field.
 *
 *   hostile-input guard → observed XR → function input → identity → validated spec → what the function last
 *   applied (src/render/applied.ts, either composition mode) → platform policy
 */
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { FunctionInput, StreamBusClusterSpec, type FunctionInputSpec } from '../api/schema.js';
import type { ClusterIdentity } from '../render/model.js';
import { readApplied, type Applied } from '../render/applied.js';
import { formatZodError } from './errors.js';
import { checkRequest } from './guard.js';
import { resolveIdentity } from './identity.js';
import { checkPolicy } from './policy.js';
import type { Lru } from './cache.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

export interface ReadOk {
  ok: true;
  xr: Obj;
  platform: FunctionInputSpec;
  identity: ClusterIdentity;
  xrName: string;
  spec: StreamBusClusterSpec;
  /** The spec as received (Crossplane's own fields stripped), serialised: the cache key of everything derived. */
  specKey: string;
  annotations: Obj;
  applied: Applied | undefined;
}
export interface ReadRefused {
  ok: false;
  step: string;
  reason?: string;
  message: string;
}

export type SpecResult = ReturnType<typeof StreamBusClusterSpec.safeParse>;

export function readRequest(req: RunFunctionRequest, specCache: Lru<SpecResult>): ReadOk | ReadRefused {
  // Hostile input (depth, size, NaN, __proto__, Kubernetes syntax of map keys): refused before validation.
  const refused = checkRequest(req);
  if (refused) return { ok: false, step: refused.step, message: refused.message };
  const xr = obj(req.observed?.composite?.resource);
  if (!xr) return { ok: false, step: 'ReadCompositeResource', message: 'the request carries no observed composite resource' };

  const input = FunctionInput.safeParse(req.input ?? {}, { reportInput: true });
  if (!input.success) return { ok: false, step: 'ValidateInput', message: formatZodError('input', input.error) };

  const id = resolveIdentity(xr);
  if (!id.ok) return { ok: false, step: 'ResolveIdentity', message: id.message };

  const rawSpec = xr.spec === undefined ? {} : stripCrossplaneFields(xr.spec);
  const specKey = JSON.stringify(rawSpec);
  const spec = specCache.get(specKey, () => StreamBusClusterSpec.safeParse(rawSpec, { reportInput: true }), () => specKey.length * 2);
  if (!spec.success) return { ok: false, step: 'ValidateSpec', message: formatZodError('spec', spec.error) };

  const applied = readApplied(obj(req.observed?.resources?.statefulset?.resource));
  if (!applied.ok) return { ok: false, step: 'ReadAppliedState', reason: 'AppliedStateUnreadable', message: `resources.statefulset: ${applied.message}` };

  const platform = input.data.spec;
  const annotations = obj(obj(xr.metadata)?.annotations) ?? {};
  const appliedReplicas = typeof applied.applied?.replicas === 'number' ? applied.applied.replicas : undefined;
  const policy = checkPolicy(spec.data, platform, id.identity, annotations, appliedReplicas);
  if (policy) return { ok: false, step: 'ApplyPlatformPolicy', reason: 'PolicyViolation', message: policy };

  return { ok: true, xr, platform, identity: id.identity, xrName: id.xrName, spec: spec.data, specKey, annotations, applied: applied.applied };
}

/** Crossplane adds its own fields to a legacy XR's spec; they are not part of the StreamBusCluster API. */
const CROSSPLANE_SPEC_FIELDS = new Set([
  'claimRef',
  'compositionRef',
  'compositionRevisionRef',
  'compositionRevisionSelector',
  'compositionSelector',
  'compositionUpdatePolicy',
  'resourceRefs',
  'writeConnectionSecretToRef',
  'publishConnectionDetailsTo',
  'environmentConfigRefs',
  'crossplane',
]);

function stripCrossplaneFields(spec: unknown): unknown {
  const s = obj(spec);
  if (!s) return spec;
  const out: Obj = {};
  for (const [k, v] of Object.entries(s)) if (!CROSSPLANE_SPEC_FIELDS.has(k)) out[k] = v;
  return out;
}
