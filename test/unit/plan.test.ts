/**
 * The day-2 planner (src/render/plan.ts) and what it reads (src/render/applied.ts), as tables: applied state and
 * requested spec in, kept values or a FATAL refusal out. Plus the same cases through runFunction in both
 * composition modes, where the observed state comes from an outside actor (kubectl scale, a hand edit).
 */
import { describe, expect, it } from 'vitest';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { FunctionInputSpec, StreamBusClusterSpec } from '../../src/api/schema.js';
import { APPLIED_ANNOTATION, readApplied, type Applied } from '../../src/render/applied.js';
import { ALLOW_MODE_SWITCH_ANNOTATION, ALLOW_REPLICA_CHANGE_ANNOTATION, RAFT_CLAIM_TEMPLATE_ANNOTATION, planCluster } from '../../src/render/plan.js';
import { runFunction } from '../../src/function/handler.js';
import { exampleXr, request } from '../helpers/fixtures.js';
import { observedFor } from '../helpers/observed.js';

type Obj = Record<string, any>;

const identity = { name: 'events', namespace: 'team-a' };
const platform = FunctionInputSpec.parse({});
const spec = (patch: Obj = {}) => StreamBusClusterSpec.parse({ storage: { class: 'standard' }, ...patch });
const applied = (patch: Partial<Applied> = {}): Applied => ({
  format: 'Object',
  source: 'test',
  replicas: 3,
  raftPort: 9093,
  templates: { data: { size: '10Gi', storageClassName: 'standard', name: 'data' }, raft: { size: '5Gi', storageClassName: 'standard', name: 'raft' } },
  ...patch,
});

describe('planCluster: kept values', () => {
  it.each<[string, Obj, Partial<Applied>, Obj, string[]]>([
    ['nothing applied yet: everything as requested', { replicas: 5 }, { replicas: undefined }, { replicas: 5 }, []],
    ['same state: nothing kept', {}, {}, { replicas: 3 }, []],
    ['replica change held', { replicas: 5 }, {}, { replicas: 3 }, ['ReplicaChangeRefused']],
    ['replica shrink held', { replicas: 1 }, {}, { replicas: 3 }, ['ReplicaChangeRefused']],
    ['raft port change kept', { config: { raftPort: 9500 } }, {}, { raft: 9093 }, ['RaftPortChangeRefused']],
    ['grpc port change kept (it is the Raft port)', { config: { grpcPort: 9500 } }, {}, { raft: 9093 }, ['RaftPortChangeRefused']],
    ['storage shrink kept', { storage: { class: 'standard', size: '5Gi' } }, {}, { size: '10Gi' }, ['StorageShrinkRefused']],
    ['storage growth kept', { storage: { class: 'standard', size: '20Gi' } }, {}, { size: '10Gi' }, ['StorageChangeRefused']],
    ['raft volume change kept', { storage: { class: 'standard', raftSize: '8Gi' } }, {}, { raftSize: '5Gi' }, ['StorageChangeRefused']],
    ['same size written differently: rendered as applied, no refusal', { storage: { class: 'standard', size: '10240Mi' } }, {}, { size: '10Gi' }, []],
    ['class change kept', { storage: { class: 'fast' } }, {}, { class: 'standard' }, ['StorageClassChangeRefused']],
    ['several at once', { replicas: 1, storage: { class: 'standard', size: '1Gi' } }, {}, { replicas: 3, size: '10Gi' }, ['ReplicaChangeRefused', 'StorageShrinkRefused']],
  ])('%s', (_name, requested, state, want, reasons) => {
    const a = state.replicas === undefined && 'replicas' in state ? undefined : applied(state);
    const plan = planCluster({ identity, spec: spec(requested), platform, annotations: {}, applied: a });
    if (!plan.ok) throw new Error(plan.message);
    expect(plan.kept.map((k) => k.reason)).toEqual(reasons);
    if (want.replicas !== undefined) expect(plan.model.replicas).toBe(want.replicas);
    if (want.raft !== undefined) expect(plan.model.ports.raft).toBe(want.raft);
    if (want.size !== undefined) expect(plan.model.spec.storage.size).toBe(want.size);
    if (want.raftSize !== undefined) expect(plan.model.spec.storage.raftSize).toBe(want.raftSize);
    if (want.class !== undefined) expect(plan.model.storageClass).toBe(want.class);
  });

  it('the replica override lets the requested count through, and then ignores the applied count entirely', () => {
    for (const replicas of [3, NaN, 0, 100_000]) {
      const plan = planCluster({ identity, spec: spec({ replicas: 5 }), platform, annotations: { [ALLOW_REPLICA_CHANGE_ANNOTATION]: 'true' }, applied: applied({ replicas }) });
      expect(plan.ok && plan.model.replicas).toBe(5);
    }
  });

  it('a refused size change leaves quota room for expanding the claims by hand', () => {
    const plan = planCluster({ identity, spec: spec({ storage: { class: 'standard', size: '20Gi' } }), platform, annotations: {}, applied: applied() });
    expect(plan.ok && plan.model.quotaStorageBytes).toBe(3 * (20 + 5) * 2 ** 30);
  });
});

describe('planCluster: refusals (FATAL)', () => {
  it.each<[string, Obj, Partial<Applied>, Obj, string, RegExp]>([
    ['applied replicas NaN', {}, { replicas: NaN }, {}, 'AppliedStateInvalid', /^spec\.replicas: .*holds NaN, outside/],
    ['applied replicas 0', {}, { replicas: 0 }, {}, 'AppliedStateInvalid', /^spec\.replicas: .*holds 0, outside/],
    ['applied replicas 100000', {}, { replicas: 100_000 }, {}, 'AppliedStateInvalid', /^spec\.replicas: .*holds 100000/],
    ['applied replicas 2.5', {}, { replicas: 2.5 }, {}, 'AppliedStateInvalid', /^spec\.replicas: .*holds 2\.5/],
    ['applied replicas a string', {}, { replicas: '3' }, {}, 'AppliedStateInvalid', /^spec\.replicas: .*holds "3"/],
    ['applied replicas missing', {}, { replicas: undefined }, {}, 'AppliedStateInvalid', /^spec\.replicas: .*holds nothing/],
    ['applied raft port 0', {}, { raftPort: 0 }, {}, 'AppliedStateInvalid', /^spec\.config\.grpcPort: .*holds 0/],
    ['applied raft port 70000', { config: { raftPort: 9093 } }, { raftPort: 70_000 }, {}, 'AppliedStateInvalid', /^spec\.config\.raftPort: .*holds 70000/],
    ['applied size not a quantity', {}, { templates: { data: { size: 'lots', storageClassName: 'standard', name: 'data' } } }, {}, 'AppliedStateInvalid', /^spec\.storage\.size: .*holds "lots"/],
    ['applied size 0', {}, { templates: { data: { size: '0', storageClassName: 'standard', name: 'data' } } }, {}, 'AppliedStateInvalid', /^spec\.storage\.size: /],
    ['applied class not a name', {}, { templates: { data: { size: '10Gi', storageClassName: 'Fast SSD', name: 'data' } } }, {}, 'AppliedStateInvalid', /^spec\.storage\.class: /],
    ['kept raft port 9093 with config.port moved to 9093', { config: { port: 9093, raftPort: 9500 } }, {}, {}, 'KeptValuesConflict', /^spec\.config\.port: 9093 is the Raft port the running cluster keeps \(spec\.config\.raftPort cannot change\)/],
    ['kept raft port 9093 with config.httpPort moved to 9093', { config: { httpPort: 9093, grpcPort: 9500 } }, {}, {}, 'KeptValuesConflict', /^spec\.config\.httpPort: 9093 is the Raft port .*spec\.config\.grpcPort cannot change/],
    ['Object cluster, Direct composition', {}, { format: 'Object' }, { mode: 'Direct' }, 'ModeSwitchRefused', /^input\.spec\.mode: this running cluster is composed in Object mode/],
    ['Direct cluster, Object composition', {}, { format: 'Direct' }, { mode: 'Object' }, 'ModeSwitchRefused', /^input\.spec\.mode: this running cluster is composed in Direct mode/],
  ])('%s', (_name, requested, state, input, reason, message) => {
    const plan = planCluster({ identity, spec: spec(requested), platform: FunctionInputSpec.parse(input), annotations: {}, applied: applied(state) });
    expect(plan.ok).toBe(false);
    if (plan.ok) throw new Error('unreachable: asserted above');
    expect(plan.reason).toBe(reason);
    expect(plan.message).toMatch(message);
  });

  it('the mode-switch override lets the switch through, and the day-2 rules still judge against the old format', () => {
    const plan = planCluster({
      identity,
      spec: spec({ replicas: 5 }),
      platform: FunctionInputSpec.parse({ mode: 'Direct' }),
      annotations: { [ALLOW_MODE_SWITCH_ANNOTATION]: 'true' },
      applied: applied({ format: 'Object' }),
    });
    expect(plan.ok && plan.model.replicas).toBe(3);
    expect(plan.ok && plan.kept.map((k) => k.reason)).toEqual(['ReplicaChangeRefused']);
  });
});

describe('the Raft volume claim template of a cluster adopted from the StreamBus operator (raft-data)', () => {
  const stsOf = (annotations: Obj, state?: Partial<Applied>) => {
    const plan = planCluster({ identity, spec: spec(), platform, annotations, applied: state ? applied(state) : undefined });
    if (!plan.ok) throw new Error(plan.message);
    return plan;
  };
  const raftTemplate = (name: 'raft' | 'raft-data'): Applied['templates'] => ({ data: { size: '10Gi', storageClassName: 'standard', name: 'data' }, raft: { size: '5Gi', storageClassName: 'standard', name } });

  it('is raft by default and raft-data when the annotation asks, for a new cluster', () => {
    expect(stsOf({}).model.names.raftClaimTemplate).toBe('raft');
    expect(stsOf({ [RAFT_CLAIM_TEMPLATE_ANNOTATION]: 'raft-data' }).model.names.raftClaimTemplate).toBe('raft-data');
  });

  it('names both the volume claim template and the broker\'s mount, so the pods claim the operator\'s PVCs raft-data-<pod>', () => {
    const xr = exampleXr('minimal');
    xr.metadata.annotations = { ...(xr.metadata.annotations ?? {}), [RAFT_CLAIM_TEMPLATE_ANNOTATION]: 'raft-data' };
    const rsp = runFunction(request(xr, { input: { spec: { mode: 'Direct' } } }));
    const sts = rsp.desired!.resources.statefulset!.resource as Obj;
    expect(sts.spec.volumeClaimTemplates.map((t: Obj) => t.metadata.name)).toEqual(['data', 'raft-data']);
    const broker = sts.spec.template.spec.containers[0];
    expect(broker.volumeMounts.find((v: Obj) => v.mountPath === '/raft')).toEqual({ name: 'raft-data', mountPath: '/raft' });
    // Read back as the raft template, so its size and class are guarded like the function's own.
    const r = readApplied(sts);
    expect(r.ok && r.applied?.templates.raft).toEqual({ size: '5Gi', storageClassName: 'standard', name: 'raft-data' });
  });

  it('keeps the applied name: silently without the annotation, with a WARNING when the annotation asks for the other one', () => {
    const adopted = stsOf({}, { templates: raftTemplate('raft-data') });
    expect(adopted.model.names.raftClaimTemplate).toBe('raft-data');
    expect(adopted.kept).toEqual([]);
    const renamed = stsOf({ [RAFT_CLAIM_TEMPLATE_ANNOTATION]: 'raft' }, { templates: raftTemplate('raft-data') });
    expect(renamed.model.names.raftClaimTemplate).toBe('raft-data');
    expect(renamed.kept.map((k) => k.reason)).toEqual(['RaftClaimTemplateChangeRefused']);
    expect(renamed.kept[0]!.message).toMatch(/^metadata\.annotations\["streambus\.io\/raft-claim-template"\]: keeping the Raft volume claim template raft-data \(requested raft\)/);
    const late = stsOf({ [RAFT_CLAIM_TEMPLATE_ANNOTATION]: 'raft-data' }, { templates: raftTemplate('raft') });
    expect(late.model.names.raftClaimTemplate).toBe('raft');
    expect(late.kept.map((k) => k.reason)).toEqual(['RaftClaimTemplateChangeRefused']);
  });

  it.each([['raft-log'], [''], [3], [{}]])('refuses %j, naming the annotation', (value) => {
    const plan = planCluster({ identity, spec: spec(), platform, annotations: { [RAFT_CLAIM_TEMPLATE_ANNOTATION]: value }, applied: undefined });
    expect(plan.ok).toBe(false);
    expect(!plan.ok && plan.reason).toBe('InvalidRaftClaimTemplate');
    expect(!plan.ok && plan.message).toMatch(/^metadata\.annotations\["streambus\.io\/raft-claim-template"\]: .* is not a Raft volume claim template name; use "raft" \(the default\) or "raft-data"/);
  });
});

describe('readApplied: what the function itself applied, in either format', () => {
  const render = (mode: 'Object' | 'Direct') => {
    const rsp = runFunction(request(exampleXr('minimal'), { input: { spec: { mode } } }));
    return structuredClone(rsp.desired!.resources.statefulset!.resource as Obj);
  };

  it('Object: spec.forProvider.manifest, never status.atProvider.manifest', () => {
    const o = render('Object');
    o.status = { atProvider: { manifest: { ...structuredClone(o.spec.forProvider.manifest), spec: { replicas: 100_000 } } } };
    const r = readApplied(o);
    expect(r.ok && r.applied).toMatchObject({ format: 'Object', replicas: 3, raftPort: 9093, templates: { data: { size: '10Gi' }, raft: { size: '5Gi' } } });
  });

  it('Direct: the streambus.io/applied annotation, never the live spec.replicas', () => {
    const s = render('Direct');
    expect(JSON.parse(s.metadata.annotations[APPLIED_ANNOTATION])).toEqual({ replicas: 3, raftPort: 9093 });
    s.spec.replicas = 5; // kubectl scale
    s.spec.template.spec.containers[0].ports[2].containerPort = 9999; // kubectl edit
    const r = readApplied(s);
    expect(r.ok && r.applied).toMatchObject({ format: 'Direct', replicas: 3, raftPort: 9093 });
  });

  it('Direct without the annotation (rendered by an older version): the live spec, once', () => {
    const s = render('Direct');
    delete s.metadata.annotations[APPLIED_ANNOTATION];
    s.spec.replicas = 5;
    const r = readApplied(s);
    expect(r.ok && r.applied).toMatchObject({ format: 'Direct', replicas: 5 });
  });

  it.each<[string, Obj]>([
    ['an Object without a manifest', { apiVersion: 'kubernetes.crossplane.io/v1alpha2', kind: 'Object', spec: {} }],
    ['an Object wrapping a ConfigMap', { apiVersion: 'kubernetes.crossplane.io/v1alpha2', kind: 'Object', spec: { forProvider: { manifest: { kind: 'ConfigMap' } } } }],
    ['a Deployment', { apiVersion: 'apps/v1', kind: 'Deployment' }],
  ])('refuses %s', (_n, o) => {
    expect(readApplied(o).ok).toBe(false);
  });

  it('a malformed annotation is read as nothing, which the planner refuses', () => {
    const s = render('Direct');
    s.metadata.annotations[APPLIED_ANNOTATION] = '{not json';
    const r = readApplied(s);
    const plan = planCluster({ identity, spec: spec(), platform: FunctionInputSpec.parse({ mode: 'Direct' }), annotations: {}, applied: r.ok ? r.applied : undefined });
    expect(plan.ok).toBe(false);
  });
});

describe('day-2 through runFunction: outside actors never become the desired state', () => {
  const xr = { ...exampleXr('minimal'), status: { phase: 'Running' } } as Obj;
  const stsOf = (rsp: ReturnType<typeof runFunction>) => {
    const r = rsp.desired!.resources.statefulset!.resource as Obj;
    return r.kind === 'Object' ? r.spec.forProvider.manifest : r;
  };
  const fatalOf = (rsp: ReturnType<typeof runFunction>) => rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);

  it.each([0, 5, 100_000, 1_000_000, NaN])('kubectl scale to %s: Object mode keeps 3 brokers and 3 peers', (n) => {
    const input = { spec: { mode: 'Object' } };
    const observed = observedFor(xr, input);
    // The live object (status.atProvider.manifest) is scaled; what the Object applies is not.
    const o = observed.statefulset!;
    o.status.atProvider.manifest = { ...structuredClone(o.status.atProvider.manifest), spec: { ...o.status.atProvider.manifest.spec, replicas: n } };
    const rsp = runFunction(request(xr, { input, observed }));
    expect(fatalOf(rsp)).toEqual([]);
    expect(stsOf(rsp).spec.replicas).toBe(3);
    expect(rsp.desired!.resources.pdb).toBeDefined();
  });

  it.each([0, 5, 100_000, 1_000_000])('kubectl scale to %s: Direct mode keeps 3 brokers (the annotation, not the live count)', (n) => {
    const input = { spec: { mode: 'Direct' } };
    const observed = observedFor(xr, input, { mutateSts: (s) => (s.spec.replicas = n) });
    const rsp = runFunction(request(xr, { input, observed }));
    expect(fatalOf(rsp)).toEqual([]);
    expect(stsOf(rsp).spec.replicas).toBe(3);
  });

  it('a live StatefulSet scaled by hand is not reported ready, and hostile live counts never reach the status', () => {
    const input = { spec: { mode: 'Direct' } };
    const scaled = observedFor(xr, input, { mutateSts: (s) => (s.spec.replicas = 5), sts: { replicas: 5, readyReplicas: 5, updatedReplicas: 5 } });
    let rsp = runFunction(request(xr, { input, observed: scaled }));
    const status = (rsp.desired!.composite!.resource as Obj).status;
    expect(status).toMatchObject({ replicas: 3, phase: 'Degraded' });
    for (const bad of [NaN, -1, 2.5, 1e12]) {
      const o = observedFor(xr, input, { sts: { readyReplicas: bad } });
      rsp = runFunction(request(xr, { input, observed: o }));
      expect((rsp.desired!.composite!.resource as Obj).status.readyReplicas, String(bad)).toBe(0);
    }
  });

  it('switching a running Object cluster to Direct is refused (FATAL), nothing is rendered', () => {
    const observed = observedFor(xr, { spec: { mode: 'Object' } });
    const rsp = runFunction(request({ ...xr, spec: { ...xr.spec, replicas: 5 } }, { input: { spec: { mode: 'Direct' } }, observed }));
    expect(fatalOf(rsp)).toHaveLength(1);
    expect(fatalOf(rsp)[0]!.message).toMatch(/^PlanDay2Changes: input\.spec\.mode: /);
    expect(rsp.desired!.resources).toEqual({});
  });

  it('a kept Raft port colliding with the moved client port is FATAL naming both fields', () => {
    const observed = observedFor(xr, {});
    const moved = { ...xr, spec: { ...xr.spec, config: { port: 9093, grpcPort: 9500 } } };
    const rsp = runFunction(request(moved, { observed }));
    expect(fatalOf(rsp)).toHaveLength(1);
    expect(fatalOf(rsp)[0]!.message).toMatch(/^PlanDay2Changes: spec\.config\.port: 9093 is the Raft port .*spec\.config\.grpcPort/);
  });
});
