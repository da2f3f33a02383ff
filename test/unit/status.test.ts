/** Readiness, status, conditions, connection details and day-2 safety (issue: status you can trust). */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Ready, Severity, Status, Target } from '@crossplane-org/function-sdk-typescript';
import { FunctionInputSpec, StreamBusClusterSpec } from '../../src/api/schema.js';
import { CA_REQUIREMENT, runFunction } from '../../src/function/handler.js';
import { READINESS_RULES, isReady } from '../../src/render/readiness.js';
import { clusterHealth } from '../../src/render/status.js';
import { buildModel } from '../../src/render/model.js';
import { compositionInput, exampleXr, loadYaml, request } from '../helpers/fixtures.js';
import { observedFor, readyStsStatus } from '../helpers/observed.js';

type Obj = Record<string, any>;
const OBJECT = compositionInput();
const DIRECT = compositionInput('compositions/composition-direct.yaml');
const xr = exampleXr('minimal') as Obj;
const withPhase = (x: Obj, phase?: string) => ({ ...structuredClone(x), ...(phase ? { status: { phase } } : {}) });
const cond = (rsp: ReturnType<typeof runFunction>, type: string) => rsp.conditions.find((c) => c.type === type)!;
const sts3 = (status: Obj, generation = 1) => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { generation }, spec: { replicas: 3 }, status });

describe('readiness: one rule per kind', () => {
  const ready = readyStsStatus(3);
  it.each<[string, Obj | undefined, boolean]>([
    ['StatefulSet', sts3(ready), true],
    ['StatefulSet', sts3({ ...ready, readyReplicas: 2 }), false],
    ['StatefulSet', sts3({ ...ready, updatedReplicas: 2 }), false],
    ['StatefulSet', sts3({ ...ready, updateRevision: 'rev-2' }), false],
    ['StatefulSet', sts3(ready, 2), false],
    ['StatefulSet', sts3({}), false],
    ['StatefulSet', undefined, false],
    ['Service', { kind: 'Service', spec: { type: 'ClusterIP' } }, true],
    ['Service', { kind: 'Service', spec: { clusterIP: 'None' } }, true],
    ['Service', { kind: 'Service', spec: { type: 'LoadBalancer' }, status: {} }, false],
    ['Service', { kind: 'Service', spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } }, true],
    ['ConfigMap', { kind: 'ConfigMap' }, true],
    ['Secret', { kind: 'Secret' }, true],
    ['NetworkPolicy', { kind: 'NetworkPolicy' }, true],
    ['ResourceQuota', { kind: 'ResourceQuota', status: {} }, false],
    ['ResourceQuota', { kind: 'ResourceQuota', status: { hard: { pods: '3' } } }, true],
    ['PodDisruptionBudget', { kind: 'PodDisruptionBudget', metadata: { generation: 1 } }, false],
    ['PodDisruptionBudget', { kind: 'PodDisruptionBudget', metadata: { generation: 1 }, status: { observedGeneration: 1 } }, true],
    ['ServiceMonitor', { kind: 'ServiceMonitor' }, true],
    ['PrometheusRule', { kind: 'PrometheusRule' }, true],
    ['ConfigMap', undefined, false],
  ])('%s %j → %s', (kind, observed, want) => {
    expect(isReady(kind, observed)).toBe(want);
  });

  it('has a rule for every kind the function composes', () => {
    for (const k of ['StatefulSet', 'Service', 'ConfigMap', 'Secret', 'NetworkPolicy', 'ResourceQuota', 'PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule']) {
      expect(READINESS_RULES[k], k).toBeDefined();
    }
  });
});

describe('phase rules', () => {
  const m = buildModel({ name: 'sb', namespace: 'ns' }, StreamBusClusterSpec.parse({ replicas: 3 }), FunctionInputSpec.parse({}));
  const ready = readyStsStatus(3);
  it.each<[string, Obj | undefined, string | undefined, string]>([
    ['nothing observed', undefined, undefined, 'Pending'],
    ['first brokers coming up', sts3({ ...ready, readyReplicas: 1 }), undefined, 'Creating'],
    ['all ready', sts3(ready), 'Creating', 'Running'],
    ['one down after running', sts3({ ...ready, readyReplicas: 2 }), 'Running', 'Degraded'],
    ['rolling', sts3({ ...ready, readyReplicas: 2, updatedReplicas: 1, updateRevision: 'rev-2' }), 'Running', 'Updating'],
    ['quorum lost', sts3({ ...ready, readyReplicas: 1 }), 'Running', 'Failed'],
    ['quorum lost mid-roll', sts3({ ...ready, readyReplicas: 0, updateRevision: 'rev-2' }), 'Updating', 'Failed'],
    ['recovered', sts3(ready), 'Failed', 'Running'],
  ])('%s → %s', (_n, sts, previous, phase) => {
    expect(clusterHealth(m, sts, previous).phase).toBe(phase);
  });
});

describe('status and conditions', () => {
  it.each([
    ['Object', OBJECT],
    ['Direct', DIRECT],
  ])('a running cluster (%s mode): every resource ready, phase Running, BrokersReady True', (_mode, input) => {
    const rsp = runFunction(request(withPhase(xr, 'Running'), { input, observed: observedFor(xr, input) }));
    for (const [k, r] of Object.entries(rsp.desired!.resources)) expect(r.ready, k).toBe(Ready.READY_TRUE);
    const status = (rsp.desired!.composite!.resource as Obj).status;
    expect(status).toMatchObject({ phase: 'Running', replicas: 3, readyReplicas: 3 });
    expect(cond(rsp, 'BrokersReady')).toMatchObject({ status: Status.STATUS_CONDITION_TRUE, reason: 'AllBrokersReady', target: Target.TARGET_COMPOSITE_AND_CLAIM });
    expect(rsp.meta!.ttl!.seconds).toBe(60);
  });

  it('a degraded cluster names the StatefulSet and the count', () => {
    const rsp = runFunction(request(withPhase(xr, 'Running'), { input: OBJECT, observed: observedFor(xr, OBJECT, { sts: { readyReplicas: 2 } }) }));
    expect((rsp.desired!.composite!.resource as Obj).status.phase).toBe('Degraded');
    expect(rsp.desired!.resources.statefulset!.ready).toBe(Ready.READY_FALSE);
    expect(cond(rsp, 'BrokersReady')).toMatchObject({ status: Status.STATUS_CONDITION_FALSE, reason: 'BrokersNotReady', message: 'StatefulSet default/streambus-minimal: 2/3 brokers ready (phase Degraded)' });
    expect(rsp.meta!.ttl!.seconds).toBe(20);
  });

  it('observedGeneration comes from the XR', () => {
    const x = structuredClone(xr);
    x.metadata.generation = 7;
    expect((runFunction(request(x)).desired!.composite!.resource as Obj).status.observedGeneration).toBe(7);
  });
});

describe('connection details', () => {
  it('publishes bootstrap servers, HTTP and metrics endpoints on the XR', () => {
    const d = runFunction(request(xr)).desired!.composite!.connectionDetails;
    expect(Object.keys(d).sort()).toEqual(['bootstrapServers', 'httpEndpoint', 'metricsEndpoint']);
    expect(d.bootstrapServers!.toString()).toBe('streambus-minimal-0.streambus-minimal-headless.default.svc.cluster.local:9092');
    expect(d.httpEndpoint!.toString()).toBe('http://streambus-minimal.default.svc.cluster.local:8081');
  });

  it('with TLS: asks Crossplane for the CA Secret, then publishes its ca.crt', () => {
    const secure = exampleXr('secure');
    const first = runFunction(request(secure));
    const sel = { apiVersion: 'v1', kind: 'Secret', matchName: 'streambus-ca-cert', namespace: 'default' };
    expect(first.requirements!.extraResources[CA_REQUIREMENT]).toEqual(sel);
    expect(first.requirements!.resources[CA_REQUIREMENT]).toEqual(sel);
    expect(first.desired!.composite!.connectionDetails['ca.crt']).toBeUndefined();

    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const req = request(secure);
    req.requiredResources = { [CA_REQUIREMENT]: { items: [{ resource: { apiVersion: 'v1', kind: 'Secret', data: { 'ca.crt': Buffer.from(pem).toString('base64') } }, connectionDetails: {}, ready: 0 }] } };
    const second = runFunction(req);
    expect(second.desired!.composite!.connectionDetails['ca.crt']!.toString()).toBe(pem);

    const missing = request(secure);
    missing.extraResources = { [CA_REQUIREMENT]: { items: [] } };
    expect(runFunction(missing).results.map((r) => r.reason)).toContain('CACertificateMissing');
  });

  it('Direct mode composes a connection Secret in the claim namespace', () => {
    const rsp = runFunction(request(xr, { input: DIRECT }));
    const s = rsp.desired!.resources['connection-secret']!.resource as Obj;
    expect(s.kind).toBe('Secret');
    expect(s.metadata).toMatchObject({ name: 'streambus-minimal-connection', namespace: 'default' });
    expect(Buffer.from(s.data.bootstrapServers, 'base64').toString()).toContain('streambus-minimal-0.');
    expect(runFunction(request(xr, { input: OBJECT })).desired!.resources['connection-secret']).toBeUndefined();
  });

  it('the XRD lists the connection secret keys', () => {
    expect(loadYaml('apis/xrd.yaml').spec.connectionSecretKeys).toEqual(['bootstrapServers', 'httpEndpoint', 'metricsEndpoint', 'ca.crt']);
  });
});

describe('day-2 safety: refused changes keep the last good state', () => {
  const running = withPhase(xr, 'Running');
  const observed = (input: Obj) => observedFor(xr, input);
  const vct = (rsp: ReturnType<typeof runFunction>) => {
    const r = rsp.desired!.resources.statefulset!.resource as Obj;
    const sts = r.kind === 'Object' ? r.spec.forProvider.manifest : r;
    return Object.fromEntries(sts.spec.volumeClaimTemplates.map((t: Obj) => [t.metadata.name, [t.spec.resources.requests.storage, t.spec.storageClassName]]));
  };
  const stsOf = (rsp: ReturnType<typeof runFunction>) => {
    const r = rsp.desired!.resources.statefulset!.resource as Obj;
    return r.kind === 'Object' ? r.spec.forProvider.manifest : r;
  };
  const change = (patch: (spec: Obj) => void, annotations?: Obj) => {
    const x = structuredClone(running);
    patch(x.spec);
    if (annotations) x.metadata.annotations = annotations;
    return x;
  };

  it.each([
    ['Object', OBJECT],
    ['Direct', DIRECT],
  ])('storage shrink is refused and the observed size kept (%s mode)', (_m, input) => {
    const rsp = runFunction(request(change((s) => (s.storage.size = '5Gi')), { input, observed: observed(input) }));
    expect(vct(rsp)).toEqual({ data: ['10Gi', 'standard'], raft: ['5Gi', 'standard'] });
    expect(cond(rsp, 'ConfigurationValid')).toMatchObject({ status: Status.STATUS_CONDITION_FALSE, reason: 'StorageShrinkRefused', target: Target.TARGET_COMPOSITE_AND_CLAIM });
    expect(cond(rsp, 'ConfigurationValid').message).toMatch(/^spec\.storage\.size: keeping 10Gi \(requested 5Gi\)/);
    expect(rsp.results.find((r) => r.reason === 'StorageShrinkRefused')!.severity).toBe(Severity.SEVERITY_WARNING);
    expect(Object.keys(rsp.desired!.resources).sort()).toEqual(Object.keys(observed(input)).sort());
  });

  it.each<[string, (s: Obj) => void, string, Obj]>([
    ['raft size grow', (s) => (s.storage.raftSize = '8Gi'), 'StorageChangeRefused', { data: ['10Gi', 'standard'], raft: ['5Gi', 'standard'] }],
    ['storage class change', (s) => (s.storage.class = 'fast'), 'StorageClassChangeRefused', { data: ['10Gi', 'standard'], raft: ['5Gi', 'standard'] }],
  ])('%s is refused', (_n, patch, reason, kept) => {
    const rsp = runFunction(request(change(patch), { input: OBJECT, observed: observed(OBJECT) }));
    expect(vct(rsp)).toEqual(kept);
    expect(cond(rsp, 'ConfigurationValid').reason).toBe(reason);
  });

  it('an equal size written differently is not a change', () => {
    const rsp = runFunction(request(change((s) => (s.storage.size = '10240Mi')), { input: OBJECT, observed: observed(OBJECT) }));
    expect(cond(rsp, 'ConfigurationValid').status).toBe(Status.STATUS_CONDITION_TRUE);
  });

  it('a replica change holds at the observed count, peers included', () => {
    const rsp = runFunction(request(change((s) => (s.replicas = 5)), { input: OBJECT, observed: observed(OBJECT) }));
    expect(stsOf(rsp).spec.replicas).toBe(3);
    const cm = (rsp.desired!.resources.config!.resource as Obj).spec.forProvider.manifest;
    expect(parse(cm.data['broker.yaml']).cluster.peers).toHaveLength(3);
    expect(cond(rsp, 'ConfigurationValid')).toMatchObject({ reason: 'ReplicaChangeRefused' });
    expect(cond(rsp, 'ConfigurationValid').message).toContain('streambus.io/allow-replica-change');
    expect((rsp.desired!.composite!.resource as Obj).status.replicas).toBe(3);
  });

  it('the override annotation lets a replica change through', () => {
    const rsp = runFunction(request(change((s) => (s.replicas = 5), { 'streambus.io/allow-replica-change': 'true' }), { input: OBJECT, observed: observed(OBJECT) }));
    expect(stsOf(rsp).spec.replicas).toBe(5);
    expect(cond(rsp, 'ConfigurationValid').status).toBe(Status.STATUS_CONDITION_TRUE);
  });

  it('several refusals at once are all reported', () => {
    const rsp = runFunction(request(change((s) => { s.replicas = 1; s.storage.size = '1Gi'; }), { input: OBJECT, observed: observed(OBJECT) }));
    expect(cond(rsp, 'ConfigurationValid').reason).toBe('ChangesRefused');
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_WARNING).map((r) => r.reason)).toEqual(expect.arrayContaining(['ReplicaChangeRefused', 'StorageShrinkRefused']));
  });

  it('safe changes roll: image and configuration changes alter the pod template (config hash)', () => {
    const base = runFunction(request(running, { input: OBJECT, observed: observed(OBJECT) }));
    const img = runFunction(request(change((s) => (s.image.tag = 'v9')), { input: OBJECT, observed: observed(OBJECT) }));
    const cfg = runFunction(request(change((s) => (s.config.logLevel = 'debug')), { input: OBJECT, observed: observed(OBJECT) }));
    const tmpl = (r: ReturnType<typeof runFunction>) => stsOf(r).spec.template;
    expect(tmpl(img).spec.containers[0].image).toBe('streambus/broker:v9');
    const hash = (r: ReturnType<typeof runFunction>) => tmpl(r).metadata.annotations['streambus.io/config-hash'];
    expect(hash(cfg)).not.toBe(hash(base));
    expect(hash(img)).toBe(hash(base));
    expect(stsOf(base).spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    expect(stsOf(base).spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });
});

describe('day-2 safety: more refusals and edge cases', () => {
  const running = withPhase(xr, 'Running');
  const stsOf = (rsp: ReturnType<typeof runFunction>) => {
    const r = rsp.desired!.resources.statefulset!.resource as Obj;
    return r.kind === 'Object' ? r.spec.forProvider.manifest : r;
  };
  const change = (patch: (spec: Obj) => void) => {
    const x = structuredClone(running);
    patch(x.spec);
    return x;
  };

  it.each<[string, (s: Obj) => void]>([
    ['spec.config.grpcPort', (s) => (s.config.grpcPort = 9500)],
    ['spec.config.raftPort', (s) => (s.config.raftPort = 9500)],
  ])('a Raft port change (%s) is refused: peers, container port and NetworkPolicy keep 9093', (field, patch) => {
    const rsp = runFunction(request(change(patch), { input: OBJECT, observed: observedFor(xr, OBJECT) }));
    expect(cond(rsp, 'ConfigurationValid')).toMatchObject({ status: Status.STATUS_CONDITION_FALSE, reason: 'RaftPortChangeRefused' });
    expect(cond(rsp, 'ConfigurationValid').message).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}: keeping Raft port 9093 \\(requested 9500\\)`));
    expect(stsOf(rsp).spec.template.spec.containers[0].ports.find((p: Obj) => p.name === 'raft').containerPort).toBe(9093);
    const np = (rsp.desired!.resources['network-policy']!.resource as Obj).spec.forProvider.manifest;
    expect(np.spec.ingress[1].ports).toEqual([{ protocol: 'TCP', port: 9093 }]);
    const cm = (rsp.desired!.resources.config!.resource as Obj).spec.forProvider.manifest;
    expect(parse(cm.data['broker.yaml']).cluster.peers.every((p: string) => p.endsWith(':9093'))).toBe(true);
  });

  it('before provider-kubernetes has observed the StatefulSet, changes are judged against what the Object applies', () => {
    const observed = observedFor(xr, OBJECT);
    delete observed.statefulset!.status; // created, not yet observed: no status.atProvider.manifest
    const rsp = runFunction(request(change((s) => (s.replicas = 5)), { input: OBJECT, observed }));
    expect(stsOf(rsp).spec.replicas).toBe(3);
    expect(cond(rsp, 'ConfigurationValid').reason).toBe('ReplicaChangeRefused');
    expect(rsp.desired!.resources.statefulset!.ready).toBe(Ready.READY_FALSE);
  });

  it('a refused volume growth leaves room in the ResourceQuota to expand the claims by hand', () => {
    const mt = exampleXr('multi-tenant') as Obj;
    const grown = structuredClone(mt);
    grown.spec.storage.size = '300Gi'; // from 200Gi; raftSize 100Gi
    grown.status = { phase: 'Running' };
    const rsp = runFunction(request(grown, { input: OBJECT, observed: observedFor(mt, OBJECT) }));
    expect(cond(rsp, 'ConfigurationValid').reason).toBe('StorageChangeRefused');
    const sts = stsOf(rsp);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('200Gi');
    const quota = (rsp.desired!.resources['resource-quota']!.resource as Obj).spec.forProvider.manifest;
    expect(quota.spec.hard['requests.storage']).toBe('2000Gi'); // 5 × (300Gi + 100Gi), not 5 × (200Gi + 100Gi)
  });

  it('requests above limits are refused naming the field (Kubernetes would reject the pods)', () => {
    const x = change((s) => (s.resources = { requests: { cpu: '4', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } }));
    const rsp = runFunction(request(x));
    expect(rsp.results[0]!.severity).toBe(Severity.SEVERITY_FATAL);
    expect(rsp.results[0]!.message).toContain('spec.resources.requests.cpu: must not exceed limits.cpu (1)');
  });
});

describe('render cache: cached answers equal uncached ones where the guard and the CA are involved', () => {
  const cases: [string, () => ReturnType<typeof request>][] = [];
  const running = withPhase(xr, 'Running');
  const shrink = structuredClone(running);
  shrink.spec.storage.size = '1Gi';
  const replicas = structuredClone(running);
  replicas.spec.replicas = 5;
  cases.push(['refused shrink', () => request(shrink, { input: OBJECT, observed: observedFor(xr, OBJECT) })]);
  // Same XR and spec, two observed StatefulSets that differ only in their storage class: one without, one "fast".
  const noClass = observedFor(xr, OBJECT, { mutateSts: (s) => s.spec.volumeClaimTemplates.forEach((t: Obj) => delete t.spec.storageClassName) });
  const fastClass = observedFor(xr, OBJECT, { mutateSts: (s) => s.spec.volumeClaimTemplates.forEach((t: Obj) => (t.spec.storageClassName = 'fast')) });
  cases.push(['replica change, observed without a class', () => request(replicas, { input: OBJECT, observed: noClass })]);
  cases.push(['replica change, observed with class fast', () => request(replicas, { input: OBJECT, observed: fastClass })]);
  const secure = exampleXr('secure');
  cases.push(['TLS, no CA yet', () => request(secure)]);
  cases.push([
    'TLS with the CA',
    () => {
      const r = request(secure);
      r.requiredResources = { 'tls-ca': { items: [{ resource: { apiVersion: 'v1', kind: 'Secret', data: { 'ca.crt': Buffer.from('PEM').toString('base64') } }, connectionDetails: {}, ready: 0 }] } };
      return r;
    },
  ]);

  it('in every order, every answer equals the uncached one', async () => {
    const { configureCaches } = await import('../../src/function/handler.js');
    try {
      configureCaches(0);
      const cold = cases.map(([, mk]) => JSON.stringify(runFunction(mk())));
      configureCaches(64);
      for (const order of [cases.map((_, i) => i), cases.map((_, i) => cases.length - 1 - i)]) {
        for (const i of order) expect(JSON.stringify(runFunction(cases[i]![1]())), cases[i]![0]).toBe(cold[i]);
      }
      const fast = JSON.parse(cold[2]!);
      expect(fast.desired.resources.statefulset.resource.spec.forProvider.manifest.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('fast');
      const none = JSON.parse(cold[1]!);
      expect(none.desired.resources.statefulset.resource.spec.forProvider.manifest.spec.volumeClaimTemplates[0].spec.storageClassName).toBeUndefined();
    } finally {
      configureCaches(512);
    }
  });
});
