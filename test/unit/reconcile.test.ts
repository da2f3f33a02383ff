/**
 * The core's one entry point, reconcile(input) → Outcome, as tables: every refusal (step, reason, field), every
 * condition's reasons, the warnings, the resources asked for, the TTL and the status, decided without gRPC or the SDK.
 * The Crossplane layer only writes the outcome into the response (handler.test.ts and the e2e tests check that).
 */
import { describe, expect, it } from 'vitest';
import { FunctionInput, type FunctionInputSpec } from '../../src/api/schema.js';
import { cacheStats, configureCaches, DEFAULT_CACHE_ENTRIES, reconcile, TTL_NOT_READY_SECONDS, TTL_READY_SECONDS, type Outcome, type Reconciled, type ReconcileInput } from '../../src/render/reconcile.js';
import { compositionInput, exampleXr } from '../helpers/fixtures.js';
import { observedFor, type ClusterState } from '../helpers/observed.js';

type Obj = Record<string, any>;

const objectInput = compositionInput();
const directInput = compositionInput('compositions/composition-direct.yaml');
const platformOf = (input: Obj): FunctionInputSpec => FunctionInput.parse(input).spec;

interface Case {
  name: string;
  example?: string;
  xr?: (xr: Obj) => void;
  direct?: boolean;
  platform?: (p: FunctionInputSpec) => void;
  /** Observed resources: undefined for a new cluster, else the cluster in this state (observed.ts). */
  state?: ClusterState;
  observed?: (o: Record<string, Obj>) => void;
  previousPhase?: string;
  required?: ReconcileInput['required'];
}

function inputOf(c: Case): ReconcileInput {
  const xr = structuredClone(exampleXr(c.example ?? 'minimal'));
  c.xr?.(xr);
  const input = c.direct ? directInput : objectInput;
  const observed = c.state || c.observed ? observedFor(exampleXr(c.example ?? 'minimal'), input, c.state ?? {}) : {};
  c.observed?.(observed);
  if (c.previousPhase) xr.status = { phase: c.previousPhase };
  const platform = platformOf(input);
  c.platform?.(platform);
  return { xr, platform, observed, required: c.required ?? {} };
}

const ok = (o: Outcome): Reconciled => {
  if (!o.ok) throw new Error(`refused: ${o.step}: ${o.message}`);
  return o;
};
const conditions = (o: Reconciled) => Object.fromEntries(o.conditions.map((c) => [c.type, `${c.ok}/${c.reason}`]));

describe('reconcile: refusals (FATAL: nothing composed that cycle), each naming its step and the field', () => {
  const table: (Case & { step: string; reason: string; field: RegExp })[] = [
    { name: 'an XR with no name', xr: (x) => delete x.metadata.name, step: 'ResolveIdentity', reason: 'ResolveIdentity', field: /^metadata\.name:/ },
    { name: 'a legacy XR without the claim namespace', xr: (x) => {
      delete x.metadata.labels['crossplane.io/claim-namespace'];
      delete x.spec.claimRef;
    }, step: 'ResolveIdentity', reason: 'ResolveIdentity', field: /^metadata\.labels\["crossplane\.io\/claim-namespace"\]:/ },
    { name: 'a spec out of bounds', xr: (x) => (x.spec.replicas = 0), step: 'ValidateSpec', reason: 'ValidateSpec', field: /^spec\.replicas:/ },
    { name: 'an observed statefulset that is not one', observed: (o) => (o.statefulset = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }), step: 'ReadAppliedState', reason: 'AppliedStateUnreadable', field: /^resources\.statefulset:/ },
    { name: 'a namespace the platform denies', platform: (p) => (p.policy = { ...p.policy, deniedNamespaces: ['default'] }), step: 'ApplyPlatformPolicy', reason: 'PolicyViolation', field: /^metadata\.labels\["crossplane\.io\/claim-namespace"\]:/ },
    { name: 'a Raft claim template name that does not exist', xr: (x) => (x.metadata.annotations = { 'streambus.io/raft-claim-template': 'bogus' }), step: 'PlanDay2Changes', reason: 'InvalidRaftClaimTemplate', field: /streambus\.io\/raft-claim-template/ },
    { name: 'a running Object-mode cluster switched to Direct', direct: true, observed: (o) => Object.assign(o, observedFor(exampleXr('minimal'), objectInput)), step: 'PlanDay2Changes', reason: 'ModeSwitchRefused', field: /./ },
    { name: 'an unknown management policy', xr: (x) => (x.metadata.annotations = { 'streambus.io/management-policies': 'Observe,Nope' }), step: 'ResolveManagementPolicies', reason: 'ResolveManagementPolicies', field: /^metadata\.annotations\["streambus\.io\/management-policies"\]:/ },
  ];
  it.each(table)('$name → $step', (c) => {
    const o = reconcile(inputOf(c));
    expect(o.ok).toBe(false);
    if (o.ok) return;
    expect([o.step, o.reason]).toEqual([c.step, c.reason]);
    expect(o.message).toMatch(c.field);
  });
});

describe('reconcile: conditions, warnings, status and TTL by cluster state', () => {
  const table: (Case & { phase: string; want: Record<string, string>; warnings: string[]; ttl: number; ready: 'all' | 'none' | 'some' })[] = [
    {
      name: 'a new three-broker cluster (nothing observed)',
      phase: 'Pending',
      want: { ResourcesApplied: 'true/Applied', ConfigurationValid: 'true/Valid', DataReplicated: 'false/NotReplicatedByBroker', BrokersReady: 'false/BrokersNotCreated' },
      warnings: ['FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_NOT_READY_SECONDS,
      ready: 'none',
    },
    {
      name: 'a new one-broker cluster',
      example: 'dev',
      phase: 'Pending',
      want: { DataReplicated: 'false/SingleBroker', BrokersReady: 'false/BrokersNotCreated' },
      warnings: ['FeaturesNotEnforced'],
      ttl: TTL_NOT_READY_SECONDS,
      ready: 'none',
    },
    {
      name: 'every broker ready',
      state: {},
      phase: 'Running',
      want: { ResourcesApplied: 'true/Applied', ConfigurationValid: 'true/Valid', BrokersReady: 'true/AllBrokersReady' },
      warnings: ['FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_READY_SECONDS,
      ready: 'all',
    },
    {
      name: 'brokers starting, never up before',
      state: { sts: { readyReplicas: 1 } },
      phase: 'Creating',
      want: { BrokersReady: 'false/BrokersNotReady' },
      warnings: ['FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_NOT_READY_SECONDS,
      ready: 'some',
    },
    {
      name: 'a roll in progress after Running',
      state: { sts: { readyReplicas: 2, updatedReplicas: 1, updateRevision: 'rev-2' } },
      previousPhase: 'Running',
      phase: 'Updating',
      want: { BrokersReady: 'false/RollingUpdate' },
      warnings: ['FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_NOT_READY_SECONDS,
      ready: 'some',
    },
    {
      name: 'one broker down after Running (quorum kept)',
      state: { sts: { readyReplicas: 2 } },
      previousPhase: 'Running',
      phase: 'Degraded',
      want: { BrokersReady: 'false/BrokersNotReady' },
      warnings: ['FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_NOT_READY_SECONDS,
      ready: 'some',
    },
    {
      name: 'quorum lost after Running',
      state: { sts: { readyReplicas: 1 } },
      previousPhase: 'Running',
      phase: 'Failed',
      want: { BrokersReady: 'false/QuorumLost' },
      warnings: ['FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_NOT_READY_SECONDS,
      ready: 'some',
    },
    {
      name: 'the StatefulSet refused by the apiserver',
      state: { absent: [] },
      observed: (o) => {
        o.statefulset!.status = { conditions: [{ type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'cannot create object: StatefulSet.apps "x" is invalid' }] };
      },
      phase: 'Pending',
      want: { ResourcesApplied: 'false/ApplyFailed', BrokersReady: 'false/ApplyFailed' },
      warnings: ['ApplyFailed', 'FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_NOT_READY_SECONDS,
      ready: 'some',
    },
    {
      name: 'a replica change on a running cluster (kept)',
      state: {},
      xr: (x) => (x.spec.replicas = 5),
      phase: 'Running',
      want: { ConfigurationValid: 'false/ReplicaChangeRefused', BrokersReady: 'true/AllBrokersReady' },
      warnings: ['ReplicaChangeRefused', 'FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_READY_SECONDS,
      ready: 'all',
    },
    {
      name: 'two changes on a running cluster (both kept)',
      state: {},
      xr: (x) => {
        x.spec.replicas = 5;
        x.spec.config = { ...(x.spec.config ?? {}), raftPort: 9193 };
      },
      phase: 'Running',
      want: { ConfigurationValid: 'false/ChangesRefused' },
      warnings: ['ReplicaChangeRefused', 'RaftPortChangeRefused', 'FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_READY_SECONDS,
      ready: 'all',
    },
    {
      name: 'management policies asked for in Direct mode (ignored, said first)',
      direct: true,
      xr: (x) => (x.metadata.annotations = { 'streambus.io/management-policies': 'Observe' }),
      phase: 'Pending',
      want: { ResourcesApplied: 'true/Applied' },
      warnings: ['ManagementPoliciesIgnored', 'FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_NOT_READY_SECONDS,
      ready: 'none',
    },
    {
      name: 'an AppArmor annotation rewritten for the broker container (secure)',
      example: 'secure',
      phase: 'Pending',
      want: { FeaturesEnforced: 'false/NotEnforcedByBroker' },
      warnings: ['PodAnnotationRewritten', 'FeaturesNotEnforced', 'DataNotReplicated'],
      ttl: TTL_NOT_READY_SECONDS,
      ready: 'none',
    },
  ];
  it.each(table)('$name: phase $phase', (c) => {
    const o = ok(reconcile(inputOf(c)));
    expect(o.status.phase).toBe(c.phase);
    expect(conditions(o)).toMatchObject(c.want);
    expect(o.conditions.map((x) => x.type)).toEqual(['ResourcesApplied', 'ConfigurationValid', 'FeaturesEnforced', 'DataReplicated', 'BrokersReady']);
    expect(o.warnings.map((w) => w.reason)).toEqual(c.warnings);
    for (const w of o.warnings) expect(w.message).toMatch(/^[A-Za-z0-9]+: |^configured but not enforced/);
    expect(o.ttlSeconds).toBe(c.ttl);
    const ready = o.resources.filter((r) => r.ready).length;
    expect(c.ready === 'all' ? ready === o.resources.length : c.ready === 'none' ? ready === 0 : ready > 0 && ready < o.resources.length).toBe(true);
    expect(o.kept.map((k) => k.reason)).toEqual(c.warnings.filter((w) => w.endsWith('ChangeRefused')));
  });
});

describe('reconcile: the CA and the resources asked for', () => {
  const secure = (required: ReconcileInput['required']) => ok(reconcile(inputOf({ name: '', example: 'secure', required })));
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const table: { name: string; required: ReconcileInput['required']; missing: boolean; ca?: string }[] = [
    { name: 'not fetched yet: asked for, no warning', required: {}, missing: false },
    { name: 'fetched but absent: a warning', required: { 'tls-ca': [] }, missing: true },
    { name: 'fetched without ca.crt: a warning', required: { 'tls-ca': [{ apiVersion: 'v1', kind: 'Secret', data: {} }] }, missing: true },
    { name: 'fetched with ca.crt: published', required: { 'tls-ca': [{ apiVersion: 'v1', kind: 'Secret', data: { 'ca.crt': Buffer.from(pem).toString('base64') } }] }, missing: false, ca: pem },
  ];
  it.each(table)('$name', (c) => {
    const o = secure(c.required);
    expect(o.requirements).toEqual({ 'tls-ca': { apiVersion: 'v1', kind: 'Secret', matchName: 'streambus-ca-cert', namespace: 'default' } });
    expect(o.warnings.some((w) => w.reason === 'CACertificateMissing')).toBe(c.missing);
    expect(o.connectionDetails['ca.crt']?.toString()).toBe(c.ca);
  });
  it('no TLS: nothing asked for, no ca.crt', () => {
    const o = ok(reconcile(inputOf({ name: '' })));
    expect(o.requirements).toEqual({});
    expect(Object.keys(o.connectionDetails).sort()).toEqual(['bootstrapServers', 'httpEndpoint', 'metricsEndpoint']);
  });
});

describe('reconcile is pure', () => {
  it('the same input gives the same outcome, from its caches or not, and the input is not changed', () => {
    try {
      for (const c of [{ name: '', example: 'production', state: {} }, { name: '', example: 'multi-tenant' }, { name: '', state: { sts: { readyReplicas: 2 } }, previousPhase: 'Running' }] as Case[]) {
        const input = inputOf(c);
        const before = structuredClone(input);
        configureCaches(0);
        const plain = reconcile(input);
        configureCaches(DEFAULT_CACHE_ENTRIES);
        const first = reconcile(input);
        const hits = cacheStats().hits;
        expect(reconcile(input)).toEqual(plain);
        expect(cacheStats().hits).toBe(hits + 1);
        expect(first).toEqual(plain);
        expect(input).toEqual(before);
      }
    } finally {
      configureCaches(DEFAULT_CACHE_ENTRIES);
    }
  });
});
