/**
 * RunFunction: the Crossplane layer around the pure render core.
 *
 *   observed XR → identity + validated spec + function input → model → manifests (render core)
 *   → wrapped (Object or Direct) → desired resources with readiness → XR status, conditions, results.
 *
 * Input errors never drop a composed resource: they return a FATAL result naming the field, and Crossplane
 * applies nothing that cycle (the desired state from earlier pipeline steps is passed through untouched).
 */
import {
  Ready,
  Severity,
  Status,
  Target,
  type Condition,
  type Resource,
  type Result,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { FunctionInput, StreamBusClusterSpec } from '../api/schema.js';
import { renderCluster, type Manifest } from '../render/index.js';
import { buildModel } from '../render/model.js';
import { formatZodError } from './errors.js';
import { checkRequest } from './guard.js';
import { resolveIdentity } from './identity.js';
import { isReady } from './readiness.js';
import { clusterHealth, endpointsStatus } from './status.js';
import { observedManifest, wrap } from './wrap.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

export const DEFAULT_TTL_SECONDS = 60;

export function result(severity: Severity, reason: string, message: string, target = Target.TARGET_COMPOSITE): Result {
  return { severity, reason, message, target };
}

function condition(type: string, ok: boolean, reason: string, message: string): Condition {
  return {
    type,
    status: ok ? Status.STATUS_CONDITION_TRUE : Status.STATUS_CONDITION_FALSE,
    reason,
    message,
    target: Target.TARGET_COMPOSITE_AND_CLAIM,
  };
}

function baseResponse(req: RunFunctionRequest): RunFunctionResponse {
  return {
    meta: { tag: req.meta?.tag ?? '', ttl: { seconds: DEFAULT_TTL_SECONDS, nanos: 0 } },
    desired: { composite: req.desired?.composite, resources: { ...(req.desired?.resources ?? {}) } },
    results: [],
    context: req.context,
    requirements: undefined,
    conditions: [],
  };
}

/** A FATAL response: the pipeline stops and Crossplane applies nothing, so nothing composed is lost. */
function fatal(rsp: RunFunctionResponse, step: string, message: string): RunFunctionResponse {
  rsp.results.push(result(Severity.SEVERITY_FATAL, step, `${step}: ${message}`, Target.TARGET_COMPOSITE_AND_CLAIM));
  return rsp;
}

export function runFunction(req: RunFunctionRequest): RunFunctionResponse {
  const rsp = baseResponse(req);
  // Hostile input (depth, size, NaN, __proto__, Kubernetes syntax of map keys): refused before validation.
  const refused = checkRequest(req);
  if (refused) return fatal(rsp, refused.step, refused.message);
  const xr = obj(req.observed?.composite?.resource);
  if (!xr) return fatal(rsp, 'ReadCompositeResource', 'the request carries no observed composite resource');

  const input = FunctionInput.safeParse(req.input ?? {}, { reportInput: true });
  if (!input.success) return fatal(rsp, 'ValidateInput', formatZodError('input', input.error));

  const id = resolveIdentity(xr);
  if (!id.ok) return fatal(rsp, 'ResolveIdentity', id.message);

  const spec = StreamBusClusterSpec.safeParse(xr.spec === undefined ? {} : stripCrossplaneFields(xr.spec), { reportInput: true });
  if (!spec.success) return fatal(rsp, 'ValidateSpec', formatZodError('spec', spec.error));

  const mode = input.data.spec.mode;
  const model = buildModel(id.identity, spec.data, input.data.spec);
  const observed = req.observed?.resources ?? {};

  let stsObserved: Manifest | undefined;
  for (const c of renderCluster(model)) {
    const seen = observedManifest(obj(observed[c.key]?.resource), mode);
    if (c.key === 'statefulset') stsObserved = seen;
    const res: Resource = {
      resource: wrap(c, id.xrName, input.data.spec),
      connectionDetails: {},
      ready: isReady(String(c.manifest.kind), seen) ? Ready.READY_TRUE : Ready.READY_FALSE,
    };
    rsp.desired!.resources[c.key] = res;
  }

  const previous = obj(xr.status);
  const health = clusterHealth(model, stsObserved, typeof previous?.phase === 'string' ? previous.phase : undefined);
  const ep = endpointsStatus(model);
  const meta = obj(xr.metadata) ?? {};
  const status = {
    phase: health.phase,
    replicas: model.replicas,
    readyReplicas: health.readyReplicas,
    ...(typeof meta.generation === 'number' ? { observedGeneration: meta.generation } : {}),
    ...ep,
  };
  const composite = obj(rsp.desired!.composite?.resource) ?? {};
  rsp.desired!.composite = {
    resource: { ...composite, apiVersion: xr.apiVersion, kind: xr.kind, status: { ...(obj(composite.status) ?? {}), ...status } },
    connectionDetails: {
      ...(rsp.desired!.composite?.connectionDetails ?? {}),
      bootstrapServers: Buffer.from(ep.bootstrapServers ?? ''),
      httpEndpoint: Buffer.from(ep.httpEndpoint ?? ''),
      metricsEndpoint: Buffer.from(ep.metricsEndpoint ?? ''),
    },
    ready: Ready.READY_UNSPECIFIED,
  };

  const stsName = `StatefulSet ${model.namespace}/${model.names.statefulSet}`;
  rsp.conditions.push(
    condition('ConfigurationValid', true, 'Valid', 'spec is valid and rendered'),
    health.allReady
      ? condition('BrokersReady', true, 'AllBrokersReady', `${health.readyReplicas}/${model.replicas} brokers ready`)
      : condition(
          'BrokersReady',
          false,
          stsObserved ? 'BrokersNotReady' : 'BrokersNotCreated',
          stsObserved
            ? `${stsName}: ${health.readyReplicas}/${model.replicas} brokers ready (phase ${health.phase})`
            : `${stsName} has not been observed yet`,
        ),
  );
  return rsp;
}

/** Crossplane adds its own fields to a legacy XR's spec; they are not part of the StreamBusCluster API. */
const CROSSPLANE_SPEC_FIELDS = [
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
];

function stripCrossplaneFields(spec: unknown): unknown {
  const s = obj(spec);
  if (!s) return spec;
  const out: Obj = {};
  for (const [k, v] of Object.entries(s)) if (!CROSSPLANE_SPEC_FIELDS.includes(k)) out[k] = v;
  return out;
}
