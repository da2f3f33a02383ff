/**
 * A real node (test/helpers/node.ts) in the real control plane (test/helpers/controlplane.ts): kubelet v1.34.1,
 * containerd and runc, CNI, kube-proxy and CoreDNS, beside Crossplane v2.2.1 and provider-kubernetes v1.2.1. One
 * control plane and one node serve every scenario of this file.
 *
 * What is real: the apiserver, scheduler, controllers, kubelet, container runtime, pod networking, Service routing
 * (kube-proxy's iptables rules), cluster DNS, Crossplane, provider-kubernetes, the StreamBus v1.0.1 broker and CLI
 * binaries. What is not (yet): the images. TEMPORARY until issue 22's images land: the broker pods and the client pod
 * run a throw-away test image made here (the unmodified upstream broker and CLI binaries from .tools/bin plus a
 * static busybox as /bin/sh, one layer, imported into the node's containerd), not the published broker image. The
 * function is still run the way the control-plane harness runs it (from dist/, the External package runtime played
 * by the harness), not from its package's embedded runtime.
 *
 * Figures (node start-up, times to Running, message counts) are printed at the end and written to
 * .tmp/node-report.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ControlPlane, controlPlaneAvailable, waitFor } from '../helpers/controlplane.js';
import { busyboxFiles, NODE_LABEL, NODE_TAINT, nodeAvailable, ON_REAL_NODE, RealNode } from '../helpers/node.js';
import { ROOT, TOOLS_BIN } from '../helpers/tools.js';

type Obj = Record<string, any>;

const available = controlPlaneAvailable() && nodeAvailable();
const CLAIMS = 'streambusclusters.streambus.io';

/** TEMPORARY (see the file's comment): the upstream broker and CLI binaries and busybox in one layer. */
const TEST_IMAGE = 'localhost/streambus-e2e/broker-temporary:v1.0.1';
const testImage = () => ({
  ref: TEST_IMAGE,
  files: [
    ...busyboxFiles(),
    { path: '/app/streambus-broker', from: join(TOOLS_BIN, 'streambus-broker'), mode: 0o755 },
    { path: '/app/streambus-cli', from: join(TOOLS_BIN, 'streambus-cli'), mode: 0o755 },
  ],
  dirs: ['/tmp', '/data', '/raft', '/etc/streambus'],
  entrypoint: ['/bin/sh'],
});

const functionName = (): string => (parse(readFileSync(join(ROOT, 'compositions/composition.yaml'), 'utf8')) as Obj).spec.pipeline[0].functionRef.name;
const cond = (o: Obj | undefined, type: string): Obj | undefined => ((o?.status?.conditions ?? []) as Obj[]).find((c) => c.type === type);
const condLine = (o: Obj | undefined) => ((o?.status?.conditions ?? []) as Obj[]).map((c) => `${c.type}=${c.status}${c.reason ? `/${c.reason}` : ''}`).join(' ');

interface Report {
  boot: Record<string, number>;
  scenarios: { name: string; seconds: number; note?: string }[];
  overview?: string;
  memoryMiB?: Record<string, number>;
}
const report: Report = { boot: {}, scenarios: [] };

describe.skipIf(!available)('on a real node (kubelet v1.34.1, containerd, CNI, kube-proxy, CoreDNS) in the real control plane', () => {
  let cp: ControlPlane;
  let node: RealNode;
  let failed = false;
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });
  const record = (name: string, since: number, note?: string) => report.scenarios.push({ name, seconds: Math.round((Date.now() - since) / 100) / 10, ...(note ? { note } : {}) });

  /** A pod on the real node, running the test image. */
  const pod = (ns: string, name: string, command: string[], extra: Obj = {}, container: Obj = {}): Obj => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      ...ON_REAL_NODE,
      terminationGracePeriodSeconds: 1,
      enableServiceLinks: false,
      automountServiceAccountToken: false,
      containers: [{ name: 'main', image: TEST_IMAGE, imagePullPolicy: 'Never', command, resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '256Mi' } }, ...container }],
      ...extra,
    },
  });
  /** Waits for a one-shot pod to finish; returns its phase and log. */
  const finished = async (ns: string, name: string, timeout = 180_000) => {
    const p = await waitFor(`pod ${ns}/${name} to finish`, async () => {
      const p = await cp.get('pod', name, ns);
      return p?.status?.phase === 'Succeeded' || p?.status?.phase === 'Failed' ? p : undefined;
    }, timeout, 1000, async () => `${await cp.describe('pod', name, ns)}\n${cp.logTail('kubelet', 15)}`);
    const logs = await cp.kubectl(['logs', name, '-n', ns]);
    return { phase: p.status.phase as string, log: logs.stdout + logs.stderr };
  };

  beforeAll(async () => {
    cp = await ControlPlane.start();
    Object.assign(report.boot, cp.timings);
    try {
      node = await RealNode.start(cp);
      Object.assign(report.boot, node.timings);
      const t = Date.now();
      await node.importImage(testImage());
      report.boot['test-image'] = Date.now() - t;
    } catch (err) {
      process.stderr.write(cp.logTails(30));
      throw err;
    }
  }, 1_200_000);

  afterAll(async () => {
    if (!cp) return;
    report.memoryMiB = cp.memory();
    if (node) report.overview = await node.overview();
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    writeFileSync(join(ROOT, '.tmp', 'node-report.json'), JSON.stringify(report, null, 2));
    process.stdout.write(
      `\n== real node report\nboot (ms): ${JSON.stringify(report.boot)}\n` +
        report.scenarios.map((s) => `- ${s.name}: ${s.seconds} s${s.note ? `; ${s.note}` : ''}`).join('\n') +
        `\nmemory (MiB RSS): ${JSON.stringify(report.memoryMiB)}\n\n$ kubectl get nodes,pods -A -o wide\n${report.overview ?? ''}\n`,
    );
    if (failed) process.stdout.write(cp.logTails(40));
    await cp.stop();
  }, 180_000);

  it('the node registers, becomes Ready, and is tainted and labelled so that only pods meant for it land there', async () => {
    const n = await cp.get('node', node.name);
    expect(cond(n, 'Ready')?.status).toBe('True');
    expect(n?.status.nodeInfo.kubeletVersion).toBe('v1.34.1');
    expect(n?.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    expect(n?.status.addresses).toContainEqual({ type: 'InternalIP', address: node.net.ip });
    expect(n?.spec.taints).toContainEqual(NODE_TAINT);
    for (const [k, v] of Object.entries(NODE_LABEL)) expect(n?.metadata.labels[k]).toBe(v);
    // A pod that does not tolerate the taint is not placed on it (and there is no other node in this file).
    const started = Date.now();
    const stray = pod('default', 'stray', ['/bin/sh', '-c', 'sleep 3600']);
    delete stray.spec.tolerations;
    delete stray.spec.nodeSelector;
    await cp.apply([stray]);
    const unschedulable = await waitFor('the stray pod to be reported unschedulable', async () => {
      const p = await cp.get('pod', 'stray', 'default');
      const c = cond(p, 'PodScheduled');
      return c?.status === 'False' && c.reason === 'Unschedulable' ? c : undefined;
    }, 60_000);
    expect(unschedulable.message).toMatch(/untolerated taint.*streambus\.io\/real-node/);
    expect((await cp.get('pod', 'stray', 'default'))?.spec.nodeName).toBeUndefined();
    await cp.k(['delete', 'pod', 'stray', '-n', 'default', '--wait=false']);
    record('node Ready; a pod without the toleration stays unscheduled', started);
  });

  it('a pod on the node resolves a Service by name (CoreDNS) and reaches it through the Service address (kube-proxy)', async () => {
    const started = Date.now();
    await cp.apply([
      pod('default', 'web', ['/bin/sh', '-c', 'mkdir -p /tmp/www && echo "hello from $(hostname)" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'], {},
        { readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 } }),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
    ]);
    await waitFor('pod web Ready', async () => cond(await cp.get('pod', 'web', 'default'), 'Ready')?.status === 'True', 120_000, 1000, async () => `${await cp.describe('pod', 'web', 'default')}\n${cp.logTail('kubelet', 15)}`);
    const svc = await cp.get('service', 'web', 'default');
    const clusterIp = svc?.spec.clusterIP as string;
    expect(clusterIp).toMatch(/^10\.0\.0\./);
    await cp.apply([pod('default', 'client', ['/bin/sh', '-c',
      'cat /etc/resolv.conf; nslookup web.default.svc.cluster.local; echo "--- by name"; wget -qO- -T 5 http://web/ ; echo "--- by FQDN"; wget -qO- -T 5 http://web.default.svc.cluster.local/'],
      { restartPolicy: 'Never' })]);
    const { phase, log } = await finished('default', 'client');
    process.stdout.write(`client pod (${phase}):\n${log}\n`);
    expect(log).toContain(`Address: ${clusterIp}`);
    expect(log.split('--- by name')[1]).toMatch(/hello from web/);
    expect(log.split('--- by FQDN')[1]).toMatch(/hello from web/);
    expect(phase).toBe('Succeeded');
    record('pod → Service by DNS name → pod', started, `Service web ${clusterIp}`);
  });

  // ------------------------------------------------------------------------------------------- a claim becomes brokers
  /** The minimal example as a claim, with what this machine needs (see the test). */
  const minimalOnNode = (): Obj => {
    const c = parse(readFileSync(join(ROOT, 'examples/minimal/claim.yaml'), 'utf8')) as Obj;
    const [repository, tag] = TEST_IMAGE.split(/:(?=[^:]+$)/);
    c.spec.image = { repository, tag, pullPolicy: 'Never' };
    c.spec.nodeSelector = ON_REAL_NODE.nodeSelector;
    c.spec.tolerations = ON_REAL_NODE.tolerations;
    // Three brokers asking for 500m CPU each would not leave room on a 2-core shared machine.
    c.spec.resources = { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '1Gi' } };
    return c;
  };
  const MIN_NS = 'default';
  const MIN_NAME = 'streambus-minimal';
  const claim = () => cp.get(CLAIMS, MIN_NAME, MIN_NS);

  it('the minimal example as a claim becomes three broker pods on the real node, Running from real readiness', async () => {
    const setup = Date.now();
    await cp.installFunction(functionName());
    await cp.installApi();
    await node.addLocalVolumes('standard', ['10Gi', '5Gi'], 4);
    record('function, API and local volumes installed', setup);
    const started = Date.now();
    await cp.apply([minimalOnNode()]);
    const ready = await waitFor(`claim ${MIN_NS}/${MIN_NAME} Ready with phase Running`, async () => {
      const c = await claim();
      return cond(c, 'Ready')?.status === 'True' && c?.status?.phase === 'Running' ? c : undefined;
    }, 600_000, 2000, async () => `${condLine(await claim())}\n${(await cp.kubectl(['get', 'pods,pvc', '-n', MIN_NS, '-o', 'wide'])).stdout}\n${cp.logTail('kubelet', 15)}`);
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`claim ${MIN_NS}/${MIN_NAME}: Running after ${seconds.toFixed(1)} s (${condLine(ready)})\n`);
    record('minimal claim: applied → Running (real broker readiness)', started, condLine(ready));
    expect(ready.status.readyReplicas).toBe(3);
    const pods = await cp.list('pods', MIN_NS, `app.kubernetes.io/instance=${MIN_NAME}`);
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.spec.nodeName).toBe(node.name);
      expect(p.status.podIP.startsWith(node.podCidr.replace(/0\/24$/, ''))).toBe(true);
      const broker = (p.status.containerStatuses as Obj[]).find((s) => s.name === 'broker');
      expect(broker?.ready, p.metadata.name).toBe(true);
      expect(broker?.image).toContain('broker-temporary');
    }
    // Readiness is the broker's own: its client port opens only at quorum, and its log says so.
    const log = await cp.kubectl(['logs', `${MIN_NAME}-0`, '-n', MIN_NS, '-c', 'broker', '--tail=400']);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout.length).toBeGreaterThan(0);
  });
});
