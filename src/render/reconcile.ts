/**
 * The core's one entry point: what the Crossplane layer read in, the cluster's whole outcome out, as data.
 *
 *   identity (identity.ts) → validated spec → what the function last applied (applied.ts) → platform policy
 *   (policy.ts) → day-2 plan and model (plan.ts) → management policies (adoption.ts) → the CA to publish
 *   → manifests (index.ts) wrapped for the composition mode (wrap.ts) → readiness (readiness.ts), status
 *   (status.ts), refused applies (apply-failures.ts) → conditions, warnings, connection details, TTL
 *
 * Every decision is made here, in that order; the first refusal ends the call with `{ ok: false }` naming the step
 * and the field, and nothing is composed that cycle (the Crossplane layer passes the desired state through, so an
 * input error never drops a composed resource). Pure and deterministic: the same input gives the same outcome. The
 * results of the two costly pure steps (spec validation, rendering) of recent calls are kept in bounded caches
 * (cache.ts), keyed by everything they depend on: a hit returns what a miss would compute (tested both ways).
 */
import { createHash } from 'node:crypto';
import { StreamBusClusterSpec, type FunctionInputSpec } from '../api/schema.js';
import { formatZodError } from '../api/errors.js';
import { jsonSize, obj, type Obj } from '../k8s/json.js';
import { managementPolicies, withManagementPolicies } from './adoption.js';
import { readApplied } from './applied.js';
import { applyFailureMessage, applyFailures, type ApplyFailure } from './apply-failures.js';
import { Lru } from './cache.js';
import { connectionDetails, connectionSecret } from './connection.js';
import { dataBrokerPod, dataReplicated } from './dataplane.js';
import { BROKER_VERSION, unenforcedFeatures } from './enforcement.js';
import { resolveIdentity, xrScope } from './identity.js';
import { renderCluster, renderNotes, type Manifest } from './index.js';
import type { ClusterModel } from './model.js';
import { planCluster, type Decision } from './plan.js';
import { checkPolicy } from './policy.js';
import { isReady } from './readiness.js';
import { tlsEnabled, tlsSecretName } from './security.js';
import { clusterHealth, endpointsStatus, type ClusterHealth } from './status.js';
import { observedManifest, wrap } from './wrap.js';

export type { Manifest } from './index.js';
export type { Decision } from './plan.js';

export const TTL_READY_SECONDS = 60;
export const TTL_NOT_READY_SECONDS = 20;
/** Requirement key under which Crossplane passes us the Secret holding the brokers' CA. */
export const CA_REQUIREMENT = 'tls-ca';

export interface ReconcileInput {
  /** The observed composite resource (the XR), as Crossplane sent it: metadata, spec (with Crossplane's own fields), status. */
  xr: Obj;
  /** The function input's spec, validated by the Crossplane layer. */
  platform: FunctionInputSpec;
  /** The observed composed resources by composition key, as Crossplane sent them (Objects, or raw objects in Direct mode). */
  observed: Record<string, Manifest | undefined>;
  /** The resources Crossplane fetched on request, by requirement key; undefined: not asked for yet. */
  required: Record<string, Manifest[] | undefined>;
}

type SpecResult = ReturnType<typeof StreamBusClusterSpec.safeParse>;
/** A composed resource as it goes out: its composition key, kind (of the manifest) and the resource (wrapped or raw). */
export interface ComposedResource {
  key: string;
  kind: string;
  resource: Manifest;
}

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
let renderCache = lru<ComposedResource[]>(DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_BYTES);

/** Sets the number of XRs whose validated spec and rendered resources are kept, and their byte budget (0 disables caching). */
export function configureCaches(entries: number, bytes = DEFAULT_CACHE_BYTES): void {
  specCache = lru(entries, bytes);
  renderCache = lru(entries, bytes);
}

export function cacheStats(): { hits: number; misses: number; size: number; bytes: number; skipped: number } {
  return { hits: renderCache.hits, misses: renderCache.misses, size: renderCache.size, bytes: specCache.bytes + renderCache.bytes, skipped: renderCache.skipped + specCache.skipped };
}

/** A condition on the XR and the claim. */
export interface OutcomeCondition {
  type: string;
  ok: boolean;
  reason: string;
  message: string;
}
/** A WARNING result on the XR and the claim; `message` starts with the step. */
export interface Warning {
  reason: string;
  message: string;
}
/** A resource to ask Crossplane for (read on the next call). */
export interface Requirement {
  apiVersion: string;
  kind: string;
  matchName: string;
  namespace?: string;
}

/** FATAL: nothing is composed this cycle. The result reads `<step>: <message>`, reason `reason`. */
export interface Refused {
  ok: false;
  step: string;
  reason: string;
  message: string;
}
export interface Reconciled {
  ok: true;
  /** Desired composed resources, in composition order, each with its readiness. */
  resources: (ComposedResource & { ready: boolean })[];
  /** The XR's status fields this function owns. */
  status: Obj;
  /** bootstrapServers, httpEndpoint, metricsEndpoint, and ca.crt (the PEM's bytes) once the CA Secret was read. */
  connectionDetails: Record<string, string | Buffer>;
  conditions: OutcomeCondition[];
  warnings: Warning[];
  requirements: Record<string, Requirement>;
  /** Day-2 changes not made (the applied values kept), also in the warnings and ConfigurationValid. */
  kept: Decision[];
  ttlSeconds: number;
}
export type Outcome = Refused | Reconciled;

const refuse = (step: string, message: string, reason = step): Refused => ({ ok: false, step, reason, message });
const cond = (type: string, ok: boolean, reason: string, message: string): OutcomeCondition => ({ type, ok, reason, message });

export function reconcile(input: ReconcileInput): Outcome {
  const { xr, platform, observed } = input;
  const id = resolveIdentity(xr);
  if (!id.ok) return refuse('ResolveIdentity', id.message);

  const rawSpec = xr.spec === undefined ? {} : stripCrossplaneFields(xr.spec);
  const specKey = JSON.stringify(rawSpec);
  const parsed = specCache.get(specKey, () => StreamBusClusterSpec.safeParse(rawSpec, { reportInput: true }), () => specKey.length * 2);
  if (!parsed.success) return refuse('ValidateSpec', formatZodError('spec', parsed.error));
  const spec = parsed.data;

  const applied = readApplied(obj(observed.statefulset));
  if (!applied.ok) return refuse('ReadAppliedState', `resources.statefulset: ${applied.message}`, 'AppliedStateUnreadable');

  const annotations = obj(obj(xr.metadata)?.annotations) ?? {};
  const appliedReplicas = typeof applied.applied?.replicas === 'number' ? applied.applied.replicas : undefined;
  const policy = checkPolicy(spec, platform, id.identity, annotations, appliedReplicas);
  if (policy) return refuse('ApplyPlatformPolicy', policy, 'PolicyViolation');

  const plan = planCluster({ identity: id.identity, spec, platform, annotations, applied: applied.applied });
  if (!plan.ok) return refuse('PlanDay2Changes', plan.message, plan.reason);
  const model = plan.model;

  // Adoption of running objects: provider-kubernetes management policies from an annotation (adoption.ts).
  const policies = managementPolicies(annotations);
  if (!policies.ok) return refuse('ResolveManagementPolicies', policies.message);
  const warnings: Warning[] = [];
  if (policies.policies && platform.mode === 'Direct') {
    warnings.push({ reason: 'ManagementPoliciesIgnored', message: 'ResolveManagementPolicies: Direct mode composes raw objects, which have no management policies; the annotation is ignored' });
  }

  const ca = caCertificate(input.required[CA_REQUIREMENT], spec, id.identity.namespace);
  // Legacy (cluster-scoped, claims) or namespaced XR (Crossplane 2): see identity.ts.
  const scope = xrScope(xr);
  // The key holds the whole spec: kept as its digest.
  const renderKey = createHash('sha256').update(JSON.stringify([
    id.xrName,
    id.identity,
    scope,
    policies.policies ?? null,
    platform,
    specKey,
    // What the planner may change: the count, the ports, the volumes, the quota and the Raft claim template's name.
    [model.replicas, model.ports, model.spec.storage, model.storageClass ?? null, model.quotaStorageBytes ?? null, model.names.raftClaimTemplate],
    ca.pem?.toString('base64') ?? null,
  ])).digest('base64');
  const render = (): ComposedResource[] => {
    const composed = renderCluster(model);
    // A namespaced XR has no connection Secret of its own: its connection details are always a composed Secret.
    if (platform.mode === 'Direct' || scope === 'Namespaced') composed.push({ key: 'connection-secret', manifest: connectionSecret(model, connectionDetails(model, ca.pem)) });
    return composed.map((c) => ({ key: c.key, kind: String(c.manifest.kind), resource: withManagementPolicies(wrap(c, id.xrName, platform, scope), policies.policies) }));
  };
  const rendered = renderCache.get(renderKey, render, (v) => 2 * jsonSize(v, 64 * 1024 * 1024));

  // Readiness, status and what the cluster refused, from the observed resources.
  const seen = (key: string) => observedManifest(obj(observed[key]), platform.mode);
  const sts = seen('statefulset');
  const meta = obj(xr.metadata) ?? {};
  const previous = obj(xr.status);
  const health = clusterHealth(model, sts, typeof previous?.phase === 'string' ? previous.phase : undefined);
  const failures = applyFailures(observed);
  const conn = connectionDetails(model, ca.pem);
  const details: Record<string, string | Buffer> = {};
  for (const [k, v] of Object.entries(conn) as [string, string | Buffer | undefined][]) if (v !== undefined) details[k] = v;

  return {
    ok: true,
    resources: rendered.map((c) => ({ ...c, ready: isReady(c.kind, seen(c.key)) })),
    status: {
      phase: health.phase,
      replicas: model.replicas,
      readyReplicas: health.readyReplicas,
      ...(typeof meta.generation === 'number' ? { observedGeneration: meta.generation } : {}),
      ...endpointsStatus(model),
    },
    connectionDetails: details,
    ...report(model, plan.kept, spec, ca, health, sts, failures, warnings),
    requirements: ca.selector ? { [CA_REQUIREMENT]: ca.selector } : {},
    kept: plan.kept,
    ttlSeconds: health.allReady ? TTL_READY_SECONDS : TTL_NOT_READY_SECONDS,
  };
}

/** The conditions that reach the claim and the warnings that name the step, in the order a person reads them. */
function report(
  model: ClusterModel,
  kept: Decision[],
  spec: StreamBusClusterSpec,
  ca: CA,
  health: ClusterHealth,
  sts: Manifest | undefined,
  failures: ApplyFailure[],
  warnings: Warning[],
): { conditions: OutcomeCondition[]; warnings: Warning[] } {
  const conditions: OutcomeCondition[] = [];
  // First: what the cluster refused to apply.
  conditions.push(failures.length === 0 ? cond('ResourcesApplied', true, 'Applied', 'no composed resource was refused') : cond('ResourcesApplied', false, 'ApplyFailed', applyFailureMessage(failures)));
  for (const f of failures) warnings.push({ reason: 'ApplyFailed', message: `ApplyResources: ${applyFailureMessage([f])}` });

  if (kept.length === 0) conditions.push(cond('ConfigurationValid', true, 'Valid', 'spec is valid and rendered'));
  else {
    conditions.push(cond('ConfigurationValid', false, kept.length === 1 ? kept[0]!.reason : 'ChangesRefused', kept.map((r) => r.message).join('; ')));
    for (const r of kept) warnings.push({ reason: r.reason, message: `PlanDay2Changes: ${r.message}` });
  }
  for (const note of renderNotes(model)) warnings.push({ reason: 'PodAnnotationRewritten', message: `RenderStatefulSet: ${note}` });
  if (ca.missing) warnings.push({ reason: 'CACertificateMissing', message: `PublishConnectionDetails: ${ca.missing}` });

  // Honesty: say which requested features the broker does not enforce, instead of pretending.
  const unenforced = unenforcedFeatures(spec);
  if (unenforced.length > 0) {
    const list = unenforced.map((u) => `${u.field} (${u.note})`).join('; ');
    warnings.push({ reason: 'FeaturesNotEnforced', message: `configured but not enforced by ${BROKER_VERSION}: ${list}` });
  }
  conditions.push(
    unenforced.length === 0
      ? cond('FeaturesEnforced', true, 'AllEnforced', 'every requested feature is in force')
      : cond('FeaturesEnforced', false, 'NotEnforcedByBroker', `configured but not enforced by ${BROKER_VERSION}: ${unenforced.map((u) => u.field).join(', ')}`),
  );

  // The data path: say plainly what a multi-broker cluster of a broker that does not replicate is (dataplane.ts).
  const data = dataReplicatedCondition(model);
  conditions.push(data.condition);
  if (data.warning) warnings.push({ reason: 'DataNotReplicated', message: `PublishConnectionDetails: ${data.warning}` });

  conditions.push(brokersReadyCondition(model, sts, health, failures.find((f) => f.key === 'statefulset')));
  return { conditions, warnings };
}

/**
 * DataReplicated: True only for a broker that replicates. Otherwise False, and for more than one broker a WARNING too:
 * the extra brokers add metadata peers, not data capacity or a second copy.
 */
function dataReplicatedCondition(model: ClusterModel): { condition: OutcomeCondition; warning?: string } {
  if (dataReplicated(model)) return { condition: cond('DataReplicated', true, 'ReplicatedByBroker', `${BROKER_VERSION} replicates topics and messages between brokers`) };
  const pod = dataBrokerPod(model)!;
  if (model.replicas === 1) {
    return { condition: cond('DataReplicated', false, 'SingleBroker', `one broker (${pod}) holds every topic and message; its volume keeps them across restarts; there is no second copy`) };
  }
  const message =
    `${BROKER_VERSION} does not replicate topics and messages between brokers: every client address (the client Service, ` +
    `bootstrapServers, status.endpoints) reaches broker ${pod}, which holds all the data; the other ${model.replicas - 1} brokers ` +
    `only add to the Raft metadata quorum. While ${pod} is down, produce and consume stop until it is back on its volume`;
  return { condition: cond('DataReplicated', false, 'NotReplicatedByBroker', message), warning: `spec.replicas: ${model.replicas} brokers asked for; ${message}` };
}

function brokersReadyCondition(model: ClusterModel, sts: Manifest | undefined, health: ClusterHealth, refused?: ApplyFailure): OutcomeCondition {
  const stsName = `StatefulSet ${model.namespace}/${model.names.statefulSet}`;
  if (health.allReady) return cond('BrokersReady', true, 'AllBrokersReady', `${health.readyReplicas}/${model.replicas} brokers ready`);
  if (refused) return cond('BrokersReady', false, 'ApplyFailed', `${stsName} was refused: ${refused.message}`);
  if (!sts) return cond('BrokersReady', false, 'BrokersNotCreated', `${stsName} has not been observed yet`);
  const reason = health.phase === 'Updating' ? 'RollingUpdate' : health.phase === 'Failed' ? 'QuorumLost' : 'BrokersNotReady';
  return cond('BrokersReady', false, reason, `${stsName}: ${health.readyReplicas}/${model.replicas} brokers ready (phase ${health.phase})`);
}

interface CA {
  selector?: Requirement;
  pem?: Buffer;
  missing?: string;
}

/** The CA to publish when TLS is on: ca.crt of caSecretName, else of the certificate Secret (cert-manager adds it). */
function caCertificate(fetched: Manifest[] | undefined, spec: StreamBusClusterSpec, ns: string): CA {
  if (!tlsEnabled(spec)) return {};
  const name = spec.security?.tls?.caSecretName ?? tlsSecretName(spec);
  if (!name) return {};
  const selector: Requirement = { apiVersion: 'v1', kind: 'Secret', matchName: name, ...(ns ? { namespace: ns } : {}) };
  const b64 = obj(obj(fetched?.[0])?.data)?.['ca.crt'];
  if (typeof b64 === 'string') return { selector, pem: Buffer.from(b64, 'base64') };
  return fetched !== undefined
    ? { selector, missing: `Secret ${ns ?? ''}/${name} has no ca.crt (or does not exist yet): the connection secret has no CA` }
    : { selector };
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
