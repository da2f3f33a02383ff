import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FunctionInputSpec, StreamBusClusterSpec } from '../../src/api/schema.js';
import { renderCluster } from '../../src/render/index.js';
import { buildModel, checkClusterName, raftPeers } from '../../src/render/model.js';
import { brokerCommand } from '../../src/render/statefulset.js';
import { validateManifest } from '../helpers/k8s.js';
import { EXAMPLES, exampleXr } from '../helpers/fixtures.js';

type Obj = Record<string, any>;
const input = FunctionInputSpec.parse({});
const model = (spec: unknown, id = { name: 'sb', namespace: 'ns' }, inp = input) =>
  buildModel(id, StreamBusClusterSpec.parse(spec), inp);
const byKey = (spec: unknown, inp = input) => Object.fromEntries(renderCluster(model(spec, undefined, inp)).map((c) => [c.key, c.manifest as Obj]));

describe('broker.yaml', () => {
  it('holds exactly the keys the broker reads, with one peer per replica and ids 1..N', () => {
    const cfg = parse(byKey({ replicas: 3 }).config.data['broker.yaml']);
    expect(cfg).toEqual({
      server: { host: '0.0.0.0', port: 9092, http_port: 8081 },
      storage: { data_dir: '/data' },
      cluster: {
        raft: { data_dir: '/raft' },
        peers: [
          '1:sb-0.sb-headless.ns.svc.cluster.local:9093',
          '2:sb-1.sb-headless.ns.svc.cluster.local:9093',
          '3:sb-2.sb-headless.ns.svc.cluster.local:9093',
        ],
      },
      observability: { logging: { level: 'info' } },
    });
    // never server.broker_id in the shared file: it is per pod
    expect(cfg.server.broker_id).toBeUndefined();
  });

  it.each([
    [{ replicas: 1 }, 1],
    [{ replicas: 5 }, 5],
    [{ replicas: 100 }, 100],
  ])('renders %j with %i peers, each splitting into exactly 3 parts with unique non-zero ids', (spec, n) => {
    const peers = raftPeers(model(spec));
    expect(peers).toHaveLength(n);
    const ids = peers.map((p) => {
      const parts = p.split(':');
      expect(parts).toHaveLength(3);
      return Number(parts[0]);
    });
    expect(new Set(ids).size).toBe(n);
    expect(Math.min(...ids)).toBe(1);
  });

  it('uses the cluster domain from the function input and the configured ports', () => {
    const m = model({ replicas: 2, config: { port: 19092, httpPort: 18081, grpcPort: 19093 } }, { name: 'a', namespace: 'b' }, FunctionInputSpec.parse({ clusterDomain: 'corp.example' }));
    expect(raftPeers(m)).toEqual(['1:a-0.a-headless.b.svc.corp.example:19093', '2:a-1.a-headless.b.svc.corp.example:19093']);
    const cfg = parse((renderCluster(m)[0]!.manifest as Obj).data['broker.yaml']);
    expect(cfg.server).toEqual({ host: '0.0.0.0', port: 19092, http_port: 18081 });
  });

  it('raftPort overrides grpcPort for Raft', () => {
    expect(raftPeers(model({ replicas: 1, config: { raftPort: 7000 } }))).toEqual(['1:sb-0.sb-headless.ns.svc.cluster.local:7000']);
  });

  it('observability.logging.level overrides config.logLevel', () => {
    const cfg = parse(byKey({ config: { logLevel: 'warn' }, observability: { logging: { level: 'debug' } } }).config.data['broker.yaml']);
    expect(cfg.observability.logging.level).toBe('debug');
  });
});

describe('StatefulSet', () => {
  const sts = byKey({ replicas: 3, storage: { class: 'fast', size: '20Gi', raftSize: '4Gi' }, resources: { requests: { cpu: '500m', memory: 1 } } }).statefulset;
  const pod = sts.spec.template.spec;
  const c = pod.containers[0];

  it('derives the broker id from the pod ordinal in the container shell', () => {
    expect(c.command).toEqual(['/bin/sh', '-c']);
    expect(c.args[0]).toBe('exec /app/streambus-broker --config=/etc/streambus/broker.yaml --broker-id=$(( ${POD_NAME##*-} + 1 ))');
    expect(c.env[0]).toEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    // never the STREAMBUS_SERVER / _CLUSTER / _STORAGE variables that shadow whole subtrees
    expect(c.env.map((e: Obj) => e.name).filter((n: string) => /^STREAMBUS_(SERVER|CLUSTER|STORAGE)$/.test(n))).toEqual([]);
  });

  it('evaluates the id like sh would: sb-0 → 1, sb-12 → 13, my-long-name-4 → 5', () => {
    for (const [pod, id] of [['sb-0', 1], ['sb-12', 13], ['my-long-name-4', 5]] as const) {
      const ordinal = pod.slice(pod.lastIndexOf('-') + 1);
      expect(Number(ordinal) + 1).toBe(id);
    }
    expect(brokerCommand().args[0]).toContain('${POD_NAME##*-}');
  });

  it('mounts the config where --config reads it, and data/raft where broker.yaml points', () => {
    expect(c.volumeMounts).toEqual([
      { name: 'config', mountPath: '/etc/streambus', readOnly: true },
      { name: 'data', mountPath: '/data' },
      { name: 'raft', mountPath: '/raft' },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'config', configMap: { name: 'sb-config' } },
      { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    ]);
  });

  it('has data and raft claim templates from storage.*', () => {
    expect(sts.spec.volumeClaimTemplates.map((t: Obj) => [t.metadata.name, t.spec.storageClassName, t.spec.resources.requests.storage])).toEqual([
      ['data', 'fast', '20Gi'],
      ['raft', 'fast', '4Gi'],
    ]);
  });

  it('probes work with the real broker: never /health', () => {
    expect(c.livenessProbe.httpGet.path).toBe('/health/live');
    expect(c.startupProbe.httpGet.path).toBe('/health/ready');
    expect(c.readinessProbe.tcpSocket.port).toBe('client');
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(90);
    expect(JSON.stringify(c)).not.toMatch(/"\/health"/);
  });

  it('runs as the image user 1000 with fsGroup, Parallel, RollingUpdate', () => {
    expect(pod.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true });
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(sts.spec.updateStrategy.type).toBe('RollingUpdate');
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: 1 } });
  });

  it('keeps pod labels off the selector', () => {
    const s = byKey({ podLabels: { team: 'x', 'app.kubernetes.io/name': 'hijack' } }).statefulset;
    expect(s.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'streambus-broker', 'app.kubernetes.io/instance': 'sb' });
    expect(s.spec.template.metadata.labels.team).toBe('x');
    // the selector labels always win on the pod template, so the selector keeps matching
    expect(s.spec.template.metadata.labels['app.kubernetes.io/name']).toBe('streambus-broker');
  });

  it('omits storageClassName when neither spec nor platform sets one', () => {
    expect(byKey({}).statefulset.spec.volumeClaimTemplates[0].spec.storageClassName).toBeUndefined();
    expect(byKey({}, FunctionInputSpec.parse({ defaultStorageClass: 'gp3' })).statefulset.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('gp3');
  });

  it('image: tag > version > platform default', () => {
    expect(model({}).image).toBe('ghcr.io/gstreamio/streambus/broker:v1.0.1');
    expect(model({ version: 'v1.0.0' }).image).toBe('ghcr.io/gstreamio/streambus/broker:v1.0.0');
    expect(model({ version: 'v1.0.0', image: { repository: 'r/b', tag: 't' } }).image).toBe('r/b:t');
  });
});

describe('Services', () => {
  it('headless publishes not-ready addresses and carries the raft port', () => {
    const svc = byKey({})['headless-service'];
    expect(svc.metadata.name).toBe('sb-headless');
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.publishNotReadyAddresses).toBe(true);
    expect(svc.spec.ports.map((p: Obj) => [p.name, p.port])).toEqual([['client', 9092], ['raft', 9093], ['metrics', 8081]]);
  });
  it('client service exposes client and http', () => {
    const svc = byKey({})['client-service'];
    expect(svc.metadata.name).toBe('sb');
    expect(svc.spec.ports.map((p: Obj) => p.port)).toEqual([9092, 8081]);
  });
});

describe('cluster names', () => {
  it.each([
    ['sb', true],
    ['a'.repeat(52), true],
    ['a'.repeat(53), false],
    ['1abc', false],
    ['Upper', false],
    ['has_underscore', false],
    ['trailing-', false],
  ])('%s valid=%s', (name, ok) => {
    expect(checkClusterName(name) === undefined).toBe(ok);
  });
});

describe('every example renders manifests valid against the Kubernetes schemas', () => {
  it.each(EXAMPLES)('%s', (ex) => {
    const xr = exampleXr(ex) as Obj;
    const spec = StreamBusClusterSpec.parse(xr.spec);
    const out = renderCluster(buildModel({ name: xr.metadata.labels['crossplane.io/claim-name'], namespace: xr.metadata.labels['crossplane.io/claim-namespace'] }, spec, input));
    expect(out.length).toBeGreaterThanOrEqual(4);
    for (const c of out) expect(() => validateManifest(c.manifest)).not.toThrow();
  });

  it('the validator does reject a broken manifest', () => {
    const sts = structuredClone(byKey({}).statefulset);
    sts.spec.template.spec.containers[0].ports[0].containerPort = 'not-a-number';
    expect(() => validateManifest(sts)).toThrow(/containerPort/);
  });
});

describe('determinism', () => {
  it('same spec → byte-identical output', () => {
    const spec = exampleXr('production').spec;
    const a = JSON.stringify(renderCluster(model(spec)));
    const b = JSON.stringify(renderCluster(model(structuredClone(spec))));
    expect(a).toBe(b);
  });
});
