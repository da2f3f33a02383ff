/**
 * RunFunction: the Crossplane layer around the pure core, one straight script:
 *
 *   read     hostile-input guard (guard.ts), the observed XR, the function input, the observed and fetched resources
 *   decide   reconcile() (render/reconcile.ts): the cluster's whole outcome, as data (its caches are sized here,
 *            through the re-exported configureCaches)
 *   write    desired resources with readiness, the XR's status and connection details, conditions, results,
 *            the resources to fetch, the TTL
 *
 * Input errors never drop a composed resource: they return a FATAL result naming the field, and Crossplane applies
 * nothing that cycle (the desired state from earlier pipeline steps is passed through untouched).
 */
import {
  Ready,
  Severity,
  Status,
  Target,
  type Condition,
  type Result,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { FunctionInput } from '../api/schema.js';
import { formatZodError } from '../api/errors.js';
import { obj, type Obj } from '../k8s/json.js';
import { reconcile, TTL_READY_SECONDS, type Manifest, type OutcomeCondition, type Reconciled } from '../render/reconcile.js';
import { checkRequest } from './guard.js';

export {
  CA_REQUIREMENT,
  DEFAULT_CACHE_BYTES,
  DEFAULT_CACHE_ENTRIES,
  TTL_NOT_READY_SECONDS,
  TTL_READY_SECONDS,
  cacheStats,
  configureCaches,
} from '../render/reconcile.js';

/** read → reconcile → write. */
export function runFunction(req: RunFunctionRequest): RunFunctionResponse {
  const rsp: RunFunctionResponse = {
    meta: { tag: req.meta?.tag ?? '', ttl: { seconds: TTL_READY_SECONDS, nanos: 0 } },
    desired: { composite: req.desired?.composite, resources: { ...(req.desired?.resources ?? {}) } },
    results: [],
    context: req.context,
    requirements: undefined,
    conditions: [],
  };
  // Hostile input (depth, size, NaN, __proto__, Kubernetes syntax of map keys): refused before validation.
  const refused = checkRequest(req);
  if (refused) return fatal(rsp, refused.step, refused.message);
  const xr = obj(req.observed?.composite?.resource);
  if (!xr) return fatal(rsp, 'ReadCompositeResource', 'the request carries no observed composite resource');
  const input = FunctionInput.safeParse(req.input ?? {}, { reportInput: true });
  if (!input.success) return fatal(rsp, 'ValidateInput', formatZodError('input', input.error));

  const observed: Record<string, Manifest | undefined> = {};
  for (const [key, r] of Object.entries(req.observed?.resources ?? {})) observed[key] = obj(r?.resource);
  const outcome = reconcile({ xr, platform: input.data.spec, observed, required: requiredResources(req) });
  if (!outcome.ok) return fatal(rsp, outcome.step, outcome.message, outcome.reason);
  return write(rsp, xr, outcome);
}

/** The outcome into the response: merged over what earlier pipeline steps desired. */
function write(rsp: RunFunctionResponse, xr: Obj, o: Reconciled): RunFunctionResponse {
  const desired = rsp.desired!;
  for (const c of o.resources) desired.resources[c.key] = { resource: c.resource, connectionDetails: {}, ready: c.ready ? Ready.READY_TRUE : Ready.READY_FALSE };
  if (Object.keys(o.requirements).length > 0) {
    // Crossplane 1 reads extraResources, Crossplane 2 resources.
    rsp.requirements = { extraResources: o.requirements, resources: o.requirements, schemas: {} };
  }
  const composite = obj(desired.composite?.resource) ?? {};
  const details: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(o.connectionDetails)) details[k] = Buffer.from(v);
  desired.composite = {
    resource: { ...composite, apiVersion: xr.apiVersion, kind: xr.kind, status: { ...(obj(composite.status) ?? {}), ...o.status } },
    connectionDetails: { ...(desired.composite?.connectionDetails ?? {}), ...details },
    ready: Ready.READY_UNSPECIFIED,
  };
  rsp.results.push(...o.warnings.map((w) => result(Severity.SEVERITY_WARNING, w.reason, w.message)));
  rsp.conditions.push(...o.conditions.map(condition));
  rsp.meta!.ttl = { seconds: o.ttlSeconds, nanos: 0 };
  return rsp;
}

/** What Crossplane fetched for each requirement key; a key it was never asked for stays absent. */
function requiredResources(req: RunFunctionRequest): Record<string, Manifest[] | undefined> {
  const out: Record<string, Manifest[] | undefined> = {};
  for (const key of new Set([...Object.keys(req.requiredResources ?? {}), ...Object.keys(req.extraResources ?? {})])) {
    const items = req.requiredResources?.[key]?.items ?? req.extraResources?.[key]?.items ?? [];
    out[key] = items.map((i) => obj(i.resource) ?? {});
  }
  return out;
}

/** A FATAL response: the pipeline stops and Crossplane applies nothing, so nothing composed is lost. */
function fatal(rsp: RunFunctionResponse, step: string, message: string, reason = step): RunFunctionResponse {
  rsp.results.push(result(Severity.SEVERITY_FATAL, reason, `${step}: ${message}`));
  return rsp;
}

/** Every result and condition reaches the XR and the claim. */
function result(severity: Severity, reason: string, message: string): Result {
  return { severity, reason, message, target: Target.TARGET_COMPOSITE_AND_CLAIM };
}

function condition(c: OutcomeCondition): Condition {
  return { type: c.type, status: c.ok ? Status.STATUS_CONDITION_TRUE : Status.STATUS_CONDITION_FALSE, reason: c.reason, message: c.message, target: Target.TARGET_COMPOSITE_AND_CLAIM };
}
