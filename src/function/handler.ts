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
  type ResourceSelector,
  type Result,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { FunctionInput, StreamBusClusterSpec } from '../api/schema.js';
import { renderCluster, renderNotes, type Manifest } from '../render/index.js';
import { BROKER_VERSION, unenforcedFeatures } from '../render/enforcement.js';
import { connectionDetails, connectionSecret } from '../render/connection.js';
import { buildModel, type ClusterModel } from '../render/model.js';
import { parseQuantity } from '../render/quantity.js';
import { tlsEnabled, tlsSecretName } from '../render/security.js';
import type { StreamBusClusterSpec as Spec } from '../api/schema.js';
import { applyFailureMessage, applyFailures, type ApplyFailure } from './applied.js';
import { formatZodError } from './errors.js';
import { checkRequest } from './guard.js';
import { managementPolicies, withManagementPolicies } from './adoption.js';
import { xrScope } from './api.js';
import { resolveIdentity } from './identity.js';
import { isReady } from './readiness.js';
import { Lru } from './cache.js';
import { guard, withStorageClass } from './safety.js';
import { clusterHealth, endpointsStatus, type ClusterHealth } from './status.js';
import { observedManifest, wrap } from './wrap.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);


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
    meta: { tag: req.meta?.tag ?? '', ttl: { seconds: TTL_READY_SECONDS, nanos: 0 } },
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

export const TTL_READY_SECONDS = 60;
export const TTL_NOT_READY_SECONDS = 20;
/** Requirement key under which Crossplane passes us the Secret holding the brokers' CA. */
export const CA_REQUIREMENT = 'tls-ca';

/** Validated specs and rendered resources of recent calls (see cache.ts); sized by configureCaches. */
let specCache = new Lru<ReturnType<typeof StreamBusClusterSpec.safeParse>>(512);
let renderCache = new Lru<{ key: string; kind: string; resource: Manifest }[]>(512);

/** Sets the number of XRs whose validated spec and rendered resources are kept (0 disables caching). */
export function configureCaches(entries: number): void {
  specCache = new Lru(entries);
  renderCache = new Lru(entries);
}

export function cacheStats(): { hits: number; misses: number; size: number } {
  return { hits: renderCache.hits, misses: renderCache.misses, size: renderCache.size };
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

  const rawSpec = xr.spec === undefined ? {} : stripCrossplaneFields(xr.spec);
  const specKey = JSON.stringify(rawSpec);
  const spec = specCache.get(specKey, () => StreamBusClusterSpec.safeParse(rawSpec, { reportInput: true }));
  if (!spec.success) return fatal(rsp, 'ValidateSpec', formatZodError('spec', spec.error));

  const platform = input.data.spec;
  // Legacy (cluster-scoped, claims) or namespaced XR (Crossplane 2): see api.ts.
  const scope = xrScope(xr);
  const mode = platform.mode;
  const observed = req.observed?.resources ?? {};
  const seen = (key: string) => observedManifest(obj(observed[key]?.resource), mode);
  const stsObserved = seen('statefulset');

  // Day-2 safety: render what is safe, keep what is observed where a change would lose data.
  const meta = obj(xr.metadata) ?? {};
  // Adoption of running objects: provider-kubernetes management policies from an annotation (adoption.ts).
  const policies = managementPolicies(obj(meta.annotations) ?? {});
  if (!policies.ok) return fatal(rsp, 'ResolveManagementPolicies', policies.message);
  if (policies.policies && mode === 'Direct') {
    rsp.results.push(result(Severity.SEVERITY_WARNING, 'ManagementPoliciesIgnored', 'ResolveManagementPolicies: Direct mode composes raw objects, which have no management policies; the annotation is ignored', Target.TARGET_COMPOSITE_AND_CLAIM));
  }
  // The guard judges changes against the StatefulSet as it runs; until provider-kubernetes has observed it, against
  // the StatefulSet the Object was last told to apply (never against nothing, which would let any change through).
  const stsApplied = stsObserved ?? lastApplied(obj(observed.statefulset?.resource));
  const guarded = guard(spec.data, stsApplied, obj(meta.annotations) ?? {}, (s) => s.storage.class ?? platform.defaultStorageClass);
  let model = withStorageClass(buildModel(id.identity, guarded.spec, platform), guarded.storageClass);
  if (guarded.refusals.some((r) => r.field.startsWith('spec.storage.') && r.field !== 'spec.storage.class')) {
    // A refused size change keeps the templates; the quota leaves room for expanding the claims by hand.
    const larger = (a: string, b: string) => Math.max(parseQuantity(a) ?? 0, parseQuantity(b) ?? 0);
    const { size, raftSize } = spec.data.storage;
    model = { ...model, quotaStorageBytes: model.replicas * (larger(size, guarded.spec.storage.size) + larger(raftSize, guarded.spec.storage.raftSize)) };
  }

  const ca = caCertificate(req, spec.data);
  const conn = connectionDetails(model, ca.pem);
  // Rendering is pure: the same inputs give the same resources, so a repeated call reuses them.
  const renderKey = JSON.stringify([
    id.xrName,
    id.identity,
    scope,
    policies.policies ?? null,
    platform,
    specKey,
    guarded.refusals.length ? guarded.spec : null,
    'storageClass' in guarded ? ['kept', guarded.storageClass] : ['derived'],
    ca.pem?.toString('base64') ?? null,
  ]);
  const rendered = renderCache.get(renderKey, () => {
    const composed = renderCluster(model);
    // A namespaced XR has no connection Secret of its own: its connection details are always a composed Secret.
    if (mode === 'Direct' || scope === 'Namespaced') composed.push({ key: 'connection-secret', manifest: connectionSecret(model, conn) });
    return composed.map((c) => ({ key: c.key, kind: String(c.manifest.kind), resource: withManagementPolicies(wrap(c, id.xrName, platform, scope), policies.policies) }));
  });

  for (const c of rendered) {
    rsp.desired!.resources[c.key] = {
      resource: c.resource,
      connectionDetails: {},
      ready: isReady(c.kind, seen(c.key)) ? Ready.READY_TRUE : Ready.READY_FALSE,
    };
  }
  if (ca.selector) {
    // Ask Crossplane for the CA Secret (read on the next call): extraResources for Crossplane 1, resources for 2.
    rsp.requirements = { extraResources: { [CA_REQUIREMENT]: ca.selector }, resources: { [CA_REQUIREMENT]: ca.selector }, schemas: {} };
  }

  const previous = obj(xr.status);
  const health = clusterHealth(model, stsObserved, typeof previous?.phase === 'string' ? previous.phase : undefined);
  const status = {
    phase: health.phase,
    replicas: model.replicas,
    readyReplicas: health.readyReplicas,
    ...(typeof meta.generation === 'number' ? { observedGeneration: meta.generation } : {}),
    ...endpointsStatus(model),
  };
  const composite = obj(rsp.desired!.composite?.resource) ?? {};
  const details: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(conn)) if (v !== undefined) details[k] = Buffer.from(v);
  rsp.desired!.composite = {
    resource: { ...composite, apiVersion: xr.apiVersion, kind: xr.kind, status: { ...(obj(composite.status) ?? {}), ...status } },
    connectionDetails: { ...(rsp.desired!.composite?.connectionDetails ?? {}), ...details },
    ready: Ready.READY_UNSPECIFIED,
  };

  // Conditions that reach the claim, and results that name the step. First: what the cluster refused to apply.
  const failures = applyFailures(observed);
  rsp.conditions.push(
    failures.length === 0
      ? condition('ResourcesApplied', true, 'Applied', 'no composed resource was refused')
      : condition('ResourcesApplied', false, 'ApplyFailed', applyFailureMessage(failures)),
  );
  for (const f of failures) {
    rsp.results.push(result(Severity.SEVERITY_WARNING, 'ApplyFailed', `ApplyResources: ${applyFailureMessage([f])}`, Target.TARGET_COMPOSITE_AND_CLAIM));
  }
  if (guarded.refusals.length === 0) {
    rsp.conditions.push(condition('ConfigurationValid', true, 'Valid', 'spec is valid and rendered'));
  } else {
    const first = guarded.refusals[0]!;
    rsp.conditions.push(
      condition(
        'ConfigurationValid',
        false,
        guarded.refusals.length === 1 ? first.reason : 'ChangesRefused',
        guarded.refusals.map((r) => r.message).join('; '),
      ),
    );
    for (const r of guarded.refusals) {
      rsp.results.push(result(Severity.SEVERITY_WARNING, r.reason, `GuardDay2Changes: ${r.message}`, Target.TARGET_COMPOSITE_AND_CLAIM));
    }
  }
  for (const note of renderNotes(model)) {
    rsp.results.push(result(Severity.SEVERITY_WARNING, 'PodAnnotationRewritten', `RenderStatefulSet: ${note}`, Target.TARGET_COMPOSITE_AND_CLAIM));
  }
  if (ca.missing) {
    rsp.results.push(result(Severity.SEVERITY_WARNING, 'CACertificateMissing', `PublishConnectionDetails: ${ca.missing}`, Target.TARGET_COMPOSITE_AND_CLAIM));
  }

  // Honesty: say which requested features the broker does not enforce, instead of pretending.
  const unenforced = unenforcedFeatures(spec.data);
  if (unenforced.length > 0) {
    const list = unenforced.map((u) => `${u.field} (${u.note})`).join('; ');
    rsp.results.push(result(Severity.SEVERITY_WARNING, 'FeaturesNotEnforced', `configured but not enforced by ${BROKER_VERSION}: ${list}`, Target.TARGET_COMPOSITE_AND_CLAIM));
  }
  rsp.conditions.push(
    unenforced.length === 0
      ? condition('FeaturesEnforced', true, 'AllEnforced', 'every requested feature is in force')
      : condition('FeaturesEnforced', false, 'NotEnforcedByBroker', `configured but not enforced by ${BROKER_VERSION}: ${unenforced.map((u) => u.field).join(', ')}`),
  );

  rsp.conditions.push(brokersReadyCondition(model, stsObserved, health, failures.find((f) => f.key === 'statefulset')));
  rsp.meta!.ttl = { seconds: health.allReady ? TTL_READY_SECONDS : TTL_NOT_READY_SECONDS, nanos: 0 };
  return rsp;
}

function brokersReadyCondition(model: ClusterModel, sts: Manifest | undefined, health: ClusterHealth, refused?: ApplyFailure): Condition {
  const stsName = `StatefulSet ${model.namespace}/${model.names.statefulSet}`;
  if (health.allReady) return condition('BrokersReady', true, 'AllBrokersReady', `${health.readyReplicas}/${model.replicas} brokers ready`);
  if (refused) return condition('BrokersReady', false, 'ApplyFailed', `${stsName} was refused: ${refused.message}`);
  if (!sts) return condition('BrokersReady', false, 'BrokersNotCreated', `${stsName} has not been observed yet`);
  const reason = health.phase === 'Updating' ? 'RollingUpdate' : health.phase === 'Failed' ? 'QuorumLost' : 'BrokersNotReady';
  return condition('BrokersReady', false, reason, `${stsName}: ${health.readyReplicas}/${model.replicas} brokers ready (phase ${health.phase})`);
}

interface CA {
  selector?: ResourceSelector;
  pem?: Buffer;
  missing?: string;
}

/** The CA to publish when TLS is on: ca.crt of caSecretName, else of the certificate Secret (cert-manager adds it). */
function caCertificate(req: RunFunctionRequest, spec: Spec): CA {
  if (!tlsEnabled(spec)) return {};
  const name = spec.security?.tls?.caSecretName ?? tlsSecretName(spec);
  if (!name) return {};
  const ns = resolveIdentityNamespace(req);
  const selector: ResourceSelector = { apiVersion: 'v1', kind: 'Secret', matchName: name, ...(ns ? { namespace: ns } : {}) };
  const items = req.requiredResources?.[CA_REQUIREMENT]?.items ?? req.extraResources?.[CA_REQUIREMENT]?.items ?? [];
  const secret = obj(items[0]?.resource);
  const b64 = obj(secret?.data)?.['ca.crt'];
  if (typeof b64 === 'string') return { selector, pem: Buffer.from(b64, 'base64') };
  const asked = req.requiredResources?.[CA_REQUIREMENT] !== undefined || req.extraResources?.[CA_REQUIREMENT] !== undefined;
  return asked
    ? { selector, missing: `Secret ${ns ?? ''}/${name} has no ca.crt (or does not exist yet): the connection secret has no CA` }
    : { selector };
}

function resolveIdentityNamespace(req: RunFunctionRequest): string | undefined {
  const xr = obj(req.observed?.composite?.resource);
  const r = xr ? resolveIdentity(xr) : undefined;
  return r?.ok ? r.identity.namespace : undefined;
}

/** The manifest an observed provider-kubernetes Object was told to apply (spec.forProvider.manifest). */
function lastApplied(o: Obj | undefined): Manifest | undefined {
  const m = obj(obj(obj(o?.spec)?.forProvider)?.manifest);
  return m && m.kind === 'StatefulSet' ? m : undefined;
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
