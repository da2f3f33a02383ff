/**
 * The data path (issue 20): StreamBus v1.0.1 does not replicate topics and messages between brokers and its client
 * uses only the first address it is given, so every client-facing address reaches one broker, the data broker
 * (ordinal 0): the client Service's selector, the connection details' bootstrapServers, status.endpoints and the
 * composed connection Secret, for every example, both composition modes and both APIs. The condition
 * DataReplicated and a WARNING say so; the platform policy can cap multi-broker clusters; the choice comes from
 * one table (render/enforcement.ts BROKER), so a replicating broker brings every broker back.
 *
 * Unit layer: the function's answers, no cluster. The real broker and client are in test/e2e/datapath.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Severity, Status, Target } from '@crossplane-org/function-sdk-typescript';
import { configureCaches, DEFAULT_CACHE_ENTRIES, runFunction } from '../../src/function/handler.js';
import { BROKER } from '../../src/render/enforcement.js';
import { POD_NAME_LABEL } from '../../src/render/dataplane.js';
import { clone, compositionInput, EXAMPLES, exampleXr, loadYaml, request } from '../helpers/fixtures.js';
import { observedFor } from '../helpers/observed.js';

type Obj = Record<string, any>;
const unwrap = (o: Obj) => (o.kind === 'Object' ? o.spec.forProvider.manifest : o);
const resources = (rsp: ReturnType<typeof runFunction>) => Object.fromEntries(Object.entries(rsp.desired!.resources).map(([k, v]) => [k, unwrap(v.resource as Obj)]));
const cond = (rsp: ReturnType<typeof runFunction>, type: string) => rsp.conditions.find((c) => c.type === type);
const fatal = (rsp: ReturnType<typeof runFunction>) => rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
const withInput = (file: string, mode: string, policy: Obj = {}) => {
  const input = clone(compositionInput(file)) as Obj;
  return { ...input, spec: { ...input.spec, mode, policy: { ...(input.spec.policy ?? {}), ...policy } } };
};

/** Every example, as a legacy XR (from its claim) and as a namespaced XR, in both composition modes. */
const CASES: [string, string, string, Obj][] = [];
for (const ex of EXAMPLES) {
  for (const mode of ['Object', 'Direct']) {
    CASES.push([ex, 'legacy', mode, { xr: exampleXr(ex), input: withInput(mode === 'Object' ? 'compositions/composition.yaml' : 'compositions/composition-direct.yaml', mode) }]);
    CASES.push([ex, 'namespaced', mode, { xr: loadYaml(`examples/${ex}/claim.yaml`), input: withInput(mode === 'Object' ? 'compositions/v2/composition.yaml' : 'compositions/v2/composition-direct.yaml', mode) }]);
  }
}

describe('every client-facing address reaches the data broker (ordinal 0)', () => {
  it.each(CASES)('%s (%s API, %s mode)', (_ex, _api, _mode, c) => {
    const rsp = runFunction(request(c.xr, { input: c.input }));
    expect(fatal(rsp)).toEqual([]);
    const r = resources(rsp);
    const sts = r.statefulset!;
    const name: string = sts.metadata.name;
    const ns: string = sts.metadata.namespace;
    const data = `${name}-0.${name}-headless.${ns}.svc.cluster.local:${sts.spec.template.spec.containers.flatMap((x: Obj) => x.ports ?? []).find((p: Obj) => p.name === 'client').containerPort}`;

    // The client Service selects exactly the data broker's pod: the brokers' selector plus its stable pod name.
    const svc = r['client-service']!;
    expect(svc.spec.selector).toEqual({ ...sts.spec.selector.matchLabels, [POD_NAME_LABEL]: `${name}-0` });
    expect(svc.spec.sessionAffinity).toBeUndefined();
    // The headless Service still covers every broker: the Raft peers dial each other through it.
    expect(r['headless-service']!.spec.selector).toEqual(sts.spec.selector.matchLabels);

    const status = (rsp.desired!.composite!.resource as Obj).status;
    expect(status.endpoints).toEqual([data]);
    expect(status.bootstrapServers).toBe(data);
    expect(status.httpEndpoint).toBe(`http://${name}.${ns}.svc.cluster.local:8081`);
    const details = rsp.desired!.composite!.connectionDetails ?? {};
    if (c.xr.metadata.namespace === undefined) expect(Buffer.from(details.bootstrapServers!).toString()).toBe(data);
    const secret = r['connection-secret'];
    if (secret) expect(Buffer.from(secret.data.bootstrapServers, 'base64').toString()).toBe(data);
    if (c.xr.metadata.namespace !== undefined || c.input.spec.mode === 'Direct') expect(secret, 'a composed connection Secret').toBeDefined();

    // Rolling updates replace pods from the highest ordinal down, so the data broker is restarted last and once.
    expect(sts.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  });
});

describe('DataReplicated condition and WARNING', () => {
  it('a multi-broker cluster: DataReplicated=False NotReplicatedByBroker naming the broker version and the data broker, and a WARNING', () => {
    const rsp = runFunction(request(exampleXr('production')));
    const c = cond(rsp, 'DataReplicated')!;
    expect(c).toMatchObject({ status: Status.STATUS_CONDITION_FALSE, reason: 'NotReplicatedByBroker', target: Target.TARGET_COMPOSITE_AND_CLAIM });
    expect(c.message).toContain('StreamBus v1.0.1 does not replicate');
    expect(c.message).toContain('reaches broker streambus-production-0');
    expect(c.message).toContain('the other 4 brokers only add to the Raft metadata quorum');
    const w = rsp.results.filter((r) => r.reason === 'DataNotReplicated');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ severity: Severity.SEVERITY_WARNING, target: Target.TARGET_COMPOSITE_AND_CLAIM });
    expect(w[0]!.message).toMatch(/^PublishConnectionDetails: spec\.replicas: 5 brokers asked for; StreamBus v1\.0\.1 does not replicate/);
    // FeaturesEnforced lists replication among what the broker does not do.
    expect(cond(rsp, 'FeaturesEnforced')!.message).toContain('replicas (data replication)');
  });

  it('one broker: DataReplicated=False SingleBroker, no WARNING, nothing about replication in FeaturesEnforced', () => {
    const rsp = runFunction(request(exampleXr('dev')));
    expect(cond(rsp, 'DataReplicated')).toMatchObject({ status: Status.STATUS_CONDITION_FALSE, reason: 'SingleBroker' });
    expect(rsp.results.filter((r) => r.reason === 'DataNotReplicated')).toEqual([]);
    expect(cond(rsp, 'FeaturesEnforced')!.message).not.toContain('replication');
  });

  it('is reported in Direct mode and for namespaced XRs alike', () => {
    for (const [xr, input] of [
      [exampleXr('minimal'), withInput('compositions/composition-direct.yaml', 'Direct')],
      [loadYaml('examples/minimal/claim.yaml'), withInput('compositions/v2/composition.yaml', 'Object')],
    ] as const) {
      const rsp = runFunction(request(xr as Obj, { input }));
      expect(cond(rsp, 'DataReplicated')?.reason).toBe('NotReplicatedByBroker');
    }
  });
});

describe('the broker table decides, not the renderers', () => {
  // The table is a constant in production; flipping it here must not meet a render cached before the flip.
  beforeEach(() => configureCaches(0));
  afterEach(() => {
    BROKER.replicatesData = false;
    configureCaches(DEFAULT_CACHE_ENTRIES);
  });
  it('a broker that replicates gets every broker back: client Service, bootstrapServers, status.endpoints, DataReplicated=True', () => {
    BROKER.replicatesData = true;
    const rsp = runFunction(request(exampleXr('minimal')));
    const r = resources(rsp);
    expect(r['client-service']!.spec.selector).toEqual(r.statefulset!.spec.selector.matchLabels);
    expect(r['client-service']!.spec.sessionAffinity).toBe('ClientIP');
    const status = (rsp.desired!.composite!.resource as Obj).status;
    expect(status.endpoints).toEqual([0, 1, 2].map((i) => `streambus-minimal-${i}.streambus-minimal-headless.default.svc.cluster.local:9092`));
    expect(status.bootstrapServers).toBe(status.endpoints.join(','));
    expect(cond(rsp, 'DataReplicated')).toMatchObject({ status: Status.STATUS_CONDITION_TRUE, reason: 'ReplicatedByBroker' });
    expect(rsp.results.filter((x) => x.reason === 'DataNotReplicated')).toEqual([]);
    expect(cond(rsp, 'FeaturesEnforced')!.message).not.toContain('replication');
  });
});

describe('a replica change never moves the data path', () => {
  it('with the override, 3 → 5 keeps the client Service on pod 0 and bootstrapServers on broker 0', () => {
    const xr = clone(exampleXr('minimal')) as Obj;
    const observed = observedFor(xr, compositionInput());
    xr.spec.replicas = 5;
    xr.metadata.annotations = { 'streambus.io/allow-replica-change': 'true' };
    const rsp = runFunction(request(xr, { observed }));
    expect(fatal(rsp)).toEqual([]);
    const r = resources(rsp);
    expect(r.statefulset!.spec.replicas).toBe(5);
    expect(r['client-service']!.spec.selector[POD_NAME_LABEL]).toBe('streambus-minimal-0');
    expect((rsp.desired!.composite!.resource as Obj).status.bootstrapServers).toBe('streambus-minimal-0.streambus-minimal-headless.default.svc.cluster.local:9092');
  });
});

describe('PodDisruptionBudget', () => {
  it('allows one broker down, and evicts brokers that are not Ready (unhealthyPodEvictionPolicy: AlwaysAllow)', () => {
    const pdb = resources(runFunction(request(exampleXr('minimal')))).pdb!;
    expect(pdb.spec).toEqual({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: { 'app.kubernetes.io/name': 'streambus-broker', 'app.kubernetes.io/instance': 'streambus-minimal' } } });
  });
});

describe('platform policy: maxReplicasWithoutDataReplication', () => {
  const input = (cap: number) => withInput('compositions/composition.yaml', 'Object', { maxReplicasWithoutDataReplication: cap });
  it('refuses a new cluster above the cap with a FATAL naming spec.replicas and the policy', () => {
    const rsp = runFunction(request(exampleXr('production'), { input: input(3) }));
    const f = fatal(rsp);
    expect(f).toHaveLength(1);
    expect(f[0]!.reason).toBe('PolicyViolation');
    expect(f[0]!.message).toBe(
      'ApplyPlatformPolicy: spec.replicas: 5 brokers, more than 3 (input.spec.policy.maxReplicasWithoutDataReplication): StreamBus v1.0.1 does not replicate data, ' +
        'so extra brokers add Raft metadata peers, not data capacity or a second copy; ask for at most 3',
    );
    // A FATAL result passes the desired state through untouched: nothing is composed, nothing dropped.
    expect(rsp.desired!.resources).toEqual({});
  });
  it('1 refuses every multi-broker cluster and admits a single broker', () => {
    expect(fatal(runFunction(request(exampleXr('minimal'), { input: input(1) })))).toHaveLength(1);
    expect(fatal(runFunction(request(exampleXr('dev'), { input: input(1) })))).toEqual([]);
  });
  it('keeps a running cluster above the cap running, and refuses raising its count', () => {
    const xr = clone(exampleXr('minimal')) as Obj;
    const observed = observedFor(xr, compositionInput());
    const running = runFunction(request(xr, { input: input(1), observed }));
    expect(fatal(running)).toEqual([]);
    expect(Object.keys(running.desired!.resources)).toContain('statefulset');
    xr.spec.replicas = 5;
    xr.metadata.annotations = { 'streambus.io/allow-replica-change': 'true' };
    expect(fatal(runFunction(request(xr, { input: input(1), observed })))[0]!.message).toContain('spec.replicas: 5 brokers, more than 1');
  });
  it('the XRD-side schema refuses a cap below 1', () => {
    const rsp = runFunction(request(exampleXr('dev'), { input: input(0) }));
    expect(fatal(rsp)[0]!.message).toMatch(/^ValidateInput: input\.spec\.policy\.maxReplicasWithoutDataReplication/);
  });
});
