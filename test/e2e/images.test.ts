/**
 * The real runtime image, run as Crossplane runs it: the docker-archive scripts/build-images.sh built with buildah from
 * the Dockerfile (NODE_IMAGE = the project's distroless base), unpacked and started with runc (test/helpers/oci.ts) in
 * a network namespace of this run: a non-root UID, read-only root filesystem, every capability dropped, no new
 * privileges, no arguments (the image's entrypoint alone, so it listens on 0.0.0.0:9443), and Crossplane's
 * certificate layout mounted read-only at /tls/server (tls.crt, tls.key, ca.crt; the CA and the server certificate
 * share a subject, as Crossplane's Go generator makes them). This is the real image and the real runtime (runc, as
 * the kubelet's containerd calls it); only Kubernetes around it is absent (the real-node issue).
 * Also checks the images' contents (no shell or package manager in the function's image; the broker's /bin/sh;
 * ghostunnel's libraries) and prints their sizes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { FunctionRunnerServiceService, Severity } from '@crossplane-org/function-sdk-typescript';
import { makePki, requireOpenssl, type Pki } from '../helpers/certs.js';
import { clone, exampleXr, request } from '../helpers/fixtures.js';
import { healthCheck, sleep } from '../helpers/ops.js';
import { expectSameAnswersAsReference, plainResponse as plain, runFunction, startServer, type RunningServer } from '../helpers/server.js';
import { runContainer, scratch, unpack, type Container, type Image } from '../helpers/oci.js';
import { IN_CI, ROOT } from '../helpers/tools.js';
import { service as healthService } from 'grpc-health-check';
import { parse, parseAllDocuments, stringify } from 'yaml';

type Obj = Record<string, any>;
const IMAGES = join(ROOT, '.tools', 'images');
const PORT = 9443;
/** Crossplane v2.2.1's function Deployment: runAsUser/runAsGroup 2000 (internal/controller/pkg/runtime/runtime.go). */
const CROSSPLANE_UID = 2000;

function missing(): string | undefined {
  if (spawnSync('runc', ['--version']).status !== 0) return 'runc is not installed (apt-get install runc)';
  if (process.getuid?.() !== 0) return 'runc containers and network namespaces need root';
  if (!existsSync(join(IMAGES, 'function-streambus-runtime.tar'))) return `${IMAGES}/function-streambus-runtime.tar is missing (run scripts/build-images.sh)`;
  return undefined;
}
const why = missing();
if (why) {
  if (IN_CI) throw new Error(`CI=true and ${why}`);
  process.stderr.write(`\n!!!!!!!!!! SKIPPED: the image tests: ${why} !!!!!!!!!!\n\n`);
}
const openssl = requireOpenssl();

const Client = grpc.makeGenericClientConstructor(FunctionRunnerServiceService, 'FunctionRunnerService');
const HealthClient = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health') as unknown as new (a: string, c: grpc.ChannelCredentials, o?: grpc.ClientOptions) => Parameters<typeof healthCheck>[0];
const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

describe.skipIf(!!why || !openssl)('the runtime image (buildah from the Dockerfile), run with runc as Crossplane runs it', () => {
  let work: string;
  let image: Image;
  let pki: Pki;
  let tlsDir: string;
  let serverCert: X509Certificate;
  let xpCa: X509Certificate;
  const containers: Container[] = [];
  const clients: grpc.Client[] = [];

  /** Crossplane's client: its own certificate (same subject as its CA). The server's certificate also shares its
   * CA's subject, which OpenSSL's chain check takes for self-signed; Go (Crossplane) accepts it. So the chain is
   * checked by hand once (`presents its certificate`) and the gRPC clients skip OpenSSL's verdict. */
  const creds = (identity: { key: Buffer; cert: Buffer } | null) =>
    grpc.credentials.createSsl(pki.ca, identity?.key ?? null, identity?.cert ?? null, { rejectUnauthorized: false });
  const fnClient = (c: Container, identity: { key: Buffer; cert: Buffer } | null = pki.crossplaneClient) => {
    const cl = new Client(`${c.ip}:${PORT}`, creds(identity), { 'grpc.ssl_target_name_override': 'function-streambus' });
    clients.push(cl);
    return cl;
  };
  const start = async (uid: number, env: string[] = []) => {
    const c = runContainer(image, { uid, gid: uid, binds: { '/tls/server': tlsDir }, env: ['TLS_SERVER_CERTS_DIR=/tls/server', ...env] });
    containers.push(c);
    const h = new HealthClient(`${c.ip}:${PORT}`, creds(pki.crossplaneClient), { 'grpc.ssl_target_name_override': 'function-streambus' });
    let last: unknown;
    for (let i = 0; i < 150; i++) {
      if (c.proc.exitCode !== null) throw new Error(`the container exited (${c.proc.exitCode}): ${c.logs.join('\n')}`);
      try {
        if ((await healthCheck(h, '')) === 'SERVING') {
          (h as unknown as grpc.Client).close();
          return c;
        }
      } catch (e) {
        last = e;
      }
      await sleep(200);
    }
    throw new Error(`the container never served health: ${String(last)}\n${c.logs.join('\n')}`);
  };

  beforeAll(() => {
    work = scratch('sb-images');
    chmodSync(work, 0o755);
    const t0 = Date.now();
    image = unpack(join(IMAGES, 'function-streambus-runtime.tar'), join(work, 'runtime'));
    pki = makePki();
    // /tls/server as Crossplane's runtime mounts it: the server certificate signed by Crossplane's CA, with the CA's
    // subject, no subject key identifier, and the CA as ca.crt.
    const ssl = (...a: string[]) => execFileSync('openssl', a, { cwd: pki.dir, stdio: 'pipe' });
    writeFileSync(join(pki.dir, 'fnsrv.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
      'extendedKeyUsage=serverAuth,clientAuth\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=keyid\nsubjectAltName=DNS:function-streambus,DNS:localhost\n');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'fnsrv.key', '-out', 'fnsrv.csr', '-subj', '/O=Crossplane/CN=Crossplane');
    ssl('x509', '-req', '-in', 'fnsrv.csr', '-CA', 'xp-ca.crt', '-CAkey', 'xp-ca.key', '-CAcreateserial', '-out', 'fnsrv.crt', '-days', '1', '-extfile', 'fnsrv.ext');
    tlsDir = join(work, 'tls-server');
    mkdirSync(tlsDir, { mode: 0o755 });
    writeFileSync(join(tlsDir, 'tls.crt'), readFileSync(join(pki.dir, 'fnsrv.crt')), { mode: 0o644 });
    writeFileSync(join(tlsDir, 'tls.key'), readFileSync(join(pki.dir, 'fnsrv.key')), { mode: 0o644 }); // a test key, readable by the container's UID
    writeFileSync(join(tlsDir, 'ca.crt'), readFileSync(join(pki.dir, 'xp-ca.crt')), { mode: 0o644 });
    serverCert = new X509Certificate(readFileSync(join(tlsDir, 'tls.crt')));
    xpCa = new X509Certificate(readFileSync(join(tlsDir, 'ca.crt')));
    expect(serverCert.subject).toBe(xpCa.subject);
    // The client trusts Crossplane's CA (pki.ca is the test CA; the server's chain is checked by hand below).
    pki = { ...pki, ca: readFileSync(join(tlsDir, 'ca.crt')) };
    const summary = existsSync(join(IMAGES, 'images.json')) ? (JSON.parse(readFileSync(join(IMAGES, 'images.json'), 'utf8')) as Obj) : {};
    const lines = ['', '==== container images (scripts/build-images.sh; sizes: uncompressed layers, gzip -6 of the layers) ===='];
    for (const [n, i] of Object.entries((summary.images ?? {}) as Record<string, Obj>)) {
      lines.push(`${n}: ${i.ref} ${i.id} ${MB(i.uncompressedBytes)} (${MB(i.gzipBytes)} gzip), user ${i.user}`);
    }
    if (summary.xpkg) lines.push(`function-streambus.xpkg (runtime embedded): ${MB(summary.xpkg.bytes)}`);
    lines.push(`runtime image unpacked in ${Date.now() - t0} ms`, '');
    process.stdout.write(lines.join('\n'));
  }, 120_000);

  afterAll(() => {
    for (const c of clients) c.close();
    for (const c of containers) c.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('is the Dockerfile on the distroless base: node and /fn, UID 65532, no shell, no package manager, no npm', () => {
    const c = image.config.config as Obj;
    expect(image.ref).toMatch(/^localhost\/function-streambus-runtime:v\d+\.\d+\.\d+/);
    expect(c.User).toBe('65532:65532');
    expect(c.Entrypoint).toEqual(['node', '/fn/function-streambus.mjs']);
    expect(c.Env).toEqual(expect.arrayContaining(['TLS_SERVER_CERTS_DIR=/tls/server', 'NODE_ENV=production']));
    expect(image.config.config.ExposedPorts).toHaveProperty('9443/tcp');
    for (const p of ['fn/function-streambus.mjs', 'fn/package.json', 'usr/local/bin/node', 'etc/ssl/certs/ca-certificates.crt', 'etc/passwd']) expect(image.paths.has(p), p).toBe(true);
    for (const p of ['bin/sh', 'bin/bash', 'bin/busybox', 'usr/bin/apt', 'usr/bin/dpkg', 'usr/local/bin/npm', 'usr/local/lib/node_modules', 'fn/node_modules']) {
      expect(existsSync(join(image.rootfs, p)), p).toBe(false);
    }
    expect(readFileSync(join(image.rootfs, 'etc/passwd'), 'utf8')).toContain('nonroot:x:65532:65532:');
    // The node binary is the pinned Node.js 26 (it runs on the host: same libc family).
    const v = spawnSync(join(image.rootfs, 'usr/local/bin/node'), ['--version'], { encoding: 'utf8' });
    expect(v.stdout.trim()).toMatch(/^v26\./);
  });

  it('as UID 65532, read-only root, no capabilities: mutual TLS from /tls/server, RunFunction equals the local render for every example, health answers', async () => {
    const c = await start(65532);
    const dev: RunningServer = await startServer();
    try {
      expect(c.logs.join('\n')).toContain('"tls":true');
      // The server presents /tls/server/tls.crt, signed by Crossplane's CA.
      const presented = await new Promise<X509Certificate>((resolve, reject) => {
        const s = connect({ host: c.ip, port: PORT, servername: 'function-streambus', rejectUnauthorized: false, key: pki.crossplaneClient.key, cert: pki.crossplaneClient.cert, ALPNProtocols: ['h2'] }, () => {
          const x = s.getPeerX509Certificate();
          s.destroy();
          x ? resolve(x) : reject(new Error('no certificate'));
        });
        s.once('error', reject);
      });
      expect(presented.fingerprint256).toBe(serverCert.fingerprint256);
      expect(presented.verify(xpCa.publicKey)).toBe(true);

      const t = fnClient(c);
      const d = new Client(`127.0.0.1:${dev.port}`, grpc.credentials.createInsecure());
      clients.push(d);
      const fatal = await expectSameAnswersAsReference(t, d, (name) => `image-${name}`);
      const bad = clone(exampleXr('minimal')) as Obj;
      bad.spec.replicas = 0;
      expect(plain(fatal)).toEqual(plain(await runFunction(d, request(bad))));
      // gRPC health, over the same mutual TLS.
      const h = new HealthClient(`${c.ip}:${PORT}`, creds(pki.crossplaneClient), { 'grpc.ssl_target_name_override': 'function-streambus' });
      expect(await healthCheck(h, '')).toBe('SERVING');
      expect(await healthCheck(h, 'apiextensions.fn.proto.v1.FunctionRunnerService')).toBe('SERVING');
      (h as unknown as grpc.Client).close();
    } finally {
      await dev.stop();
    }
  }, 120_000);

  it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
    const c = containers[0]!;
    await expect(runFunction(fnClient(c, null), request(exampleXr('minimal')))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await expect(runFunction(fnClient(c, pki.foreignClient), request(exampleXr('minimal')))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    // ...and still serves Crossplane afterwards.
    const ok = await runFunction(fnClient(c), request(exampleXr('minimal')));
    expect(ok.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
    c.kill('TERM');
    expect(await c.exited).toBe(0);
  }, 60_000);

  it('as Crossplane\'s UID 2000: SIGTERM (runc kill) lets the in-flight call finish, then the container exits 0', async () => {
    // The server's test hook delays each answer by 1.5 s, so that a call is reliably in flight when SIGTERM comes.
    const c = await start(CROSSPLANE_UID, ['FUNCTION_STREAMBUS_TEST_RESPONSE_DELAY_MS=1500']);
    const t = fnClient(c);
    const t0 = Date.now();
    const inFlight = runFunction(t, request(exampleXr('production'), { tag: 'in-flight' }));
    await sleep(500);
    c.kill('TERM');
    const rsp = await inFlight;
    expect(rsp.meta!.tag).toBe('in-flight');
    expect(Object.keys(rsp.desired!.resources).length).toBeGreaterThanOrEqual(4);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(await c.exited).toBe(0);
    expect(c.logs.join('\n')).toMatch(/draining/);
  }, 60_000);
});

/** The manifests a render composes (Object mode wraps each in a provider-kubernetes Object). */
function renderManifests(claimYaml: string, dir: string): Obj[] {
  const file = join(dir, 'claim.yaml');
  writeFileSync(file, claimYaml);
  const out = execFileSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'render', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out).map((d) => d.toJSON() as Obj).filter(Boolean).map((o) => o.spec?.forProvider?.manifest ?? o);
}

const brokerWhy = ['broker.tar', 'ghostunnel.tar'].map((f) => join(IMAGES, f)).find((f) => !existsSync(f));
if (!why && brokerWhy) {
  if (IN_CI) throw new Error(`CI=true and ${brokerWhy} is missing (run scripts/build-images.sh)`);
  process.stderr.write(`\n!!!!!!!!!! SKIPPED: the broker and sidecar image tests: ${brokerWhy} is missing !!!!!!!!!!\n\n`);
}

describe.skipIf(!!why || !!brokerWhy || !openssl)('the broker and TLS-sidecar images, run with runc exactly as the render\'s pod asks', () => {
  let work: string;
  let broker: Image;
  let proxy: Image;
  let pki: Pki;
  const containers: Container[] = [];

  beforeAll(() => {
    work = scratch('sb-images-pod');
    chmodSync(work, 0o755);
    broker = unpack(join(IMAGES, 'broker.tar'), join(work, 'broker'));
    proxy = unpack(join(IMAGES, 'ghostunnel.tar'), join(work, 'ghostunnel'));
    pki = makePki();
  }, 120_000);
  afterAll(() => {
    for (const c of containers.reverse()) c.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('carry the references the function input defaults to, non-root users, and the broker\'s /bin/sh', () => {
    expect(broker.ref).toBe('ghcr.io/gstreamio/streambus/broker:v1.0.1');
    expect(proxy.ref).toBe('docker.io/ghostunnel/ghostunnel:v1.8.4');
    expect(broker.config.config.User).toBe('1000:1000');
    expect(proxy.config.config.User).toBe('65532:65532');
    expect(proxy.config.config.Entrypoint).toEqual(['/usr/bin/ghostunnel']);
    expect(broker.paths.has('bin/sh')).toBe(true);
    expect(broker.paths.has('app/streambus-broker')).toBe(true);
    expect(proxy.paths.has('bin/sh')).toBe(false);
    // The function input's defaults name exactly these images.
    const input = parse(readFileSync(join(ROOT, 'package/input/streambus.fn.crossplane.io_inputs.yaml'), 'utf8')) as Obj;
    const props = input.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
    expect(`${props.defaultImageRepository.default}:${props.defaultImageTag.default}`).toBe(broker.ref);
    expect(`docker.io/${props.tlsProxyImage.default}`).toBe(proxy.ref);
  });

  it('the secure example\'s pod (1 broker, mutual TLS): the broker image runs the render\'s /bin/sh command as UID 1000, ghostunnel fronts it, read-only roots, no capabilities', async () => {
    const claim = (parse(readFileSync(join(ROOT, 'examples/secure/claim.yaml'), 'utf8')) as Obj);
    claim.spec.replicas = 1;
    delete claim.spec.image; // the function input's default image: the one scripts/build-images.sh tags
    const manifests = renderManifests(stringify(claim), work);
    const sts = manifests.find((m) => m.kind === 'StatefulSet')!;
    const config = manifests.find((m) => m.kind === 'ConfigMap' && m.data?.['broker.yaml'])!;
    const pod = sts.spec.template.spec as Obj;
    const [b, t] = ['broker', 'tls-proxy'].map((n) => (pod.containers as Obj[]).find((c) => c.name === n)!);
    expect(b!.image).toBe(broker.ref);
    expect(`docker.io/${t!.image}`).toBe(proxy.ref);
    expect(b!.command).toEqual(['/bin/sh', '-c']);

    // The pod's volumes, as the kubelet would provide them.
    const vol = (n: string) => {
      const d = join(work, 'vol', n);
      mkdirSync(d, { recursive: true, mode: 0o755 });
      return d;
    };
    const cfg = vol('config');
    for (const [k, v] of Object.entries(config.data as Record<string, string>)) writeFileSync(join(cfg, k), v, { mode: 0o644 });
    mkdirSync(join(cfg, 'tls')); // mount points of the nested volumes (a ConfigMap volume is read-only)
    mkdirSync(join(cfg, 'ca'));
    const tls = vol('tls');
    writeFileSync(join(tls, 'tls.crt'), readFileSync(join(pki.dir, 'server.crt')), { mode: 0o644 });
    writeFileSync(join(tls, 'tls.key'), readFileSync(join(pki.dir, 'server.key')), { mode: 0o644 });
    writeFileSync(join(tls, 'ca.crt'), pki.ca, { mode: 0o644 });
    const ca = vol('tls-ca');
    writeFileSync(join(ca, 'ca.crt'), pki.ca, { mode: 0o644 });
    const hostDirs: Record<string, string> = { config: cfg, tls, 'tls-ca': ca };
    const mounts = (c: Obj) => {
      const ro: Record<string, string> = {};
      const rw: Record<string, string> = {};
      for (const m of c.volumeMounts as Obj[]) {
        const src = hostDirs[m.name] ?? vol(m.name);
        if (!hostDirs[m.name]) execFileSync('chown', [`${pod.securityContext.runAsUser}:${pod.securityContext.fsGroup}`, src]);
        (m.readOnly ? ro : rw)[m.mountPath] = src;
      }
      return { binds: ro, volumes: rw };
    };
    const env = (c: Obj) => (c.env as Obj[]).map((e) => `${e.name}=${e.value ?? (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name' ? 'streambus-secure-0' : 'default')}`);
    const uid = pod.securityContext.runAsUser as number;
    const gid = pod.securityContext.runAsGroup as number;
    const fqdn = 'streambus-secure-0.streambus-secure-headless.default.svc.cluster.local';

    // The broker container: the render's command and args, not the image's entrypoint.
    const bc = runContainer(broker, { uid, gid, args: [...b!.command, ...b!.args], env: env(b!), ...mounts(b!), hostnames: [fqdn, 'streambus-secure-0'] });
    containers.push(bc);
    // The sidecar shares the pod's network namespace; no runAsUser of its own, so the pod's (1000) applies.
    const ns = `sbimg${process.pid}-${bc.id.split('-').pop()}`;
    const tc = runContainer(proxy, { uid, gid, args: [...proxy.config.config.Entrypoint, ...t!.args], ...mounts(t!), netns: ns, netnsIp: bc.ip });
    containers.push(tc);

    const statusPort = (t!.ports as Obj[]).find((p) => p.name === 'proxy-status')!.containerPort as number;
    const clientPort = (t!.ports as Obj[]).find((p) => p.name === 'client')!.containerPort as number;
    let status = { code: 0, body: '' };
    for (let i = 0; i < 150; i++) {
      if (bc.proc.exitCode !== null) throw new Error(`the broker exited (${bc.proc.exitCode}): ${bc.logs.join('\n')}`);
      if (tc.proc.exitCode !== null) throw new Error(`ghostunnel exited (${tc.proc.exitCode}): ${tc.logs.join('\n')}`);
      try {
        const r = await fetch(`http://${bc.ip}:${statusPort}/_status`);
        status = { code: r.status, body: await r.text() };
        if (r.status === 200) break;
      } catch {
        /* not yet */
      }
      await sleep(200);
    }
    // ghostunnel's readiness (the render's readinessProbe) is 200 only when it reaches the broker's client listener.
    expect(status.code, `${status.body}\n${bc.logs.slice(-20).join('\n')}\n${tc.logs.slice(-20).join('\n')}`).toBe(200);
    expect(JSON.parse(status.body)).toMatchObject({ ok: true });
    // A client with a certificate from the cluster's CA gets through the sidecar (a TLS session to port 9092).
    const peer = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: bc.ip, port: clientPort, servername: 'localhost', ca: pki.ca, key: pki.client.key, cert: pki.client.cert }, () => {
        const cn = s.getPeerX509Certificate()?.subject ?? '';
        s.destroy();
        resolve(cn);
      });
      s.once('error', reject);
    });
    expect(peer).toContain('CN=function-streambus');
    // The image's /bin/sh ran the render's command: the broker id is POD_NAME's ordinal + 1 ($(( ${POD_NAME##*-} + 1 ))).
    expect(bc.logs.join('\n')).toContain('Broker ID: 1');
    expect(bc.logs.join('\n')).toContain('Using config file: /etc/streambus/broker.yaml');
    tc.kill('TERM');
    bc.kill('TERM');
    const codes = await Promise.race([Promise.all([bc.exited, tc.exited]), sleep(60_000).then(() => 'timeout')]);
    expect(codes).not.toBe('timeout');
  }, 180_000);
});
