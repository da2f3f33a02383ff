import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Ready, Severity, Status, Target } from '@crossplane-org/function-sdk-typescript';
import { runFunction } from '../../src/function/handler.js';
import { clone, exampleXr, request } from '../helpers/fixtures.js';

type Obj = Record<string, any>;
const xr = exampleXr('minimal') as Obj;

describe('RunFunction on a valid XR', () => {
  const rsp = runFunction(request(xr));
  const res = rsp.desired!.resources;

  it('composes the core resources as provider-kubernetes Objects', () => {
    expect(Object.keys(res).sort()).toEqual(['client-service', 'config', 'headless-service', 'network-policy', 'pdb', 'statefulset']);
    for (const [key, r] of Object.entries(res)) {
      const o = r.resource as Obj;
      expect(o.apiVersion).toBe('kubernetes.crossplane.io/v1alpha2');
      expect(o.kind).toBe('Object');
      expect(o.metadata.name).toBe(`${xr.metadata.name}-${key}`);
      expect(o.spec.providerConfigRef).toEqual({ name: 'default' });
      expect(o.spec.forProvider.manifest.metadata.namespace).toBe('default');
    }
    const cm = (res.config!.resource as Obj).spec.forProvider.manifest;
    expect(parse(cm.data['broker.yaml']).cluster.peers).toHaveLength(3);
  });

  it('names everything after the claim, not the XR', () => {
    expect((res.statefulset!.resource as Obj).spec.forProvider.manifest.metadata.name).toBe('streambus-minimal');
  });

  it('marks nothing ready before anything is observed, and has no errors', () => {
    for (const r of Object.values(res)) expect(r.ready).toBe(Ready.READY_FALSE);
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
  });

  it('publishes status and conditions for the claim', () => {
    const status = (rsp.desired!.composite!.resource as Obj).status;
    expect(status.phase).toBe('Pending');
    expect(status.replicas).toBe(3);
    // StreamBus v1.0.1 does not replicate: applications are given the data broker (ordinal 0) only.
    expect(status.endpoints).toEqual(['streambus-minimal-0.streambus-minimal-headless.default.svc.cluster.local:9092']);
    expect(status.bootstrapServers).toBe(status.endpoints.join(','));
    const types = rsp.conditions.map((c) => [c.type, c.status, c.target]);
    expect(types).toEqual([
      ['ResourcesApplied', Status.STATUS_CONDITION_TRUE, Target.TARGET_COMPOSITE_AND_CLAIM],
      ['ConfigurationValid', Status.STATUS_CONDITION_TRUE, Target.TARGET_COMPOSITE_AND_CLAIM],
      // the minimal example asks for metrics, which v1.0.1 does not serve
      ['FeaturesEnforced', Status.STATUS_CONDITION_FALSE, Target.TARGET_COMPOSITE_AND_CLAIM],
      ['DataReplicated', Status.STATUS_CONDITION_FALSE, Target.TARGET_COMPOSITE_AND_CLAIM],
      ['BrokersReady', Status.STATUS_CONDITION_FALSE, Target.TARGET_COMPOSITE_AND_CLAIM],
    ]);
  });

  it('names a composed resource the apiserver refused, with its reason, in the first condition and on BrokersReady', () => {
    const first = runFunction(request(xr));
    const sts = first.desired!.resources.statefulset!.resource as Obj;
    const message =
      'cannot create object: StatefulSet.apps "streambus-minimal" is invalid: spec.template.annotations[container.apparmor.security.beta.kubernetes.io/manager]: Invalid value: "manager": container not found';
    const observed = {
      statefulset: { ...sts, status: { conditions: [{ type: 'Synced', status: 'False', reason: 'ReconcileError', message }, { type: 'Ready', status: 'False', reason: 'Unavailable' }] } },
      config: { ...(first.desired!.resources.config!.resource as Obj), status: { conditions: [{ type: 'Synced', status: 'True', reason: 'ReconcileSuccess' }] } },
    };
    const r = runFunction(request(xr, { observed }));
    expect(r.conditions[0]).toMatchObject({ type: 'ResourcesApplied', status: Status.STATUS_CONDITION_FALSE, reason: 'ApplyFailed', target: Target.TARGET_COMPOSITE_AND_CLAIM });
    expect(r.conditions[0]!.message).toBe(`statefulset (StatefulSet default/streambus-minimal) was refused: ${message}`);
    expect(r.conditions.find((c) => c.type === 'BrokersReady')).toMatchObject({ reason: 'ApplyFailed', message: `StatefulSet default/streambus-minimal was refused: ${message}` });
    expect(r.results.find((x) => x.reason === 'ApplyFailed')).toMatchObject({ severity: Severity.SEVERITY_WARNING, target: Target.TARGET_COMPOSITE_AND_CLAIM });
    // Nothing is dropped because of it.
    expect(Object.keys(r.desired!.resources).sort()).toEqual(Object.keys(first.desired!.resources).sort());
  });

  it('Direct mode composes the raw objects', () => {
    const r = runFunction(request(xr, { input: { apiVersion: 'streambus.fn.crossplane.io/v1beta1', kind: 'Input', spec: { mode: 'Direct' } } }));
    expect((r.desired!.resources.statefulset!.resource as Obj).kind).toBe('StatefulSet');
  });

  it('keeps resources composed by earlier pipeline steps', () => {
    const r = runFunction(request(xr, { desired: { other: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } } } }));
    expect(Object.keys(r.desired!.resources)).toContain('other');
  });
});

describe('readiness from observed Objects', () => {
  it('marks the StatefulSet ready only when every replica is ready at the current revision', () => {
    const wrap = (manifest: Obj) => ({ apiVersion: 'kubernetes.crossplane.io/v1alpha2', kind: 'Object', status: { atProvider: { manifest } } });
    // What the Object was told to apply (the function's own render): the day-2 planner reads it.
    const applied = (runFunction(request(xr)).desired!.resources.statefulset!.resource as Obj).spec.forProvider.manifest;
    const sts = (status: Obj) => ({
      ...wrap({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { generation: 2 }, spec: { replicas: 3 }, status }),
      spec: { forProvider: { manifest: applied } },
    });
    const ready = { observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentRevision: 'a', updateRevision: 'a' };
    const cases: [Obj, Ready][] = [
      [ready, Ready.READY_TRUE],
      [{ ...ready, readyReplicas: 2 }, Ready.READY_FALSE],
      [{ ...ready, updateRevision: 'b' }, Ready.READY_FALSE],
      [{ ...ready, observedGeneration: 1 }, Ready.READY_FALSE],
    ];
    for (const [status, want] of cases) {
      const rsp = runFunction(request(xr, { observed: { statefulset: sts(status), config: wrap({ kind: 'ConfigMap' }) } }));
      expect(rsp.desired!.resources.statefulset!.ready, JSON.stringify(status)).toBe(want);
      expect(rsp.desired!.resources.config!.ready).toBe(Ready.READY_TRUE);
      expect(rsp.desired!.resources['client-service']!.ready).toBe(Ready.READY_FALSE);
    }
  });
});

describe('invalid input: a FATAL result naming the field, and nothing dropped', () => {
  const withSpec = (patch: (s: Obj) => void) => {
    const x = clone(xr);
    patch(x.spec);
    return x;
  };
  const previous = { statefulset: { apiVersion: 'kubernetes.crossplane.io/v1alpha2', kind: 'Object', metadata: { name: 'kept' } } };
  const cases: [string, Obj, RegExp][] = [
    ['negative replicas', withSpec((s) => (s.replicas = -1)), /spec\.replicas: must be ≥ 1/],
    ['string replicas', withSpec((s) => (s.replicas = 'three')), /spec\.replicas: expected number, got string/],
    ['huge replicas', withSpec((s) => (s.replicas = 1e9)), /spec\.replicas: must be ≤ 100/],
    ['bad log level', withSpec((s) => (s.config.logLevel = 'loud')), /spec\.config\.logLevel: must be one of/],
    ['bad quantity', withSpec((s) => (s.resources.requests.cpu = 'lots')), /spec\.resources\.requests\.cpu/],
    ['bad storage size', withSpec((s) => (s.storage.size = '-5Gi')), /spec\.storage\.size/],
    ['port out of range', withSpec((s) => (s.config.port = 70000)), /spec\.config\.port: must be ≤ 65535/],
    ['bad pull policy', withSpec((s) => (s.image.pullPolicy = 'Sometimes')), /spec\.image\.pullPolicy/],
  ];
  it.each(cases)('%s', (_name, x, re) => {
    const rsp = runFunction(request(x, { desired: previous }));
    const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.message).toMatch(re);
    expect(rsp.desired!.resources.statefulset).toEqual({ resource: previous.statefulset, connectionDetails: {}, ready: Ready.READY_UNSPECIFIED });
  });

  it('a claim name too long for the StatefulSet', () => {
    const x = clone(xr);
    x.metadata.labels['crossplane.io/claim-name'] = 'a'.repeat(60);
    const rsp = runFunction(request(x));
    expect(rsp.results[0]!.message).toMatch(/claim metadata\.name: "a+" is 60 characters; at most 52/);
  });

  it('an XR without a claim namespace', () => {
    const x = clone(xr);
    delete x.metadata.labels;
    delete x.spec.claimRef;
    expect(runFunction(request(x)).results[0]!.message).toMatch(/crossplane\.io\/claim-namespace/);
  });

  it('a missing XR', () => {
    const req = request(xr);
    req.observed = undefined;
    expect(runFunction(req).results[0]!.message).toMatch(/no observed composite resource/);
  });

  it('a bad function input', () => {
    const rsp = runFunction(request(xr, { input: { spec: { mode: 'Sideways' } } }));
    expect(rsp.results[0]!.message).toMatch(/input\.spec\.mode: must be one of "Object", "Direct"/);
  });
});

describe('render cache', () => {
  it('a cached call answers exactly what an uncached one computes, for every example and mode', async () => {
    const { configureCaches, cacheStats } = await import('../../src/function/handler.js');
    const { EXAMPLES, compositionInput } = await import('../helpers/fixtures.js');
    const inputs = [compositionInput(), compositionInput('compositions/composition-direct.yaml')];
    try {
      configureCaches(0);
      const cold = EXAMPLES.flatMap((ex) => inputs.map((input) => JSON.stringify(runFunction(request(exampleXr(ex), { input })))));
      configureCaches(64);
      const first = EXAMPLES.flatMap((ex) => inputs.map((input) => JSON.stringify(runFunction(request(exampleXr(ex), { input })))));
      const again = EXAMPLES.flatMap((ex) => inputs.map((input) => JSON.stringify(runFunction(request(exampleXr(ex), { input })))));
      expect(first).toEqual(cold);
      expect(again).toEqual(cold);
      expect(cacheStats().hits).toBeGreaterThanOrEqual(EXAMPLES.length * 2);
      // a changed spec is a miss, not a stale hit
      const x = clone(xr);
      x.spec.replicas = 5;
      const five = runFunction(request(x)).desired!.resources.statefulset!.resource as Obj;
      expect(five.spec.forProvider.manifest.spec.replicas).toBe(5);
    } finally {
      configureCaches(512);
    }
  });
});
