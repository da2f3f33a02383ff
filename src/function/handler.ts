/**
 * RunFunction: the Crossplane layer around the pure render core, a short pipeline:
 *
 *   read   (read.ts)              hostile-input guard, function input, identity, validated spec, platform policy,
 *                                 what the function last applied (either composition mode)
 *   plan   (render/plan.ts)       day-2 decisions: what is kept and why; the planned spec validated again; the model
 *   render (render/index.ts)      manifests, wrapped as Objects or composed raw (wrap.ts)
 *   report                        desired resources with readiness, XR status, connection details, conditions, results
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
import { createHash } from 'node:crypto';
import { renderCluster, renderNotes, type Manifest } from '../render/index.js';
import { BROKER_VERSION, unenforcedFeatures } from '../render/enforcement.js';
import { connectionDetails, connectionSecret } from '../render/connection.js';
import { dataBrokerPod, dataReplicated } from '../render/dataplane.js';
import type { ClusterModel } from '../render/model.js';
import { planCluster, type Decision } from '../render/plan.js';
import { tlsEnabled, tlsSecretName } from '../render/security.js';
import type { StreamBusClusterSpec as Spec } from '../api/schema.js';
import { managementPolicies, withManagementPolicies } from './adoption.js';
import { xrScope, type ApiScope } from './api.js';
import { applyFailureMessage, applyFailures, type ApplyFailure } from './apply-failures.js';
import { jsonSize } from './guard.js';
import { isReady } from './readiness.js';
import { Lru } from './cache.js';
import { readRequest, type ReadOk, type SpecResult } from './read.js';
import { clusterHealth, endpointsStatus, type ClusterHealth } from './status.js';
import { observedManifest, wrap } from './wrap.js';

export { ALLOW_MODE_SWITCH_ANNOTATION, ALLOW_REPLICA_CHANGE_ANNOTATION } from '../render/plan.js';

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
function fatal(rsp: RunFunctionResponse, step: string, message: string, reason = step): RunFunctionResponse {
  rsp.results.push(result(Severity.SEVERITY_FATAL, reason, `${step}: ${message}`, Target.TARGET_COMPOSITE_AND_CLAIM));
  return rsp;
}

export const TTL_READY_SECONDS = 60;
export const TTL_NOT_READY_SECONDS = 20;
/** Requirement key under which Crossplane passes us the Secret holding the brokers' CA. */
export const CA_REQUIREMENT = 'tls-ca';

/**
 * Validated specs and rendered resources of recent calls (see cache.ts), bounded by entries and by approximate bytes;
 * sized by configureCaches. An entry over MAX_CACHE_ENTRY_BYTES (a spec over ~256 KiB; ordinary specs are a few KiB)
 * is never kept.
 */
export const DEFAULT_CACHE_ENTRIES = 512;
export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;
/** Largest entry either cache keeps: a spec of ~256 KiB (counted twice, strings at 2 bytes a character). */
export const MAX_CACHE_ENTRY_BYTES = 1024 * 1024;
const lru = <V>(entries: number, bytes: number) => new Lru<V>({ entries, maxBytes: bytes / 2, maxEntryBytes: Math.min(bytes / 16, MAX_CACHE_ENTRY_BYTES) });
let specCache = lru<SpecResult>(DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_BYTES);
let renderCache = lru<Rendered>(DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_BYTES);

/** Sets the number of XRs whose validated spec and rendered resources are kept, and their byte budget (0 disables caching). */
export function configureCaches(entries: number, bytes = DEFAULT_CACHE_BYTES): void {
  specCache = lru(entries, bytes);
  renderCache = lru(entries, bytes);
}

export function cacheStats(): { hits: number; misses: number; size: number; bytes: number; skipped: number } {
  return { hits: renderCache.hits, misses: renderCache.misses, size: renderCache.size, bytes: specCache.bytes + renderCache.bytes, skipped: renderCache.skipped + specCache.skipped };
}

/** read → plan → render → report. */
export function runFunction(req: RunFunctionRequest): RunFunctionResponse {
  const rsp = baseResponse(req);
  const read = readRequest(req, specCache);
  if (!read.ok) return fatal(rsp, read.step, read.message, read.reason);
  const plan = planCluster({ identity: read.identity, spec: read.spec, platform: read.platform, annotations: read.annotations, applied: read.applied });
  if (!plan.ok) return fatal(rsp, 'PlanDay2Changes', plan.message, plan.reason);
  // Adoption of running objects: provider-kubernetes management policies from an annotation (adoption.ts).
  const policies = managementPolicies(read.annotations);
  if (!policies.ok) return fatal(rsp, 'ResolveManagementPolicies', policies.message);
  if (policies.policies && read.platform.mode === 'Direct') {
    rsp.results.push(result(Severity.SEVERITY_WARNING, 'ManagementPoliciesIgnored', 'ResolveManagementPolicies: Direct mode composes raw objects, which have no management policies; the annotation is ignored', Target.TARGET_COMPOSITE_AND_CLAIM));
  }
  const ca = caCertificate(req, read.spec, read.identity.namespace);
  // Legacy (cluster-scoped, claims) or namespaced XR (Crossplane 2): see api.ts.
  const rendered = render(read, plan.model, ca, xrScope(read.xr), policies.policies);
  return report(req, rsp, read, plan.model, plan.kept, rendered, ca);
}

type Rendered = { key: string; kind: string; resource: Manifest }[];

/** The composed resources, wrapped for the composition mode. Pure: the same inputs give the same resources, so a repeated call reuses them. */
function render(read: ReadOk, model: ClusterModel, ca: CA, scope: ApiScope, policies: string[] | undefined): Rendered {
  const { platform } = read;
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        read.xrName,
        read.identity,
        scope,
        policies ?? null,
        platform,
        read.specKey,
        // What the planner may change: the count, the ports, the volumes, the quota and the Raft claim template's name.
        [model.replicas, model.ports, model.spec.storage, model.storageClass ?? null, model.quotaStorageBytes ?? null, model.names.raftClaimTemplate],
        ca.pem?.toString('base64') ?? null,
      ]),
    )
    .digest('base64');
  return renderCache.get(
    key,
    () => {
      const composed = renderCluster(model);
      // A namespaced XR has no connection Secret of its own: its connection details are always a composed Secret.
      if (platform.mode === 'Direct' || scope === 'Namespaced') composed.push({ key: 'connection-secret', manifest: connectionSecret(model, connectionDetails(model, ca.pem)) });
      return composed.map((c) => ({ key: c.key, kind: String(c.manifest.kind), resource: withManagementPolicies(wrap(c, read.xrName, platform, scope), policies) }));
    },
    (v) => 2 * jsonSize(v, 64 * 1024 * 1024),
  );
}

/** Desired resources with readiness, the XR's status and connection details, conditions and results. */
function report(req: RunFunctionRequest, rsp: RunFunctionResponse, read: ReadOk, model: ClusterModel, kept: Decision[], rendered: Rendered, ca: CA): RunFunctionResponse {
  const { xr, platform } = read;
  const observed = req.observed?.resources ?? {};
  const seen = (key: string) => observedManifest(obj(observed[key]?.resource), platform.mode);
  const stsObserved = seen('statefulset');
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

  const meta = obj(xr.metadata) ?? {};
  const previous = obj(xr.status);
  const health = clusterHealth(model, stsObserved, typeof previous?.phase === 'string' ? previous.phase : undefined);
  const status = {
    phase: health.phase,
    replicas: model.replicas,
    readyReplicas: health.readyReplicas,
    ...(typeof meta.generation === 'number' ? { observedGeneration: meta.generation } : {}),
    ...endpointsStatus(model),
  };
  const conn = connectionDetails(model, ca.pem);
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
  if (kept.length === 0) {
    rsp.conditions.push(condition('ConfigurationValid', true, 'Valid', 'spec is valid and rendered'));
  } else {
    const first = kept[0]!;
    rsp.conditions.push(condition('ConfigurationValid', false, kept.length === 1 ? first.reason : 'ChangesRefused', kept.map((r) => r.message).join('; ')));
    for (const r of kept) {
      rsp.results.push(result(Severity.SEVERITY_WARNING, r.reason, `PlanDay2Changes: ${r.message}`, Target.TARGET_COMPOSITE_AND_CLAIM));
    }
  }
  for (const note of renderNotes(model)) {
    rsp.results.push(result(Severity.SEVERITY_WARNING, 'PodAnnotationRewritten', `RenderStatefulSet: ${note}`, Target.TARGET_COMPOSITE_AND_CLAIM));
  }
  if (ca.missing) {
    rsp.results.push(result(Severity.SEVERITY_WARNING, 'CACertificateMissing', `PublishConnectionDetails: ${ca.missing}`, Target.TARGET_COMPOSITE_AND_CLAIM));
  }

  // Honesty: say which requested features the broker does not enforce, instead of pretending.
  const unenforced = unenforcedFeatures(read.spec);
  if (unenforced.length > 0) {
    const list = unenforced.map((u) => `${u.field} (${u.note})`).join('; ');
    rsp.results.push(result(Severity.SEVERITY_WARNING, 'FeaturesNotEnforced', `configured but not enforced by ${BROKER_VERSION}: ${list}`, Target.TARGET_COMPOSITE_AND_CLAIM));
  }
  rsp.conditions.push(
    unenforced.length === 0
      ? condition('FeaturesEnforced', true, 'AllEnforced', 'every requested feature is in force')
      : condition('FeaturesEnforced', false, 'NotEnforcedByBroker', `configured but not enforced by ${BROKER_VERSION}: ${unenforced.map((u) => u.field).join(', ')}`),
  );

  // The data path: say plainly what a multi-broker cluster of a broker that does not replicate is (dataplane.ts).
  const data = dataReplicatedCondition(model);
  rsp.conditions.push(data.condition);
  if (data.warning) rsp.results.push(result(Severity.SEVERITY_WARNING, 'DataNotReplicated', `PublishConnectionDetails: ${data.warning}`, Target.TARGET_COMPOSITE_AND_CLAIM));

  rsp.conditions.push(brokersReadyCondition(model, stsObserved, health, failures.find((f) => f.key === 'statefulset')));
  rsp.meta!.ttl = { seconds: health.allReady ? TTL_READY_SECONDS : TTL_NOT_READY_SECONDS, nanos: 0 };
  return rsp;
}

/**
 * DataReplicated: True only for a broker that replicates. Otherwise False, and for more than one broker a WARNING too:
 * the extra brokers add metadata peers, not data capacity or a second copy.
 */
function dataReplicatedCondition(model: ClusterModel): { condition: Condition; warning?: string } {
  if (dataReplicated(model)) return { condition: condition('DataReplicated', true, 'ReplicatedByBroker', `${BROKER_VERSION} replicates topics and messages between brokers`) };
  const pod = dataBrokerPod(model)!;
  if (model.replicas === 1) {
    return { condition: condition('DataReplicated', false, 'SingleBroker', `one broker (${pod}) holds every topic and message; its volume keeps them across restarts; there is no second copy`) };
  }
  const message =
    `${BROKER_VERSION} does not replicate topics and messages between brokers: every client address (the client Service, ` +
    `bootstrapServers, status.endpoints) reaches broker ${pod}, which holds all the data; the other ${model.replicas - 1} brokers ` +
    `only add to the Raft metadata quorum. While ${pod} is down, produce and consume stop until it is back on its volume`;
  return { condition: condition('DataReplicated', false, 'NotReplicatedByBroker', message), warning: `spec.replicas: ${model.replicas} brokers asked for; ${message}` };
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
function caCertificate(req: RunFunctionRequest, spec: Spec, ns: string): CA {
  if (!tlsEnabled(spec)) return {};
  const name = spec.security?.tls?.caSecretName ?? tlsSecretName(spec);
  if (!name) return {};
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

