/**
 * The real `crossplane render` (crank, installed through the Go module proxy) against the real function server,
 * on the minimal example.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { crossplaneRender, functionsFile } from '../helpers/render.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { validateManifest } from '../helpers/k8s.js';

type Obj = Record<string, any>;
const crossplane = requireTool('crossplane', 'the crossplane render e2e tests need the Crossplane CLI');

describe.skipIf(!crossplane)('crossplane render examples/minimal', () => {
  let srv: RunningServer;
  let docs: Obj[];
  let stdout: string;
  beforeAll(async () => {
    srv = await startServer();
    const out = await crossplaneRender(crossplane!, 'examples/minimal/xr.yaml', 'compositions/composition.yaml', functionsFile(srv.port));
    docs = out.docs;
    stdout = out.stdout;
  });
  afterAll(async () => {
    await srv?.stop();
  });

  const objects = () => docs.filter((d) => d.kind === 'Object');
  const manifest = (kind: string, name?: string) =>
    objects()
      .map((o) => o.spec.forProvider.manifest)
      .find((m: Obj) => m.kind === kind && (!name || m.metadata.name === name));

  it('prints the XR and one Object per composed resource', () => {
    expect(docs[0]!.kind).toBe('XStreamBusCluster');
    expect(objects()).toHaveLength(6);
    expect(objects().every((o) => o.apiVersion === 'kubernetes.crossplane.io/v1alpha2')).toBe(true);
    const kinds = objects().map((o) => `${o.spec.forProvider.manifest.kind}/${o.spec.forProvider.manifest.metadata.name}`).sort();
    expect(kinds).toEqual([
      'ConfigMap/streambus-minimal-config',
      'NetworkPolicy/streambus-minimal-brokers',
      'PodDisruptionBudget/streambus-minimal',
      'Service/streambus-minimal',
      'Service/streambus-minimal-headless',
      'StatefulSet/streambus-minimal',
    ]);
    // render records which composition resource each object is
    const names = objects().map((o) => o.metadata.annotations['crossplane.io/composition-resource-name']).sort();
    expect(names).toEqual(['client-service', 'config', 'headless-service', 'network-policy', 'pdb', 'statefulset']);
  });

  it('puts everything in the claim namespace', () => {
    for (const o of objects()) expect(o.spec.forProvider.manifest.metadata.namespace).toBe('default');
  });

  it('renders one peer per replica with ids 1..N from stable pod DNS names', () => {
    const cfg = parse(manifest('ConfigMap').data['broker.yaml']);
    expect(cfg.cluster.peers).toEqual([0, 1, 2].map((i) => `${i + 1}:streambus-minimal-${i}.streambus-minimal-headless.default.svc.cluster.local:9093`));
    expect(cfg.storage.data_dir).toBe('/data');
    expect(cfg.cluster.raft.data_dir).toBe('/raft');
    expect(cfg.server).toEqual({ host: '0.0.0.0', port: 9092, http_port: 8081 });
  });

  it('has both volume claim templates and probes that work with the broker', () => {
    const sts = manifest('StatefulSet');
    expect(sts.spec.volumeClaimTemplates.map((t: Obj) => [t.metadata.name, t.spec.resources.requests.storage, t.spec.storageClassName])).toEqual([
      ['data', '10Gi', 'standard'],
      ['raft', '5Gi', 'standard'],
    ]);
    const c = sts.spec.template.spec.containers[0];
    expect(c.livenessProbe.httpGet.path).toBe('/health/live');
    expect(c.startupProbe.httpGet.path).toBe('/health/ready');
    expect(c.readinessProbe.tcpSocket.port).toBe('client');
    expect(sts.spec.replicas).toBe(3);
  });

  it('every composed manifest validates against its Kubernetes schema', () => {
    for (const o of objects()) validateManifest(o.spec.forProvider.manifest);
  });

  it('sets the XR status', () => {
    expect(docs[0]!.status.replicas).toBe(3);
    expect(docs[0]!.status.phase).toBe('Pending');
    expect(stdout).toContain('bootstrapServers');
  });
});
