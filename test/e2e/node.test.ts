/**
 * A real node (test/helpers/node.ts) in the real control plane (test/helpers/controlplane.ts): kubelet v1.34.1,
 * containerd and runc, CNI, kube-proxy and CoreDNS, beside Crossplane v2.2.1 and provider-kubernetes v1.2.1. One
 * control plane and one node serve every scenario of this file.
 *
 * What is real: the apiserver, scheduler, controllers, kubelet, container runtime, pod networking, Service routing
 * (kube-proxy's iptables rules), cluster DNS, Crossplane, provider-kubernetes, the StreamBus v1.0.1 broker and CLI
 * binaries, and the broker image of issue 22 (`.tools/images/broker.tar`, scripts/build-images.sh) when it has been
 * built (scripts/test.sh builds it; under CI=true its absence fails the run). What is not: the client pods (and, outside
 * CI, TEMPORARILY, the broker pods while that image is missing, which the run says loudly) use a throw-away test image made here (the unmodified upstream CLI and broker binaries from .tools/bin
 * and a static busybox, one layer, imported into the node's containerd).
 *
 * The function runs as users run it: the Function package with its runtime embedded (scripts/build-images.sh,
 * `.tools/images/function-streambus.xpkg`) pushed to the harness's registry and installed as deploy/function.yaml
 * names it, with Crossplane's default Deployment runtime (`--package-runtime Function=Deployment;Provider=External`:
 * provider-kubernetes stays out of band) and the project's DeploymentRuntimeConfig (deploy/runtime-configs.yaml) plus
 * the test-only nodeSelector and toleration of the real node. Crossplane makes the Deployment, the headless Service and
 * the TLS Secrets itself; the node pulls the package's image from the harness's registry (through a relay: the
 * registry listens on the control plane's loopback) and Crossplane reaches the pod through CoreDNS (its resolv.conf
 * points there, ControlPlane.useClusterDns). Every claim and namespaced XR below is composed by that function pod.
 *
 * Then the secure example as a claim: on these hosts (no AppArmor) the kubelet refuses its pods as written (its
 * AppArmor profile), which the test shows before it removes that one annotation; then brokers with the ghostunnel
 * sidecar (the image of scripts/build-images.sh) and an application through a ghostunnel client with a client
 * certificate. Then the production example as a claim (five brokers with the sidecar; the node labelled as its
 * streaming nodes are, its one-broker-per-host anti-affinity removed: there is one node).
 *
 * Last, the Crossplane 2 API: the legacy claims, their brokers' volume claims and the legacy XRD are deleted (the claim
 * and the v2 namespaced XR are the same resource, streambusclusters.streambus.io; the volumes are recycled empty before
 * namespaced XRs of the claims' names are applied), and the v2 API installed. The dev example as a namespaced XR
 * becomes a broker pod; a pod-template change rolls its StatefulSet (Running → Updating → Running, every acknowledged
 * message still there), and a scale-out is refused by the function (StreamBus v1.0.1's Raft membership is static:
 * ReplicaChangeRefused); then its only broker's pod is deleted (Failed: no broker ready, then Running again on a new
 * address, every acknowledged message still there). Then the minimal, secure and production examples as namespaced XRs (the same manifests and
 * additions as their claims), applied together: broker pods (with the TLS sidecar for secure and production), each XR
 * Running from real readiness, and an application each reading back every message through the XR's composed
 * `<name>-connection` Secret (mutual TLS for secure and production). A three-broker roll is not asserted (see the
 * comment there).
 *
 * Figures (node start-up, times to Running, message counts) are printed at the end and written to
 * .tmp/node-report.json.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ControlPlane, controlPlaneAvailable, REGISTRY, waitFor } from '../helpers/controlplane.js';
import { makePki } from '../helpers/certs.js';
import { busyboxFiles, NODE_LABEL, NODE_TAINT, nodeAvailable, ON_REAL_NODE, RealNode } from '../helpers/node.js';
import { IN_CI, ROOT, TOOLS_BIN } from '../helpers/tools.js';

type Obj = Record<string, any>;

/**
 * The Function package with its runtime embedded (scripts/build-images.sh: `crossplane xpkg build
 * --embed-runtime-image-tarball` of the Dockerfile's image). Crossplane runs it with its default Deployment runtime.
 */
const XPKG = join(ROOT, '.tools', 'images', 'function-streambus.xpkg');
const haveXpkg = existsSync(XPKG);
const available = controlPlaneAvailable() && nodeAvailable() && haveXpkg;
if (!haveXpkg) {
  const msg = `${XPKG} is missing (scripts/build-images.sh builds it; scripts/test.sh runs that): the real-node test runs the function from its package`;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  process.stderr.write(`\n!!!!!!!!!! SKIPPED: the real-node test: ${msg} !!!!!!!!!!\n\n`);
}
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

/**
 * The broker image: issue 22's (scripts/build-images.sh, `.tools/images/broker.tar`: the upstream v1.0.1 broker and a
 * shell, as the function's default image reference) when it has been built; otherwise, TEMPORARILY, the test image.
 */
const BROKER_ARCHIVE = join(ROOT, '.tools', 'images', 'broker.tar');
const BROKER_REF = 'ghcr.io/gstreamio/streambus/broker:v1.0.1';
/** The TLS sidecar's image (scripts/build-images.sh ghostunnel): the function input's tlsProxyImage. */
const GHOSTUNNEL_ARCHIVE = join(ROOT, '.tools', 'images', 'ghostunnel.tar');
const GHOSTUNNEL_REF = 'docker.io/ghostunnel/ghostunnel:v1.8.4';

/**
 * The secure example asks for AppArmor's runtime/default profile; a kubelet refuses such a pod on a host without
 * AppArmor (the secure claim's test shows it), as these machines are.
 */
const APPARMOR_KEY = 'container.apparmor.security.beta.kubernetes.io/manager';
const HOST_APPARMOR = existsSync('/sys/module/apparmor/parameters/enabled') && readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';

const functionName = (): string => (parse(readFileSync(join(ROOT, 'compositions/composition.yaml'), 'utf8')) as Obj).spec.pipeline[0].functionRef.name;
const cond = (o: Obj | undefined, type: string): Obj | undefined => ((o?.status?.conditions ?? []) as Obj[]).find((c) => c.type === type);
const condLine = (o: Obj | undefined) => ((o?.status?.conditions ?? []) as Obj[]).map((c) => `${c.type}=${c.status}${c.reason ? `/${c.reason}` : ''}`).join(' ');

interface Report {
  boot: Record<string, number>;
  scenarios: { name: string; seconds: number; note?: string }[];
  /** Function → FunctionRevision → Deployment → ReplicaSet → Pod, as Crossplane's Deployment runtime made them. */
  functionOwnerChain?: string[];
  /** `kubectl get nodes,pods -A -o wide` once the function pod served. */
  overviewWithFunction?: string;
  overview?: string;
  memoryMiB?: Record<string, number>;
}
const report: Report = { boot: {}, scenarios: [] };

describe.skipIf(!available)('on a real node (kubelet v1.34.1, containerd, CNI, kube-proxy, CoreDNS) in the real control plane', () => {
  let cp: ControlPlane;
  let node: RealNode;
  let brokerImage = TEST_IMAGE;
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
    const logs = await cp.kubectl(['logs', name, '-n', ns, '-c', 'main']);
    return { phase: p.status.phase as string, log: logs.stdout + logs.stderr };
  };

  beforeAll(async () => {
    // Crossplane runs Functions with its default Deployment runtime (providers stay out of band).
    cp = await ControlPlane.start({ functionRuntime: 'Deployment' });
    Object.assign(report.boot, cp.timings);
    try {
      node = await RealNode.start(cp);
      Object.assign(report.boot, node.timings);
      const t = Date.now();
      await node.importImage(testImage());
      report.boot['test-image'] = Date.now() - t;
      if (existsSync(BROKER_ARCHIVE)) {
        const b = Date.now();
        await node.importArchive(BROKER_ARCHIVE, BROKER_REF);
        report.boot['broker-image'] = Date.now() - b;
        brokerImage = BROKER_REF;
      } else if (IN_CI) {
        throw new Error(`CI=true and ${BROKER_ARCHIVE} is missing: scripts/build-images.sh (run by scripts/test.sh) builds it`);
      } else {
        process.stderr.write(`\n!!!!!!!!!! ${BROKER_ARCHIVE} is missing (scripts/build-images.sh broker): the broker pods run the TEMPORARY test image ${TEST_IMAGE} !!!!!!!!!!\n\n`);
      }
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
        `\nfunction owner chain:\n  ${(report.functionOwnerChain ?? []).join('\n  ')}` +
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
  }, 300_000);

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
    // busybox's nslookup asks the cluster DNS itself; its wget (static glibc) segfaults here, so an HTTP GET goes
    // through nc to the address nslookup returned. Reaching a Service by name with a real resolver is the application
    // test's (the CLI, a Go program).
    // kube-proxy programs a new Service's rules within seconds (eventually consistent): the GET is retried.
    await cp.apply([pod('default', 'client', ['/bin/sh', '-c',
      'cat /etc/resolv.conf; nslookup web.default.svc.cluster.local | tee /tmp/ns; ip=$(sed -n "s/^Address: \\([0-9.]*\\)$/\\1/p" /tmp/ns | head -1); echo "--- GET http://$ip/"; n=0; until printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$ip" 80 | tee /tmp/out | grep -q "hello from"; do n=$((n+1)); [ $n -ge 30 ] && exit 1; sleep 1; done; cat /tmp/out; echo "attempts=$((n+1))"'],
      { restartPolicy: 'Never' })]);
    const { phase, log } = await finished('default', 'client');
    process.stdout.write(`client pod (${phase}):\n${log}\n`);
    expect(log).toContain(`Address: ${clusterIp}`);
    expect(log).toContain(`--- GET http://${clusterIp}/`);
    expect(log.split('--- GET')[1]).toMatch(/hello from web/);
    expect(phase).toBe('Succeeded');
    record('pod → Service by DNS name → pod', started, `Service web ${clusterIp}`);
  }, 300_000);

  // ------------------------------------------------------------------------------------------- the function as users run it
  const FN_NS = 'crossplane-system';
  /** The function's pod (Crossplane's Deployment runtime), once it served. */
  let fnPod: Obj | undefined;
  const fnLog = async (): Promise<Obj[]> => {
    const r = await cp.kubectl(['logs', fnPod!.metadata.name, '-n', FN_NS, '-c', 'package-runtime'], undefined, 120_000);
    return r.stdout.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Obj];
      } catch {
        return [];
      }
    });
  };
  const ownedBy = (o: Obj, owner: Obj) => ((o.metadata.ownerReferences ?? []) as Obj[]).some((r) => r.uid === owner.metadata.uid && r.controller === true);

  it('the Function package with its embedded runtime runs under Crossplane\'s default Deployment runtime: the function pod is Ready on the real node', async () => {
    const started = Date.now();
    // The project's DeploymentRuntimeConfig (deploy/runtime-configs.yaml), with test-only ADDITIONS (nothing removed):
    // the real node's nodeSelector and toleration, so that the function pod lands there (there is no other node).
    const drc = (parseAllDocuments(readFileSync(join(ROOT, 'deploy/runtime-configs.yaml'), 'utf8')).map((d) => d.toJS() as Obj)).find((d) => d?.kind === 'DeploymentRuntimeConfig' && d.metadata.name === 'function-streambus')!;
    expect(drc, 'deploy/runtime-configs.yaml has the DeploymentRuntimeConfig function-streambus').toBeTruthy();
    const podTemplate = drc.spec.deploymentTemplate.spec.template.spec as Obj;
    podTemplate.nodeSelector = { ...(podTemplate.nodeSelector ?? {}), ...ON_REAL_NODE.nodeSelector };
    podTemplate.tolerations = [...(podTemplate.tolerations ?? []), ...ON_REAL_NODE.tolerations];
    // The project's Function (deploy/function.yaml: its name, the runtimeConfigRef); only the package's registry is
    // this run's (Crossplane pulls it from there, and so does the node).
    const fn = parse(readFileSync(join(ROOT, 'deploy/function.yaml'), 'utf8')) as Obj;
    expect(fn.metadata.name).toBe(functionName());
    expect(fn.metadata.annotations ?? {}).not.toHaveProperty('render.crossplane.io/runtime');
    expect(fn.spec.runtimeConfigRef?.name).toBe('function-streambus');
    const ref = (fn.spec.package as string).replace(/^xpkg\.crossplane\.io\//, `${REGISTRY}/`);
    expect(ref).not.toBe(fn.spec.package);
    fn.spec.package = ref;
    await cp.pushPackage(XPKG, ref);
    await cp.apply([drc]);
    await cp.apply([fn]);
    const name = fn.metadata.name as string;
    const diag = async () => `${await cp.describe('function', name)}\n${(await cp.kubectl(['get', 'functionrevisions,deployments,replicasets,pods,services,secrets', '-n', FN_NS, '-o', 'wide'])).stdout}\n` +
      `${(await cp.kubectl(['get', 'events', '-n', FN_NS, '--sort-by=.lastTimestamp'])).stdout.split('\n').slice(-15).join('\n')}\n${cp.logTail('crossplane', 15)}\n${cp.logTail('kubelet', 10)}`;
    const healthy = await waitFor(`Function ${name} Installed and Healthy`, async () => {
      const f = await cp.get('functions.pkg.crossplane.io', name);
      return cond(f, 'Installed')?.status === 'True' && cond(f, 'Healthy')?.status === 'True' ? f : undefined;
    }, 600_000, 2000, diag);
    const healthySeconds = (Date.now() - started) / 1000;

    // The owner chain, as Crossplane's Deployment runtime and Kubernetes' controllers made it.
    const revs = await cp.list('functionrevisions.pkg.crossplane.io', undefined, `pkg.crossplane.io/package=${name}`);
    expect(revs).toHaveLength(1);
    const rev = revs[0]!;
    expect(ownedBy(rev, healthy)).toBe(true);
    expect(cond(rev, 'RuntimeHealthy')?.status).toBe('True');
    const deployment = (await cp.list('deployments', FN_NS)).find((d) => ownedBy(d, rev));
    expect(deployment, await diag()).toBeTruthy();
    const rs = (await cp.list('replicasets', FN_NS)).find((r) => ownedBy(r, deployment!));
    expect(rs).toBeTruthy();
    const pod = await waitFor('the function pod Ready', async () => (await cp.list('pods', FN_NS)).find((p) => ownedBy(p, rs!) && cond(p, 'Ready')?.status === 'True'), 120_000, 1000, diag);
    fnPod = pod;
    const chain = [
      `Function ${name} (package ${healthy.spec.package}; ${condLine(healthy)})`,
      `→ FunctionRevision ${rev.metadata.name} (endpoint ${rev.status?.endpoint}; tlsServerSecretName ${rev.spec?.tlsServerSecretName ?? rev.status?.tlsServerSecretName})`,
      `→ Deployment ${FN_NS}/${deployment!.metadata.name} (${deployment!.status?.availableReplicas ?? 0}/${deployment!.spec.replicas} available)`,
      `→ ReplicaSet ${FN_NS}/${rs!.metadata.name}`,
      `→ Pod ${FN_NS}/${pod.metadata.name} on node ${pod.spec.nodeName}, IP ${pod.status.podIP}, image ${pod.spec.containers[0].image} (${pod.status.containerStatuses?.[0]?.imageID})`,
    ];
    report.functionOwnerChain = chain;
    process.stdout.write(`\nfunction owner chain (Healthy after ${healthySeconds.toFixed(1)} s):\n  ${chain.join('\n  ')}\n`);

    // The pod: on the real node, the package's own reference as its image, pulled by the node, the project's runtime
    // settings, Crossplane's TLS Secret mounted.
    expect(pod.spec.nodeName).toBe(node.name);
    expect(pod.status.podIP.startsWith(node.podCidr.replace(/0\/24$/, ''))).toBe(true);
    const c = (pod.spec.containers as Obj[]).find((x) => x.name === 'package-runtime')!;
    expect(c.image).toBe(ref);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.resources).toMatchObject({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(c.env).toContainEqual({ name: 'TLS_SERVER_CERTS_DIR', value: '/tls/server' });
    const events = (await cp.list('events', FN_NS)).filter((e) => e.involvedObject?.name === pod.metadata.name);
    const pulled = events.find((e) => e.reason === 'Pulled');
    process.stdout.write(`function pod image: ${pulled?.message ?? '(no Pulled event)'}\n`);
    expect(pulled?.message ?? '').toMatch(/Successfully pulled image|already present on machine/);

    // Crossplane's own TLS: the serving Secret it generated (signed by its CA, for the Service's DNS names), owned by
    // the revision and mounted at /tls/server; the endpoint is the headless Service Crossplane made.
    const secretName = (pod.spec.volumes as Obj[]).find((v) => v.name === 'tls-server-certs')?.secret?.secretName as string;
    expect(secretName).toBeTruthy();
    const serverSecret = (await cp.get('secret', secretName, FN_NS))!;
    const rootCa = (await cp.get('secret', 'crossplane-root-ca', FN_NS))!;
    const caCert = new X509Certificate(Buffer.from(rootCa.data['tls.crt'], 'base64'));
    const serverCert = new X509Certificate(Buffer.from(serverSecret.data['tls.crt'], 'base64'));
    expect(serverCert.verify(caCert.publicKey)).toBe(true);
    expect(serverCert.subjectAltName).toContain(`DNS:${name}.${FN_NS}`);
    expect(Buffer.from(serverSecret.data['ca.crt'], 'base64').toString()).toBe(Buffer.from(rootCa.data['tls.crt'], 'base64').toString());
    const svc = (await cp.get('service', name, FN_NS))!;
    expect(svc.spec.clusterIP).toBe('None');
    expect(ownedBy(svc, rev)).toBe(true);
    expect(rev.status?.endpoint).toBe(`dns:///${name}.${FN_NS}:9443`);
    // No harness-played runtime: no function process of the harness's.
    expect(cp.pidOf('function-streambus')).toBeUndefined();
    // The runtime image's start-up: it proved on its own listener that strangers are refused, then listened.
    const log = await fnLog();
    expect(log.some((l) => /client certificate verification proven/.test(l.msg ?? '')), JSON.stringify(log.slice(0, 5))).toBe(true);
    expect(log.find((l) => l.msg === 'function-streambus listening')).toMatchObject({ tls: true, port: 9443 });
    report.overviewWithFunction = await node.overview();
    process.stdout.write(`\n$ kubectl get nodes,pods -A -o wide\n${report.overviewWithFunction}\n`);
    record('Function package (embedded runtime) → Deployment runtime → function pod Ready on the real node', started,
      `Healthy after ${healthySeconds.toFixed(1)} s; pod ${pod.metadata.name} ${pod.status.podIP}; ${pulled?.message ?? ''}`);
  }, 900_000);

  // ------------------------------------------------------------------------------------------- a claim becomes brokers
  /** An example manifest (examples/<example>/claim.yaml): a claim with the legacy API, a namespaced XR with the v2 API. */
  const example = (name: string): Obj => parse(readFileSync(join(ROOT, 'examples', name, 'claim.yaml'), 'utf8')) as Obj;
  /**
   * What this machine needs, added to an example (nothing of it removed): the broker image imported on the node, the
   * node's selector and toleration beside the example's own, and requests that fit 2 shared cores (three brokers
   * asking for 500m CPU each would not leave room).
   */
  const onNode = (c: Obj): Obj => {
    const [repository, tag] = brokerImage.split(/:(?=[^:]+$)/);
    c.spec.image = { repository, tag, pullPolicy: 'Never' };
    c.spec.nodeSelector = { ...(c.spec.nodeSelector ?? {}), ...ON_REAL_NODE.nodeSelector };
    c.spec.tolerations = [...(c.spec.tolerations ?? []), ...ON_REAL_NODE.tolerations];
    c.spec.resources = { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '1Gi' } };
    return c;
  };
  /**
   * A test PKI for a TLS example: a server certificate for its brokers' DNS names and its client Service's, the
   * Secrets the example names (its certificate Secret, with ca.crt when it names no CA Secret; its CA Secret), and the
   * application's Secret (in the client pods' namespace): a client certificate from that CA, and the CA as the
   * connection Secret `conn` publishes it.
   */
  const examplePki = (c: Obj) => {
    const name = c.metadata.name as string;
    const ns = c.metadata.namespace as string;
    const fqdn = (i: number) => `${name}-${i}.${name}-headless.${ns}.svc.cluster.local`;
    const pki = makePki(Array.from({ length: c.spec.replicas as number }, (_, i) => `DNS:${fqdn(i)}`).concat([`DNS:${name}.${ns}.svc.cluster.local`, `DNS:${name}.${ns}.svc`]));
    const pem = (f: string) => readFileSync(join(pki.dir, f)).toString('base64');
    const tls = c.spec.security.tls as Obj;
    const secrets: Obj[] = [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: tls.certSecretName, namespace: ns }, type: 'kubernetes.io/tls', data: { 'tls.crt': pem('server.crt'), 'tls.key': pem('server.key'), ...(tls.caSecretName ? {} : { 'ca.crt': pem('ca.crt') }) } }];
    if (tls.caSecretName) secrets.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: tls.caSecretName, namespace: ns }, data: { 'ca.crt': pem('ca.crt') } });
    const appSecret = (secretName: string, conn: Obj): Obj => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace: MIN_NS }, data: { 'tls.crt': pem('client.crt'), 'tls.key': pem('client.key'), 'ca.crt': conn.data['ca.crt'] } });
    return { pki, fqdn, secrets, appSecret };
  };
  /** The minimal example as a claim, with what this machine needs and a connection Secret. */
  const minimalOnNode = (): Obj => {
    const c = onNode(example('minimal'));
    c.spec.writeConnectionSecretToRef = { name: `${c.metadata.name}-conn` };
    return c;
  };
  const MIN_NS = 'default';
  const MIN_NAME = 'streambus-minimal';
  const claim = () => cp.get(CLAIMS, MIN_NAME, MIN_NS);
  const brokerLogs = async (lines = 25) => {
    const out: string[] = [];
    for (const i of [0, 1, 2]) out.push(`----- ${MIN_NAME}-${i}\n${(await cp.kubectl(['logs', `${MIN_NAME}-${i}`, '-n', MIN_NS, '-c', 'broker', `--tail=${lines}`])).stdout}`);
    return out.join('\n');
  };

  it('the minimal example as a claim, composed by the function pod, becomes three broker pods on the real node, Running from real readiness', async () => {
    expect(fnPod, 'the function pod of the previous test').toBeTruthy();
    const setup = Date.now();
    await cp.installApi();
    await node.addLocalVolumes('standard', ['10Gi', '5Gi'], 4);
    record('API and local volumes installed', setup);
    const started = Date.now();
    await cp.apply([minimalOnNode()]);
    const ready = await waitFor(`claim ${MIN_NS}/${MIN_NAME} Ready with phase Running`, async () => {
      const c = await claim();
      return cond(c, 'Ready')?.status === 'True' && c?.status?.phase === 'Running' ? c : undefined;
    }, 600_000, 2000, async () => `${condLine(await claim())}\n${(await cp.kubectl(['get', 'pods,pvc', '-n', MIN_NS, '-o', 'wide'])).stdout}\n${cp.logTail('kubelet', 15)}`);
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`claim ${MIN_NS}/${MIN_NAME}: Running after ${seconds.toFixed(1)} s (${condLine(ready)})\n`);
    record('minimal claim: applied → Running (real broker readiness)', started, `image ${brokerImage}; ${condLine(ready)}`);
    expect(ready.status.readyReplicas).toBe(3);
    const pods = await cp.list('pods', MIN_NS, `app.kubernetes.io/instance=${MIN_NAME}`);
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.spec.nodeName).toBe(node.name);
      expect(p.status.podIP.startsWith(node.podCidr.replace(/0\/24$/, ''))).toBe(true);
      const broker = (p.status.containerStatuses as Obj[]).find((s) => s.name === 'broker');
      expect(broker?.ready, p.metadata.name).toBe(true);
      expect(broker?.image).toContain(brokerImage);
    }
    // Readiness is the broker's own: its client port opens only at quorum, and its log says so.
    const log = await cp.kubectl(['logs', `${MIN_NAME}-0`, '-n', MIN_NS, '-c', 'broker', '--tail=400']);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout.length).toBeGreaterThan(0);
    // The function pod composed it: its log shows Crossplane's TLS client (the crossplane-tls-client Secret's
    // certificate, from the control plane's address) and RunFunction calls for this claim answered.
    const xpClient = new X509Certificate(Buffer.from((await cp.get('secret', 'crossplane-tls-client', FN_NS))!.data['tls.crt'], 'base64'));
    const fl = await fnLog();
    const accepted = fl.filter((l) => l.msg === 'accepted a TLS client');
    expect(accepted.length).toBeGreaterThan(0);
    expect([...new Set(accepted.map((l) => l.fingerprint256))]).toEqual([xpClient.fingerprint256]);
    expect([...new Set(accepted.map((l) => String(l.remote).replace(/^::ffff:/, '')))]).toEqual([node.net.apiserverIp]);
    const calls = fl.filter((l) => l.msg === 'RunFunction' && l.claimName === MIN_NAME && (l.result === 'ok' || l.result === 'warning'));
    expect(calls.length).toBeGreaterThan(0);
    process.stdout.write(`function pod ${fnPod!.metadata.name}: ${accepted.length} TLS clients accepted (Crossplane's certificate, from ${node.net.apiserverIp}); ${calls.length} RunFunction calls answered for ${MIN_NAME}; e.g. ${JSON.stringify(calls[calls.length - 1])}\n`);
    record('function pod served the minimal claim', setup, `${calls.length} RunFunction calls for ${MIN_NAME} in the pod's log; ${accepted.length} TLS clients, all Crossplane's certificate from ${node.net.apiserverIp}`);
  }, 900_000);

  // ------------------------------------------------------------------------------------------- an application uses it
  /**
   * A client pod on the node runs the real CLI against `addr`: creates `topic` (when asked), produces `produce`
   * messages (each its own CLI call, acknowledged by its exit code), then reads the topic from the start with
   * `consumers` fresh consumers (new processes, new groups). Returns how many were acknowledged and, per consumer,
   * which of the topic's messages it read.
   */
  let clientRuns = 0;
  /**
   * With `tunnel`, the CLI's address is a ghostunnel client in the same pod (a native sidecar: an init container with
   * restartPolicy Always, from the ghostunnel image of scripts/build-images.sh) listening on 127.0.0.1:19092, which
   * speaks mutual TLS to `tunnel.target` with the client certificate, key and CA of Secret `tunnel.secret` (the CLI
   * speaks plain TCP).
   */
  const client = async (addr: string, topic: string, opts: { create: boolean; produce: number; from: number; consumers: number; expect: number; tunnel?: { target: string; secret: string } }) => {
    const name = `app-${++clientRuns}`;
    const script = [
      'B="$1"; T="$2"; N="$3"; FROM="$4"; C="$5"; WANT="$6"; CREATE="$7"',
      'cli() { /app/streambus-cli -b "$B" "$@"; }',
      // Through a tunnel: wait until it answers (the sidecar listens on the pod's loopback, which no probe reaches).
      'if [ "$8" = tunnel ]; then n=0; until timeout -s KILL 10 /app/streambus-cli -b "$B" topic list >/dev/null 2>&1; do n=$((n+1)); [ $n -ge 60 ] && { echo "tunnel never answered"; break; }; sleep 1; done; echo "tunnel answered after $n retries"; fi',
      'if [ "$CREATE" = create ]; then cli topic create "$T" -p 1 -r 1 || { echo "topic create failed"; exit 1; }; fi',
      'ok=0; i=$FROM; end=$((FROM + N)); while [ $i -lt $end ]; do if cli produce "$T" -k "k$i" -m "msg-$T-$i" >/dev/null 2>&1; then ok=$((ok+1)); else echo "produce $i failed"; fi; i=$((i+1)); done',
      'echo "acknowledged=$ok"',
      'c=1; while [ $c -le $C ]; do echo "--- consumer $c"; timeout -s KILL 12 /app/streambus-cli -b "$B" consume "$T" -o earliest -n "$WANT" -g "fresh-$(hostname)-$c" 2>&1; c=$((c+1)); done',
      'echo "--- end"',
    ].join('\n');
    const tunnel: Obj = opts.tunnel ? {
      initContainers: [{
        name: 'tls-tunnel',
        image: GHOSTUNNEL_REF,
        imagePullPolicy: 'Never',
        restartPolicy: 'Always',
        args: ['client', `--listen=${addr}`, `--target=${opts.tunnel.target}`, '--cert=/mtls/tls.crt', '--key=/mtls/tls.key', '--cacert=/mtls/ca.crt'],
        volumeMounts: [{ name: 'mtls', mountPath: '/mtls', readOnly: true }],
        resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '128Mi' } },
      }],
      volumes: [{ name: 'mtls', secret: { secretName: opts.tunnel.secret, defaultMode: 0o444 } }],
    } : {};
    await cp.apply([pod(MIN_NS, name, ['/bin/sh', '-c', script, 'client', addr, topic, String(opts.produce), String(opts.from), String(opts.consumers), String(opts.expect), opts.create ? 'create' : 'existing', opts.tunnel ? 'tunnel' : 'direct'], { restartPolicy: 'Never', ...tunnel })]);
    const { phase, log } = await finished(MIN_NS, name, 600_000);
    const acknowledged = Number(/acknowledged=(\d+)/.exec(log)?.[1] ?? -1);
    const sections = log.split(/^--- consumer \d+$/m).slice(1).map((x) => x.split('--- end')[0]!);
    const read = sections.map((sec) => new Set([...sec.matchAll(new RegExp(`msg-${topic}-(\\d+)`, 'g'))].map((m) => Number(m[1]))));
    return { phase, log, acknowledged, read };
  };
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  const counts: { when: string; route: string; acknowledged: number; readByEachConsumer: number[] }[] = [];

  it('an application pod reaches the cluster by the client Service DNS name and by the connection Secret, and reads back every message with fresh consumers', async () => {
    const started = Date.now();
    const secret = await waitFor('the claim\'s connection Secret with bootstrapServers', async () => {
      const s = await cp.get('secret', `${MIN_NAME}-conn`, MIN_NS);
      return s?.data?.bootstrapServers ? s : undefined;
    }, 180_000, 2000, () => cp.describe(CLAIMS, MIN_NAME, MIN_NS));
    const bootstrap = Buffer.from(secret.data.bootstrapServers, 'base64').toString();
    const service = `${MIN_NAME}.${MIN_NS}.svc.cluster.local:9092`;
    expect(bootstrap).toMatch(/\.svc\.cluster\.local:9092/);
    for (const [route, addr] of [['client Service', service], ['connection Secret bootstrapServers', bootstrap]] as const) {
      const topic = route.startsWith('client') ? 'orders' : 'payments';
      const r = await client(addr, topic, { create: true, produce: 20, from: 1, consumers: 3, expect: 20 });
      process.stdout.write(`client via ${route} (${addr}): ${r.phase}; acknowledged ${r.acknowledged}; read ${r.read.map((x) => x.size).join('/')}\n`);
      counts.push({ when: 'before faults', route, acknowledged: r.acknowledged, readByEachConsumer: r.read.map((x) => x.size) });
      expect(r.acknowledged, r.log).toBe(20);
      expect(r.read, r.log).toHaveLength(3);
      for (const got of r.read) expect([...got].sort((a, b) => a - b), r.log).toEqual(range(1, 20));
    }
    record('application: 2 routes × 20 messages, 3 fresh consumers each', started, JSON.stringify(counts));
  }, 900_000);

  /** Follows the claim's phase until Degraded, then until Running and Ready; returns the phases seen and the times. */
  const degradedThenRunning = async (since: number, runningTimeout: number, onDegraded: () => Promise<unknown> | void = () => undefined) => {
    const phases: string[] = [];
    const seen = async () => {
      const c = await claim();
      const p = c?.status?.phase as string | undefined;
      if (p && phases[phases.length - 1] !== p) phases.push(p);
      return c;
    };
    const degraded = await waitFor('phase Degraded with BrokersReady=False', async () => {
      const c = await seen();
      return c?.status?.phase === 'Degraded' && cond(c, 'BrokersReady')?.status === 'False' ? c : undefined;
    }, 240_000, 500, async () => condLine(await claim()));
    const degradedAt = (Date.now() - since) / 1000;
    await onDegraded();
    const back = await waitFor('phase Running again', async () => {
      const c = await seen();
      return c?.status?.phase === 'Running' && cond(c, 'Ready')?.status === 'True' ? c : undefined;
    }, runningTimeout, 1000, async () => `${condLine(await claim())}\n${(await cp.kubectl(['get', 'pods', '-n', MIN_NS, '-o', 'wide'])).stdout}\n${await brokerLogs()}`);
    return { phases, degraded, degradedAt, back, runningAt: (Date.now() - since) / 1000 };
  };

  it('the data broker crash-loops (the pod and its address stay): Degraded, then Running; no acknowledged message is lost', async () => {
    const started = Date.now();
    // The broker's container is killed whenever it runs, until the claim says Degraded: provider-kubernetes reads the
    // StatefulSet every 30 s (--poll), so a single crash the kubelet repairs within seconds may never reach the claim;
    // the kubelet's restart back-off (10 s, 20 s, 40 s, ...) makes the outage last until it does.
    let kills = 0;
    let stopKilling = false;
    const killer = (async () => {
      const killed = new Set<string>();
      while (!stopKilling && Date.now() - started < 300_000) {
        const p0 = await cp.get('pod', `${MIN_NAME}-0`, MIN_NS).catch(() => undefined);
        const st = ((p0?.status?.containerStatuses ?? []) as Obj[]).find((s) => s.name === 'broker');
        const id = (st?.containerID as string | undefined)?.replace(/^containerd:\/\//, '');
        if (id && st?.state?.running && !killed.has(id)) {
          const k = await node.ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]);
          if (k.code === 0) {
            killed.add(id);
            kills++;
          }
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    let result;
    try {
      result = await degradedThenRunning(started, 600_000, () => {
        stopKilling = true;
      });
    } finally {
      stopKilling = true;
      await killer;
    }
    const { phases, degraded, degradedAt, back, runningAt } = result;
    expect(kills).toBeGreaterThanOrEqual(1);
    process.stdout.write(`data broker crash-looped (${kills} kills): Degraded after ${degradedAt.toFixed(1)} s (${degraded.status.readyReplicas ?? 0}/3 ready), Running after ${runningAt.toFixed(1)} s; phases ${phases.join(' → ')}\n`);
    expect(phases.slice(-2)).toEqual(['Degraded', 'Running']);
    expect(back.status.readyReplicas).toBe(3);
    const restarts = ((await cp.get('pod', `${MIN_NAME}-0`, MIN_NS))?.status.containerStatuses as Obj[]).find((s) => s.name === 'broker')?.restartCount;
    expect(restarts).toBeGreaterThanOrEqual(1);
    // Every acknowledged message is still there (the broker's data is on its volume), and new ones go through.
    const r = await client(`${MIN_NAME}.${MIN_NS}.svc.cluster.local:9092`, 'orders', { create: false, produce: 10, from: 21, consumers: 3, expect: 30 });
    counts.push({ when: 'after the data broker crash-looped and came back', route: 'client Service', acknowledged: r.acknowledged, readByEachConsumer: r.read.map((x) => x.size) });
    process.stdout.write(`after the crash loop: acknowledged ${r.acknowledged} more; read ${r.read.map((x) => x.size).join('/')}\n`);
    expect(r.acknowledged, r.log).toBe(10);
    for (const got of r.read) expect([...got].sort((a, b) => a - b), r.log).toEqual(range(1, 30));
    record('data broker crash-looped: Degraded then Running, 30/30 read back', started, `${kills} kills; Degraded at ${degradedAt.toFixed(1)} s, Running at ${runningAt.toFixed(1)} s; ${phases.join(' → ')}; restarts ${restarts}`);
  }, 900_000);

  it('the data broker\'s pod deleted: the claim reports Degraded from real readiness; the replacement gets a new address', async () => {
    const started = Date.now();
    const before = (await cp.get('pod', `${MIN_NAME}-0`, MIN_NS))?.status.podIP as string;
    // As in controlplane.test.ts: the node is cordoned until the claim says Degraded (the replacement pod waits), so
    // the outage outlasts provider-kubernetes' 30 s poll however fast the pod comes back; then uncordoned.
    await cp.k(['cordon', node.name]);
    const phases: string[] = [];
    let degraded: Obj;
    try {
      await cp.k(['delete', 'pod', `${MIN_NAME}-0`, '-n', MIN_NS, '--wait=false']);
      degraded = await waitFor('phase Degraded with BrokersReady=False', async () => {
        const c = await claim();
        const p = c?.status?.phase as string | undefined;
        if (p && phases[phases.length - 1] !== p) phases.push(p);
        return p === 'Degraded' && cond(c, 'BrokersReady')?.status === 'False' ? c : undefined;
      }, 240_000, 500, async () => condLine(await claim()));
    } finally {
      await cp.kubectl(['uncordon', node.name]);
    }
    const degradedAt = (Date.now() - started) / 1000;
    const after = await waitFor('the replacement pod to run at an address', async () => {
      const p = await cp.get('pod', `${MIN_NAME}-0`, MIN_NS);
      return p?.status?.phase === 'Running' && p.status.podIP ? (p.status.podIP as string) : undefined;
    }, 180_000);
    process.stdout.write(`data broker's pod deleted: Degraded after ${degradedAt.toFixed(1)} s (${degraded.status.readyReplicas ?? 0}/3 ready); address ${before} → ${after}; phases ${phases.join(' → ')}\n`);
    expect(degraded.status.readyReplicas ?? 0).toBe(2);
    expect(after).not.toBe(before);
    record('data broker\'s pod deleted: Degraded', started, `Degraded at ${degradedAt.toFixed(1)} s; ${phases.join(' → ')}; address ${before} → ${after}`);
  }, 600_000);

  // ------------------------------------------------------------------------------------------- the secure example
  const SEC_NAME = 'streambus-secure';
  const SEC_NS = 'default';

  it('the secure example as a claim: broker pods with the ghostunnel TLS sidecar on the real node, Running from real readiness; an mTLS application reads back every message', async () => {
    const started = Date.now();
    if (!existsSync(GHOSTUNNEL_ARCHIVE)) throw new Error(`${GHOSTUNNEL_ARCHIVE} is missing: scripts/build-images.sh ghostunnel builds it (scripts/test.sh runs that)`);
    const imp = Date.now();
    await node.importArchive(GHOSTUNNEL_ARCHIVE, GHOSTUNNEL_REF);
    report.boot['ghostunnel-image'] = Date.now() - imp;
    // What this machine needs, as for the minimal claim (onNode), and a connection Secret. Everything else is the
    // example's.
    const c = onNode(example('secure'));
    expect(c.metadata).toMatchObject({ name: SEC_NAME, namespace: SEC_NS });
    c.spec.writeConnectionSecretToRef = { name: `${SEC_NAME}-conn` };
    // The Secrets the example names: the brokers' certificate (for their DNS names) and the CA, from a test PKI.
    const { pki, fqdn, secrets, appSecret } = examplePki(c);
    expect(secrets.map((x) => x.metadata.name)).toEqual([c.spec.security.tls.certSecretName, c.spec.security.tls.caSecretName]);
    await cp.apply(secrets);
    await node.addLocalVolumes(c.spec.storage.class, [c.spec.storage.size, c.spec.storage.raftSize], 3);
    let applied = Date.now();
    await cp.apply([c]);
    const secClaim = () => cp.get(CLAIMS, SEC_NAME, SEC_NS);
    const diag = async () => `${condLine(await secClaim())}\n${(await cp.kubectl(['get', 'pods,pvc', '-n', SEC_NS, '-o', 'wide', '-l', `app.kubernetes.io/instance=${SEC_NAME}`])).stdout}\n` +
      `${(await cp.kubectl(['get', 'events', '-n', SEC_NS, '--sort-by=.lastTimestamp'])).stdout.split('\n').slice(-12).join('\n')}\n${cp.logTail('kubelet', 10)}`;
    // The example asks for AppArmor's runtime/default profile (the function moves the annotation to the broker
    // container's securityContext.appArmorProfile). A kubelet refuses such a pod on a host without AppArmor, as these
    // machines are: shown here, then the annotation is removed from the claim (the only change of the example's
    // security settings) and the StatefulSet's pods are made again.
    let appArmorNote = 'host has AppArmor: the example ran unchanged';
    if (!HOST_APPARMOR && c.spec.podAnnotations?.[APPARMOR_KEY]) {
      // Whichever comes first: a refusal (then the annotation goes), or the claim Running as written.
      const seen = await waitFor('the kubelet to refuse a broker pod for its AppArmor profile (or the claim Running as written)', async () => {
        // The kubelet's admission refusal: the pod Failed with reason AppArmor, and a Warning event on the pod.
        const ev = (await cp.list('events', SEC_NS)).find((e) => e.involvedObject?.kind === 'Pod' && String(e.involvedObject?.name ?? '').startsWith(`${SEC_NAME}-`) && e.reason === 'AppArmor');
        if (ev) return `refused: pod ${ev.involvedObject.name}: ${ev.reason}: ${ev.message}`;
        const p = (await cp.list('pods', SEC_NS, `app.kubernetes.io/instance=${SEC_NAME}`)).find((x) => x.status?.reason === 'AppArmor');
        if (p) return `refused: pod ${p.metadata.name}: ${p.status.reason}: ${p.status.message}`;
        const x = await secClaim();
        return cond(x, 'Ready')?.status === 'True' && x?.status?.phase === 'Running' ? 'ran' : undefined;
      }, 600_000, 1000, diag);
      process.stdout.write(`secure claim, as written, on a host without AppArmor: ${seen}\n`);
      if (seen.startsWith('refused')) {
        appArmorNote = `no AppArmor on this host, the kubelet ${seen}; the claim's AppArmor annotation removed`;
        delete c.spec.podAnnotations[APPARMOR_KEY];
        applied = Date.now();
        await cp.apply([c]);
      } else {
        appArmorNote = 'no AppArmor on this host, yet the kubelet ran the pods with the example\'s AppArmor profile';
      }
    }
    const ready = await waitFor(`claim ${SEC_NS}/${SEC_NAME} Ready with phase Running`, async () => {
      const x = await secClaim();
      return cond(x, 'Ready')?.status === 'True' && x?.status?.phase === 'Running' ? x : undefined;
    }, 600_000, 2000, diag);
    const seconds = (Date.now() - applied) / 1000;
    process.stdout.write(`claim ${SEC_NS}/${SEC_NAME}: Running after ${seconds.toFixed(1)} s (${condLine(ready)}); ${appArmorNote}\n`);
    record('secure claim: applied → Running (broker + ghostunnel sidecar, real readiness)', applied, `${condLine(ready)}; ${appArmorNote}`);
    expect(ready.status.readyReplicas).toBe(3);
    const pods = await cp.list('pods', SEC_NS, `app.kubernetes.io/instance=${SEC_NAME}`);
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.spec.nodeName).toBe(node.name);
      const st = p.status.containerStatuses as Obj[];
      expect(st.find((x) => x.name === 'broker')?.ready, p.metadata.name).toBe(true);
      const proxy = st.find((x) => x.name === 'tls-proxy');
      expect(proxy?.ready, p.metadata.name).toBe(true);
      expect(proxy?.image).toContain('ghostunnel/ghostunnel:v1.8.4');
    }
    // The application: the connection Secret's bootstrapServers and CA, a client certificate from that CA.
    const conn = await waitFor('the secure claim\'s connection Secret with bootstrapServers and ca.crt', async () => {
      const x = await cp.get('secret', `${SEC_NAME}-conn`, SEC_NS);
      return x?.data?.bootstrapServers && x.data['ca.crt'] ? x : undefined;
    }, 180_000, 2000, () => cp.describe(CLAIMS, SEC_NAME, SEC_NS));
    const bootstrap = Buffer.from(conn.data.bootstrapServers, 'base64').toString();
    expect(bootstrap).toBe(`${fqdn(0)}:9092`);
    expect(Buffer.from(conn.data['ca.crt'], 'base64').toString()).toBe(pki.ca.toString());
    await cp.apply([appSecret('secure-app-mtls', conn)]);
    const r = await client('127.0.0.1:19092', 'secure-orders', { create: true, produce: 20, from: 1, consumers: 3, expect: 20, tunnel: { target: bootstrap, secret: 'secure-app-mtls' } });
    process.stdout.write(`mTLS client via bootstrapServers (${bootstrap}): ${r.phase}; acknowledged ${r.acknowledged}; read ${r.read.map((x) => x.size).join('/')}\n`);
    counts.push({ when: 'secure claim', route: 'connection Secret bootstrapServers, mutual TLS (ghostunnel client)', acknowledged: r.acknowledged, readByEachConsumer: r.read.map((x) => x.size) });
    expect(r.acknowledged, r.log).toBe(20);
    expect(r.read, r.log).toHaveLength(3);
    for (const got of r.read) expect([...got].sort((a, b) => a - b), r.log).toEqual(range(1, 20));
    record('secure claim: mTLS application, 20 messages, 3 fresh consumers', started, JSON.stringify(counts[counts.length - 1]));
  }, 1_200_000);

  // ------------------------------------------------------------------------------------------- a roll
  /**
   * Changes the pod template of `name` (an annotation added through spec.podAnnotations: a spec change that rolls the
   * StatefulSet and nothing else) and follows the roll: the phases the claim or XR reports, the broker pods replaced
   * in order, until the StatefulSet is on its new revision with every broker ready and the phase is Running again.
   */
  const rollAndFollow = async (name: string, ns: string, replicas: number, timeout: number) => {
    const started = Date.now();
    const sts = () => cp.get('statefulset', name, ns);
    const before = await sts();
    const uids = async () => Object.fromEntries((await cp.list('pods', ns, `app.kubernetes.io/instance=${name}`)).map((p) => [p.metadata.name as string, p.metadata.uid as string]));
    const last = await uids();
    const replaced: string[] = [];
    const phases: { phase: string; at: number }[] = [];
    await cp.k(['patch', CLAIMS, name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { podAnnotations: { 'e2e.streambus.io/rolled': new Date().toISOString() } } })]);
    const done = await waitFor(`the roll of ${ns}/${name} to finish with phase Running on the new revision`, async () => {
      for (const [pod, uid] of Object.entries(await uids())) {
        if (last[pod] !== uid) {
          replaced.push(pod);
          last[pod] = uid;
        }
      }
      const c = await cp.get(CLAIMS, name, ns);
      const p = String(c?.status?.phase);
      if (phases[phases.length - 1]?.phase !== p) phases.push({ phase: p, at: Math.round((Date.now() - started) / 100) / 10 });
      const s = await sts();
      const rolled = s?.status?.updateRevision !== before?.status?.updateRevision && s?.status?.currentRevision === s?.status?.updateRevision && s?.status?.readyReplicas === replicas && s?.status?.updatedReplicas === replicas;
      return rolled && p === 'Running' && cond(c, 'Ready')?.status === 'True' ? c : undefined;
    }, timeout, 500, async () => `phases ${phases.map((x) => `${x.phase}@${x.at}s`).join(' → ')}; replaced ${replaced.join(', ')}\n${condLine(await cp.get(CLAIMS, name, ns))}\n` +
      `${(await cp.kubectl(['get', 'pods', '-n', ns, '-o', 'wide', '-l', `app.kubernetes.io/instance=${name}`])).stdout}\n` +
      (await Promise.all(Array.from({ length: replicas }, async (_, i) => `----- ${name}-${i}\n${(await cp.kubectl(['logs', `${name}-${i}`, '-n', ns, '-c', 'broker', '--tail=12'])).stdout}`))).join('\n'));
    const seconds = (Date.now() - started) / 1000;
    const line = `phases ${phases.map((x) => `${x.phase}@${x.at}s`).join(' → ')}; pods replaced in order ${replaced.join(', ')}; Running on the new revision after ${seconds.toFixed(1)} s`;
    process.stdout.write(`roll of ${ns}/${name}: ${line}\n`);
    return { done, phases: phases.map((x) => x.phase), replaced, seconds, line };
  };

  // Not asserted: a roll of the secure claim's three brokers (a pod-template change; all three pods replaced at new
  // addresses, -2 first). In one run of two it came back (Running → Updating → Running in 52.6 s, every broker back in
  // the Raft group, 30/30 messages read back); in the other the replaced streambus-secure-1 pre-voted for minutes
  // without an answer ("2 [logterm: 2, index: 7] sent MsgPreVote request to 1 at term 2 ... 2 has received 1
  // MsgPreVoteResp votes and 0 vote rejections") while it had "connected to raft peer" 1 and 3, the roll stalled and
  // the claim said Updating, 2/3 brokers ready: the same StreamBus v1.0.1 behaviour as a replaced data broker's pod
  // below. The single-broker roll of the namespaced XR is asserted (last test).

  // ------------------------------------------------------------------------------------------- the production example
  const PROD_NAME = 'streambus-production';
  const PROD_NS = 'production';

  it('the production example as a claim: five brokers with the TLS sidecar on the real node, Running from real readiness; an mTLS application reads back every message', async () => {
    const started = Date.now();
    const c = example('production');
    expect(c.metadata).toMatchObject({ name: PROD_NAME, namespace: PROD_NS });
    // Its node selector (workload=streaming) and node affinity (an m5 instance type) are met by labelling the real node
    // as the example's streaming nodes are labelled. Its one-broker-per-host anti-affinity (required) cannot be met by
    // one node: that is the one scheduling rule removed. Then what this machine needs, as for the other claims.
    await cp.k(['label', 'node', node.name, 'workload=streaming', 'node.kubernetes.io/instance-type=m5.xlarge', '--overwrite']);
    expect(c.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    delete c.spec.affinity.podAntiAffinity;
    onNode(c);
    c.spec.writeConnectionSecretToRef = { name: `${PROD_NAME}-conn` };
    const n = c.spec.replicas as number;
    expect(n).toBe(5);
    // The certificate Secret the example names (no separate CA Secret: ca.crt is in it), from a test PKI.
    const { fqdn, secrets, appSecret } = examplePki(c);
    expect(secrets.map((x) => [x.metadata.name, Object.keys(x.data).sort()])).toEqual([[c.spec.security.tls.certSecretName, ['ca.crt', 'tls.crt', 'tls.key']]]);
    await cp.apply(secrets);
    await node.addLocalVolumes(c.spec.storage.class, [c.spec.storage.size, c.spec.storage.raftSize], n);
    const applied = Date.now();
    await cp.apply([c]);
    const prodClaim = () => cp.get(CLAIMS, PROD_NAME, PROD_NS);
    const ready = await waitFor(`claim ${PROD_NS}/${PROD_NAME} Ready with phase Running`, async () => {
      const x = await prodClaim();
      return cond(x, 'Ready')?.status === 'True' && x?.status?.phase === 'Running' ? x : undefined;
    }, 600_000, 2000, async () => `${condLine(await prodClaim())}\n${(await cp.kubectl(['get', 'pods,pvc', '-n', PROD_NS, '-o', 'wide'])).stdout}\n` +
      `${(await cp.kubectl(['get', 'events', '-n', PROD_NS, '--sort-by=.lastTimestamp'])).stdout.split('\n').slice(-12).join('\n')}\n${cp.logTail('kubelet', 10)}`);
    const seconds = (Date.now() - applied) / 1000;
    process.stdout.write(`claim ${PROD_NS}/${PROD_NAME}: Running after ${seconds.toFixed(1)} s (${condLine(ready)})\n`);
    record(`production claim (${n} brokers + ghostunnel sidecars): applied → Running`, applied, condLine(ready));
    expect(ready.status.readyReplicas).toBe(n);
    const pods = await cp.list('pods', PROD_NS, `app.kubernetes.io/instance=${PROD_NAME}`);
    expect(pods).toHaveLength(n);
    for (const p of pods) {
      expect(p.spec.nodeName).toBe(node.name);
      const st = p.status.containerStatuses as Obj[];
      expect(st.find((x) => x.name === 'broker')?.ready, p.metadata.name).toBe(true);
      expect(st.find((x) => x.name === 'tls-proxy')?.ready, p.metadata.name).toBe(true);
    }
    const conn = await waitFor('the production claim\'s connection Secret with bootstrapServers and ca.crt', async () => {
      const x = await cp.get('secret', `${PROD_NAME}-conn`, PROD_NS);
      return x?.data?.bootstrapServers && x.data['ca.crt'] ? x : undefined;
    }, 180_000, 2000, () => cp.describe(CLAIMS, PROD_NAME, PROD_NS));
    const bootstrap = Buffer.from(conn.data.bootstrapServers, 'base64').toString();
    expect(bootstrap).toBe(`${fqdn(0)}:9092`);
    // The application runs in namespace default: its client certificate and the claim's CA in a Secret there.
    await cp.apply([appSecret('production-app-mtls', conn)]);
    const r = await client('127.0.0.1:19092', 'production-orders', { create: true, produce: 20, from: 1, consumers: 3, expect: 20, tunnel: { target: bootstrap, secret: 'production-app-mtls' } });
    process.stdout.write(`mTLS client of the production claim via ${bootstrap}: ${r.phase}; acknowledged ${r.acknowledged}; read ${r.read.map((x) => x.size).join('/')}\n`);
    counts.push({ when: 'production claim', route: 'connection Secret bootstrapServers, mutual TLS (ghostunnel client)', acknowledged: r.acknowledged, readByEachConsumer: r.read.map((x) => x.size) });
    expect(r.acknowledged, r.log).toBe(20);
    expect(r.read, r.log).toHaveLength(3);
    for (const got of r.read) expect([...got].sort((a, b) => a - b), r.log).toEqual(range(1, 20));
    record('production claim: mTLS application, 20 messages, 3 fresh consumers', started, JSON.stringify(counts[counts.length - 1]));
  }, 1_200_000);

  // ------------------------------------------------------------------------------------------- the namespaced API
  const LEGACY = [[MIN_NAME, MIN_NS], [SEC_NAME, SEC_NS], [PROD_NAME, PROD_NS]] as const;
  /** The legacy clusters' volume claims (namespace/name), deleted when the legacy API goes. */
  let legacyVolumeClaims: string[] = [];

  it('the legacy API makes way for the Crossplane 2 API: the claims, their brokers\' volume claims and the legacy XRD deleted, the v2 API installed', async () => {
    const started = Date.now();
    // The legacy API's claim and the v2 API's namespaced XR are the same resource (streambusclusters.streambus.io), so
    // one control plane serves one API at a time: the legacy claims are deleted, then its XRD, then the v2 API
    // installed as test/e2e/controlplane-v2.test.ts installs it.
    await Promise.all(LEGACY.map(([n, ns]) => cp.kubectl(['delete', CLAIMS, n, '-n', ns, '--wait=false'])));
    await waitFor('the legacy claims and their XRs deleted', async () => (await cp.list(CLAIMS)).length === 0 && (await cp.list('xstreambusclusters.streambus.io')).length === 0, 300_000, 2000,
      async () => (await cp.kubectl(['get', `${CLAIMS},xstreambusclusters.streambus.io`, '-A'])).stdout);
    await cp.k(['delete', 'compositeresourcedefinitions.apiextensions.crossplane.io', 'xstreambusclusters.streambus.io', '--wait=false']);
    // The brokers' volume claims outlive their cluster (storage.deleteClaimsOnDelete is off by default). The namespaced
    // XRs of the last test have the claims' names and namespaces, so they would take over these volumes and the old
    // clusters' Raft state: the volume claims are deleted too (they go once the brokers' pods have stopped), and that
    // test recycles their volumes.
    legacyVolumeClaims = (await Promise.all(LEGACY.map(([n, ns]) => cp.list('persistentvolumeclaims', ns, `app.kubernetes.io/instance=${n}`)))).flat().map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
    expect(legacyVolumeClaims).toHaveLength(2 * (3 + 3 + 5));
    await Promise.all(LEGACY.map(([n, ns]) => cp.k(['delete', 'persistentvolumeclaims', '-n', ns, '-l', `app.kubernetes.io/instance=${n}`, '--wait=false'])));
    await waitFor('the legacy API\'s CRDs removed', async () => !(await cp.get('crd', CLAIMS)) && !(await cp.get('crd', 'xstreambusclusters.streambus.io')), 300_000, 2000,
      () => cp.describe('xrd', 'xstreambusclusters.streambus.io'));
    await cp.installApiV2();
    record('legacy claims, their volume claims and XRD deleted, v2 API installed', started);
  }, 900_000);

  it('the dev example as a namespaced XR (Crossplane 2 API) becomes a broker pod on the real node, Running; an application reads back every message', async () => {
    // As for the claims: the broker image imported on the node, the node's selector and toleration, small requests.
    const x = onNode(example('dev'));
    const name = x.metadata.name as string;
    const ns = x.metadata.namespace as string;
    await node.addLocalVolumes(x.spec.storage.class, [x.spec.storage.size, x.spec.storage.raftSize], 1);
    const applied = Date.now();
    await cp.apply([x]);
    const xr = () => cp.get(CLAIMS, name, ns);
    const ready = await waitFor(`namespaced XR ${ns}/${name} Ready with phase Running`, async () => {
      const c = await xr();
      return cond(c, 'Ready')?.status === 'True' && c?.status?.phase === 'Running' ? c : undefined;
    }, 600_000, 2000, async () => `${condLine(await xr())}\n${(await cp.kubectl(['get', 'pods,pvc', '-n', ns, '-o', 'wide'])).stdout}\n${cp.logTail('kubelet', 10)}`);
    const seconds = (Date.now() - applied) / 1000;
    process.stdout.write(`namespaced XR ${ns}/${name}: Running after ${seconds.toFixed(1)} s (${condLine(ready)})\n`);
    record(`namespaced XR ${ns}/${name} (dev, ${x.spec.replicas} broker): applied → Running`, applied, condLine(ready));
    expect(ready.apiVersion).toBe('streambus.io/v1alpha1');
    expect(ready.spec.claimRef).toBeUndefined();
    const pods = await cp.list('pods', ns, `app.kubernetes.io/instance=${name}`);
    expect(pods).toHaveLength(x.spec.replicas);
    for (const p of pods) {
      expect(p.spec.nodeName).toBe(node.name);
      expect((p.status.containerStatuses as Obj[]).find((s) => s.name === 'broker')?.ready, p.metadata.name).toBe(true);
    }
    // A modern XR publishes no connection details: the function composes the Secret `<name>-connection`.
    const conn = await waitFor(`Secret ${ns}/${name}-connection with bootstrapServers`, async () => {
      const s = await cp.get('secret', `${name}-connection`, ns);
      return s?.data?.bootstrapServers ? s : undefined;
    }, 180_000, 2000);
    const bootstrap = Buffer.from(conn.data.bootstrapServers, 'base64').toString();
    const r = await client(bootstrap, 'dev-events', { create: true, produce: 20, from: 1, consumers: 3, expect: 20 });
    process.stdout.write(`client of the namespaced XR via ${bootstrap}: ${r.phase}; acknowledged ${r.acknowledged}; read ${r.read.map((y) => y.size).join('/')}\n`);
    counts.push({ when: 'namespaced XR (dev)', route: 'composed <name>-connection Secret bootstrapServers', acknowledged: r.acknowledged, readByEachConsumer: r.read.map((y) => y.size) });
    expect(r.acknowledged, r.log).toBe(20);
    for (const got of r.read) expect([...got].sort((a, b) => a - b), r.log).toEqual(range(1, 20));
    record('dev namespaced XR: application, 20 messages, 3 fresh consumers', applied, JSON.stringify(counts[counts.length - 1]));
  }, 1_200_000);

  it('the dev namespaced XR: a spec change rolls its StatefulSet (Running → … → Running, no acknowledged message lost); a scale-out is refused by the function', async () => {
    const started = Date.now();
    const name = 'streambus-dev';
    const ns = 'development';
    const { phases, line } = await rollAndFollow(name, ns, 1, 480_000);
    expect(phases[0]).toBe('Running');
    expect(phases[phases.length - 1]).toBe('Running');
    const conn = (await cp.get('secret', `${name}-connection`, ns))!;
    const r = await client(Buffer.from(conn.data.bootstrapServers, 'base64').toString(), 'dev-events', { create: false, produce: 10, from: 21, consumers: 3, expect: 30 });
    counts.push({ when: 'namespaced XR after its StatefulSet rolled', route: 'composed connection Secret bootstrapServers', acknowledged: r.acknowledged, readByEachConsumer: r.read.map((x) => x.size) });
    process.stdout.write(`after the roll of the namespaced XR: acknowledged ${r.acknowledged} more; read ${r.read.map((x) => x.size).join('/')}\n`);
    expect(r.acknowledged, r.log).toBe(10);
    for (const got of r.read) expect([...got].sort((a, b) => a - b), r.log).toEqual(range(1, 30));
    record('dev namespaced XR: pod-template change rolled the StatefulSet (1 broker); 30/30 read back', started, line);
    // Scale-out: StreamBus v1.0.1's Raft membership is static, so the function holds the running count and says so
    // (ConfigurationValid=False ReplicaChangeRefused) unless the XR is annotated to re-form the cluster on purpose.
    const scale = Date.now();
    await cp.k(['patch', CLAIMS, name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 3 } })]);
    const refused = await waitFor('ConfigurationValid=False ReplicaChangeRefused on the XR', async () => {
      const c = await cp.get(CLAIMS, name, ns);
      return cond(c, 'ConfigurationValid')?.reason === 'ReplicaChangeRefused' ? c : undefined;
    }, 120_000, 1000, async () => condLine(await cp.get(CLAIMS, name, ns)));
    expect((await cp.get('statefulset', name, ns))?.spec.replicas).toBe(1);
    expect(refused.status.phase).toBe('Running');
    await cp.k(['patch', CLAIMS, name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 1 } })]);
    await waitFor('ConfigurationValid=True again', async () => cond(await cp.get(CLAIMS, name, ns), 'ConfigurationValid')?.status === 'True', 120_000);
    record('dev namespaced XR: scale-out 1 → 3 refused (ReplicaChangeRefused), StatefulSet kept at 1, phase Running', scale, String(cond(refused, 'ConfigurationValid')?.message).slice(0, 200));
  }, 900_000);

  it('the dev namespaced XR: its only broker\'s pod deleted: Failed (no broker ready, no quorum), then Running again on a new address from real readiness; no acknowledged message lost', async () => {
    const name = 'streambus-dev';
    const ns = 'development';
    const xr = () => cp.get(CLAIMS, name, ns);
    const before = (await cp.get('pod', `${name}-0`, ns))?.status.podIP as string;
    // StreamBus v1.0.1 writes its log to disk about once a second (broker-contract.md): the last acknowledged
    // messages of the roll test are older than that, so what was acknowledged is on the volume.
    await new Promise((r) => setTimeout(r, 2000));
    const started = Date.now();
    const phases: string[] = [String((await xr())?.status?.phase)];
    const follow = async () => {
      const c = await xr();
      const p = c?.status?.phase as string | undefined;
      if (p && phases[phases.length - 1] !== p) phases.push(p);
      return c;
    };
    // As for the minimal claim: the node is cordoned until the XR reports the outage (the replacement pod waits), so
    // the outage outlasts provider-kubernetes' 30 s poll however fast the pod comes back; then uncordoned.
    await cp.k(['cordon', node.name]);
    let failed: Obj;
    try {
      await cp.k(['delete', 'pod', `${name}-0`, '-n', ns, '--wait=false']);
      failed = await waitFor('phase Failed with BrokersReady=False QuorumLost', async () => {
        const c = await follow();
        return c?.status?.phase === 'Failed' && cond(c, 'BrokersReady')?.reason === 'QuorumLost' ? c : undefined;
      }, 240_000, 500, async () => condLine(await xr()));
    } finally {
      await cp.kubectl(['uncordon', node.name]);
    }
    const failedAt = (Date.now() - started) / 1000;
    const running = await waitFor('phase Running with BrokersReady=True again', async () => {
      const c = await follow();
      return c?.status?.phase === 'Running' && cond(c, 'BrokersReady')?.status === 'True' ? c : undefined;
    }, 300_000, 1000, async () => `${condLine(await xr())}\n${(await cp.kubectl(['get', 'pods', '-n', ns, '-o', 'wide'])).stdout}`);
    const runningAt = (Date.now() - started) / 1000;
    const after = (await cp.get('pod', `${name}-0`, ns))?.status.podIP as string;
    expect(failed.status.readyReplicas ?? 0).toBe(0);
    expect(running.status.readyReplicas).toBe(1);
    expect(after).not.toBe(before);
    expect(phases).toEqual(['Running', 'Failed', 'Running']);
    process.stdout.write(`dev XR's broker pod deleted: Failed after ${failedAt.toFixed(1)} s, Running after ${runningAt.toFixed(1)} s; address ${before} → ${after}; phases ${phases.join(' → ')}\n`);
    // Every acknowledged message is still there (on the broker's volume), and new ones go through.
    const conn = (await cp.get('secret', `${name}-connection`, ns))!;
    const r = await client(Buffer.from(conn.data.bootstrapServers, 'base64').toString(), 'dev-events', { create: false, produce: 10, from: 31, consumers: 3, expect: 40 });
    counts.push({ when: 'namespaced XR after its only broker\'s pod was deleted and replaced', route: 'composed connection Secret bootstrapServers', acknowledged: r.acknowledged, readByEachConsumer: r.read.map((x) => x.size) });
    process.stdout.write(`after the dev XR's pod was replaced: acknowledged ${r.acknowledged} more; read ${r.read.map((x) => x.size).join('/')}\n`);
    expect(r.acknowledged, r.log).toBe(10);
    for (const got of r.read) expect([...got].sort((a, b) => a - b), r.log).toEqual(range(1, 40));
    record('dev namespaced XR: its broker pod deleted: Failed then Running, 40/40 read back', started, `Failed at ${failedAt.toFixed(1)} s, Running at ${runningAt.toFixed(1)} s; ${phases.join(' → ')}; address ${before} → ${after}`);
  }, 900_000);

  it('the minimal, secure and production examples as namespaced XRs (Crossplane 2 API), applied together: their broker pods on the real node (with the TLS sidecar for secure and production), each XR Running from real readiness; an application reads back every message through each XR\'s <name>-connection Secret (mutual TLS for secure and production)', async () => {
    const started = Date.now();
    // Room on the node: the dev XR is done with (its volumes are kept, as a cluster's are).
    await cp.kubectl(['delete', CLAIMS, 'streambus-dev', '-n', 'development', '--wait=false']);
    // The legacy clusters' volumes (their claims deleted with the legacy API; reclaim policy Retain) recycled: emptied
    // and Available again, as an administrator recycles a Retain volume.
    const old = legacyVolumeClaims;
    expect(old).toHaveLength(2 * (3 + 3 + 5));
    await waitFor(`the ${old.length} volumes of the legacy clusters Released`, async () => (await cp.list('persistentvolumes')).filter((pv) => pv.status?.phase === 'Released' && old.includes(`${pv.spec.claimRef?.namespace}/${pv.spec.claimRef?.name}`)).length === old.length,
      240_000, 1000, async () => (await cp.kubectl(['get', 'pv,pvc', '-A'])).stdout);
    const recycled = await node.recycleVolumes();
    expect(recycled).toHaveLength(old.length);
    await waitFor('the recycled volumes Available', async () => (await cp.list('persistentvolumes')).filter((pv) => recycled.includes(pv.metadata.name) && pv.status?.phase === 'Available').length === recycled.length,
      120_000, 1000, async () => (await cp.kubectl(['get', 'pv'])).stdout);
    record('the legacy clusters\' volumes recycled (emptied, Available)', started, `${recycled.length} volumes`);
    // The same manifests as the claims above (same names and namespaces; their volumes now empty), with the
    // same additions (onNode, the Secrets the TLS examples name from a fresh test PKI, local volumes) and the same two
    // removals: the secure example's AppArmor annotation on a host without AppArmor (the secure claim's test shows the
    // kubelet refusing it) and the production example's one-broker-per-host anti-affinity (there is one node, labelled
    // as its streaming nodes). No writeConnectionSecretToRef: the function composes `<name>-connection`.
    await cp.k(['label', 'node', node.name, 'workload=streaming', 'node.kubernetes.io/instance-type=m5.xlarge', '--overwrite']);
    const xrs = ['minimal', 'secure', 'production'].map((label) => {
      const x = example(label);
      if (label === 'secure' && !HOST_APPARMOR) {
        expect(x.spec.podAnnotations).toHaveProperty([APPARMOR_KEY]);
        delete x.spec.podAnnotations[APPARMOR_KEY];
      }
      if (label === 'production') {
        expect(x.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
        delete x.spec.affinity.podAntiAffinity;
      }
      onNode(x);
      return { label, x, name: x.metadata.name as string, ns: x.metadata.namespace as string, n: x.spec.replicas as number, tls: x.spec.security?.tls?.enabled ? examplePki(x) : undefined };
    });
    expect(xrs.map((e) => [e.name, e.ns, e.n, !!e.tls])).toEqual([[MIN_NAME, MIN_NS, 3, false], [SEC_NAME, SEC_NS, 3, true], [PROD_NAME, PROD_NS, 5, true]]);
    await cp.apply(xrs.flatMap((e) => e.tls?.secrets ?? []));
    for (const { x, n } of xrs) await node.addLocalVolumes(x.spec.storage.class, [x.spec.storage.size, x.spec.storage.raftSize], n);
    const applied = Date.now();
    await cp.apply(xrs.map((e) => e.x));
    const running = await Promise.all(xrs.map(async ({ label, name, ns, n, tls }) => {
      const xr = () => cp.get(CLAIMS, name, ns);
      const ready = await waitFor(`namespaced XR ${ns}/${name} Ready with phase Running`, async () => {
        const c = await xr();
        return cond(c, 'Ready')?.status === 'True' && c?.status?.phase === 'Running' ? c : undefined;
      }, 600_000, 2000, async () => `${condLine(await xr())}\n${(await cp.kubectl(['get', 'pods,pvc', '-n', ns, '-o', 'wide', '-l', `app.kubernetes.io/instance=${name}`])).stdout}\n` +
        `${(await cp.kubectl(['get', 'events', '-n', ns, '--sort-by=.lastTimestamp'])).stdout.split('\n').slice(-12).join('\n')}\n${cp.logTail('kubelet', 10)}`);
      const seconds = (Date.now() - applied) / 1000;
      process.stdout.write(`namespaced XR ${ns}/${name}: Running after ${seconds.toFixed(1)} s (${condLine(ready)})\n`);
      record(`namespaced XR ${ns}/${name} (${label}, ${n} brokers${tls ? ' + ghostunnel sidecars' : ''}): applied → Running (real broker readiness)`, applied, condLine(ready));
      return ready;
    }));
    for (const [i, { name, ns, n, tls }] of xrs.entries()) {
      const ready = running[i]!;
      expect(ready.apiVersion).toBe('streambus.io/v1alpha1');
      expect(ready.spec.claimRef).toBeUndefined();
      expect(ready.status.readyReplicas).toBe(n);
      const pods = await cp.list('pods', ns, `app.kubernetes.io/instance=${name}`);
      expect(pods).toHaveLength(n);
      for (const p of pods) {
        expect(p.spec.nodeName).toBe(node.name);
        const st = p.status.containerStatuses as Obj[];
        const broker = st.find((s) => s.name === 'broker');
        expect(broker?.ready, p.metadata.name).toBe(true);
        expect(broker?.image).toContain(brokerImage);
        const proxy = st.find((s) => s.name === 'tls-proxy');
        if (tls) {
          expect(proxy?.ready, p.metadata.name).toBe(true);
          expect(proxy?.image).toContain('ghostunnel/ghostunnel:v1.8.4');
        } else {
          expect(proxy, p.metadata.name).toBeUndefined();
        }
      }
    }
    // The applications, one per XR and side by side: the CLI to the composed `<name>-connection` Secret's
    // bootstrapServers; for the TLS examples through a ghostunnel client with a client certificate from the test CA and
    // the CA that Secret publishes.
    const apps = await Promise.all(xrs.map(async ({ label, name, ns, tls }) => {
      const conn = await waitFor(`Secret ${ns}/${name}-connection with bootstrapServers${tls ? ' and ca.crt' : ''}`, async () => {
        const s = await cp.get('secret', `${name}-connection`, ns);
        return s?.data?.bootstrapServers && (!tls || s.data['ca.crt']) ? s : undefined;
      }, 180_000, 2000, () => cp.describe(CLAIMS, name, ns));
      const bootstrap = Buffer.from(conn.data.bootstrapServers, 'base64').toString();
      const topic = `xr-${label}-orders`;
      if (!tls) {
        expect(bootstrap).toMatch(/\.svc\.cluster\.local:9092/);
        return { label, bootstrap, r: await client(bootstrap, topic, { create: true, produce: 20, from: 1, consumers: 3, expect: 20 }) };
      }
      expect(bootstrap).toBe(`${tls.fqdn(0)}:9092`);
      expect(Buffer.from(conn.data['ca.crt'], 'base64').toString()).toBe(tls.pki.ca.toString());
      await cp.apply([tls.appSecret(`xr-${label}-app-mtls`, conn)]);
      return { label, bootstrap, r: await client('127.0.0.1:19092', topic, { create: true, produce: 20, from: 1, consumers: 3, expect: 20, tunnel: { target: bootstrap, secret: `xr-${label}-app-mtls` } }) };
    }));
    for (const { label, bootstrap, r } of apps) {
      const route = label === 'minimal' ? 'composed <name>-connection Secret bootstrapServers' : 'composed <name>-connection Secret bootstrapServers, mutual TLS (ghostunnel client)';
      process.stdout.write(`client of the ${label} namespaced XR via ${bootstrap}: ${r.phase}; acknowledged ${r.acknowledged}; read ${r.read.map((y) => y.size).join('/')}\n`);
      counts.push({ when: `namespaced XR (${label})`, route, acknowledged: r.acknowledged, readByEachConsumer: r.read.map((y) => y.size) });
    }
    for (const { r } of apps) {
      expect(r.acknowledged, r.log).toBe(20);
      expect(r.read, r.log).toHaveLength(3);
      for (const got of r.read) expect([...got].sort((a, b) => a - b), r.log).toEqual(range(1, 20));
    }
    record('minimal, secure, production namespaced XRs: an application each, 20 messages, 3 fresh consumers', started, JSON.stringify(counts.slice(-3)));
  }, 1_500_000);

  // Not asserted: the claim Running again after the data broker's pod was replaced. With StreamBus v1.0.1 the
  // replacement (same broker id, same volumes, a new pod address) rejoined in one run of three: in the other two
  // (once the deleted broker led Raft, once it followed) it pre-voted for minutes without an answer ("1 [logterm: 5,
  // index: 11] sent MsgPreVote request to 3 at term 6 ... received 1 MsgPreVoteResp votes") while brokers 2 and 3 kept
  // a leader between them, and the claim stayed Degraded (2/3), correctly. A crashed broker that keeps its pod and
  // address rejoins every time (the crash-loop test above). kwok's fake pods could not show either.
  // (No placeholder test: a skipped test would read as a tool missing. The finding is in docs/architecture.md.)
});
