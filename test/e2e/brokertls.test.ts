/**
 * TLS and mutual TLS enforced at the pod (issue 13, part 2), proven on the secure example with the pod harness.
 *
 * The secure claim is rendered with a Composition whose function input shortens the sidecar's reload interval
 * (tlsProxyReloadInterval: 2s) so rotation is observable in seconds; everything else is the default render. Its
 * pods run as in brokerpods.test.ts, with Secrets from a test-made PKI. Then, from the node namespace:
 *  - one broker alone (no quorum): the sidecar listens, but its readiness endpoint answers 503;
 *  - a TLS client with a certificate from the cluster's CA completes a CLI round trip (through a ghostunnel client
 *    tunnel on loopback, as the CLI speaks plain TCP) and its handshake sees the pod's certificate;
 *  - a plaintext client (the CLI itself), a TLS client without a certificate, one with a certificate from another
 *    CA and a self-signed impostor of the CA's name are refused at the handshake;
 *  - the broker's own listener is not reachable from outside the pod (it is on the pod's loopback);
 *  - a rotated server certificate (the Secret updated in place, as the kubelet does) is served without restarting
 *    the broker or the sidecar; a CA added to (then removed from) the CA Secret is trusted (then refused) likewise.
 * What each client saw is kept in .tmp/brokertls-cases.json.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makePki, requireOpenssl } from '../helpers/certs.js';
import { Clients, cli, cliRoundTrip, leaders, podReady, renderClaim, statefulSetOf, testSecrets, waitForQuorum } from '../helpers/brokers.js';
import { Pods, requirePods, waitFor } from '../helpers/pods.js';
import { requireTool, ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;

const broker = requireTool('streambus-broker', 'the TLS pod tests run the real broker');
const cliBin = requireTool('streambus-cli', 'the TLS pod tests make CLI round trips');
const ghostunnel = requireTool('ghostunnel', 'the TLS pod tests run the ghostunnel sidecar and client tunnels');
const openssl = requireOpenssl();
const canRun = requirePods('the TLS pod tests run each pod in its own namespaces');
const enabled = !!broker && !!cliBin && !!ghostunnel && !!openssl && canRun;

const cases: Record<string, unknown> = {};
let pods: Pods | undefined;

afterEach(async () => {
  await pods?.cleanup();
  if (pods) expect(pods.leftovers()).toEqual([]);
  pods = undefined;
});
afterAll(() => {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const json = JSON.stringify(cases, (k, v) => (k === 'id' ? undefined : v), 2);
  writeFileSync(join(ROOT, '.tmp', 'brokertls-cases.json'), `${json}\n`);
  process.stderr.write(`broker TLS cases: ${json}\n`);
});

/** compositions/composition.yaml with its function input changed by `patch`. */
function composition(patch: Obj): string {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'compositions/composition.yaml'), 'utf8')).map((d) => d.toJSON() as Obj);
  const comp = docs[0]!;
  const step = comp.spec.pipeline.find((s: Obj) => s.input?.kind === 'Input');
  step.input.spec = { ...step.input.spec, ...patch };
  const dir = mkdtempSync(join(tmpdir(), 'sb-comp-'));
  const f = join(dir, 'composition.yaml');
  writeFileSync(f, stringify(comp));
  return f;
}

describe.skipIf(!enabled)('secure example: TLS and mutual TLS enforced by the sidecar, with the real broker', () => {
  it('readiness means quorum; valid client round trip; plaintext, no certificate, another CA refused at the handshake; certificate and CA rotation without restart', async () => {
    const manifests = await renderClaim(join(ROOT, 'examples/secure/claim.yaml'), ['--composition', composition({ tlsProxyReloadInterval: '2s' })]);
    const sts = statefulSetOf(manifests);
    const [, proxy] = sts.spec.template.spec.containers;
    expect(proxy.name).toBe('tls-proxy');
    expect(proxy.args).toEqual(expect.arrayContaining(['--allow-all', '--timed-reload=2s']));
    const n: number = sts.spec.replicas;
    const fqdn = (i: number) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}.${sts.metadata.namespace}.svc.cluster.local`;
    const sans = Array.from({ length: n }, (_, i) => `DNS:${fqdn(i)}`);
    const pki = makePki(sans);
    const file = (f: string) => readFileSync(join(pki.dir, f));
    const secrets = testSecrets(sts, { serverCert: file('server.crt'), serverKey: file('server.key'), ca: pki.ca });
    const certSecret = sts.spec.template.spec.volumes.find((v: Obj) => v.name === 'tls').secret.secretName;

    pods = new Pods({
      manifests,
      secrets,
      images: {
        broker: { files: { '/app/streambus-broker': broker! } },
        'tls-proxy': { files: { '/usr/bin/ghostunnel': ghostunnel! }, entrypoint: ['/usr/bin/ghostunnel'] },
      },
    });
    await pods.setup();
    const p = pods;
    // 0. Readiness means quorum: one broker alone has no quorum, so its client listener stays closed. The sidecar
    //    listens at once (a tcpSocket probe on the client port would pass), but its /_status, the rendered
    //    readiness probe, answers 503 until the broker behind it serves.
    const t0 = Date.now();
    p.start(0);
    const statusPort = proxy.ports.find((x: Obj) => x.name === 'proxy-status').containerPort;
    await waitFor('the sidecar of the lone broker listening', 30_000, async () => ((await p.agent!.tcpOpen(p.podIp(0), 9092)) ? true : undefined));
    await new Promise((r) => setTimeout(r, 3000));
    const lone = await p.agent!.get(`http://${p.podIp(0)}:${statusPort}/_status`);
    expect(lone.status).toBe(503);
    expect(JSON.parse(lone.body!)).toMatchObject({ ok: false, backend_ok: false });
    expect(await podReady(p, 0)).toBe(false);
    cases.readinessWithoutQuorum = { clientPortOpen: true, status: lone.status, body: JSON.parse(lone.body!) };
    for (let i = 1; i < n; i++) p.start(i);
    const { quorumMs } = await waitForQuorum(pods, t0, 90_000);
    cases.quorumMs = quorumMs;
    const ip = p.podIp(0);
    const port = 9092;
    const ca = pki.ca.toString();
    const tlsTry = (o: { cert?: Buffer; key?: Buffer; i?: number }) =>
      p.agent!.call({ op: 'tls', host: p.podIp(o.i ?? 0), port, servername: fqdn(o.i ?? 0), ca, cert: o.cert?.toString(), key: o.key?.toString(), timeout: 5000 });

    // 1. A client with a certificate from the cluster's CA: handshake, and a CLI round trip through a TLS tunnel.
    for (let i = 0; i < n; i++) {
      const ok = await tlsTry({ i, cert: pki.client.cert, key: pki.client.key });
      expect(ok, `valid client → ${p.podName(i)}`).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
    }
    const valid = await tlsTry({ cert: pki.client.cert, key: pki.client.key });
    const clients = new Clients(p, { ghostunnel: ghostunnel!, cert: join(pki.dir, 'client.crt'), key: join(pki.dir, 'client.key'), cacert: join(pki.dir, 'ca.crt') });
    const listed = await cliRoundTrip(p, cliBin!, await clients.addr(0), 'tls-topic');
    cases.validClient = { handshake: valid, cli: listed.trim() };

    // 2. A plaintext client: the CLI itself against the client port.
    const plainCli = await cli(p, cliBin!, `${ip}:${port}`, ['topic', 'list']);
    expect(plainCli.code).not.toBe(0);
    // The same bytes by hand: what the sidecar answers to a non-TLS first packet.
    const plainRaw = await p.agent!.call({ op: 'plain', host: ip, port, payload: Buffer.from('\x00\x00\x00\x10hello, plaintext').toString('hex'), timeout: 5000 });
    cases.plaintextClient = { cliExit: plainCli.code, cli: (plainCli.stdout + plainCli.stderr).trim(), raw: plainRaw };
    // Nothing but a TLS record (an alert: content type 0x15) or nothing at all comes back.
    expect(plainRaw.got === '' || String(plainRaw.got).startsWith('15')).toBe(true);

    // 3. TLS without a client certificate.
    const noCert = await tlsTry({});
    expect(noCert.ok).toBe(false);
    // ...and the CLI through a tunnel that presents none.
    p.spawnInNode(ghostunnel!, ['client', '--listen=127.0.0.1:41000', `--target=${ip}:${port}`, '--disable-authentication', `--cacert=${join(pki.dir, 'ca.crt')}`, `--override-server-name=${fqdn(0)}`], 'tunnel-nocert');
    await waitFor('the certificate-less tunnel', 15_000, async () => ((await p.agent!.tcpOpen('127.0.0.1', 41000)) ? true : undefined));
    const noCertCli = await cli(p, cliBin!, '127.0.0.1:41000', ['topic', 'list']);
    expect(noCertCli.code).not.toBe(0);
    cases.clientWithoutCertificate = { handshake: noCert, cliExit: noCertCli.code, cli: (noCertCli.stdout + noCertCli.stderr).trim() };

    // 4. A certificate from another CA, and a self-signed one claiming the CA's name.
    const foreign = await tlsTry({ cert: pki.foreignClient.cert, key: pki.foreignClient.key });
    expect(foreign.ok).toBe(false);
    const impostor = await tlsTry({ cert: pki.impostorClient.cert, key: pki.impostorClient.key });
    expect(impostor.ok).toBe(false);
    cases.clientFromAnotherCa = { handshake: foreign };
    cases.selfSignedImpostor = { handshake: impostor };

    // 5. The broker's plaintext listener is on the pod's loopback: not reachable at the pod IP.
    const brokerPort = Number(/--target=127\.0\.0\.1:(\d+)/.exec(proxy.args.join(' '))![1]);
    const direct = await p.agent!.call({ op: 'tcp', host: ip, port: brokerPort, timeout: 3000 });
    expect(direct.ok).toBe(false);
    cases.brokerListenerFromOutside = { port: brokerPort, ...direct };

    // The sidecar's log names each refusal.
    const gl = p.logs(0, 'tls-proxy', 200);
    // (the harness's own TCP readiness checks show up as `error on TLS handshake ...: EOF` and are left out)
    cases.sidecarLog = gl.split('\n').filter((l) => /error|fail|refus|denied|unauth|bad|unknown/i.test(l) && !/: EOF$/.test(l)).slice(0, 12);

    // 6. Rotation: a new server certificate in the Secret (updated in place, as the kubelet does) is served within
    //    the reload interval, with the same broker and sidecar processes.
    const before = { broker: p.inspect(0, 'broker'), pids: [...p.pods.get(0)!.containers.map((c) => c.proc.pid)] };
    const rotated = pki.issueServer('server-rotated', sans);
    const newSerial = new X509Certificate(rotated.cert).serialNumber.toUpperCase();
    const oldSerial = valid.serial;
    expect(newSerial).not.toBe(oldSerial);
    const r0 = Date.now();
    p.updateSecret(certSecret, { 'tls.crt': rotated.cert, 'tls.key': rotated.key, 'ca.crt': pki.ca });
    const served = await waitFor('the rotated certificate served by every sidecar', 30_000, async () => {
      const seen = await Promise.all(Array.from({ length: n }, (_, i) => tlsTry({ i, cert: pki.client.cert, key: pki.client.key })));
      return seen.every((s) => s.ok && s.serial === newSerial) ? seen : undefined;
    });
    const rotationMs = Date.now() - r0;
    expect(p.pods.get(0)!.containers.map((c) => c.proc.pid)).toEqual(before.pids);
    expect(p.exited()).toEqual([]);
    await cliRoundTrip(p, cliBin!, await clients.addr(0), 'after-rotation');
    expect((await leaders(p)).length).toBe(1);
    cases.rotation = { oldSerial, newSerial, servedAfterMs: rotationMs, served: served.map((s) => s.serial), restarts: 0 };

    // 7. The client CA is reloaded too: once the CA Secret also trusts the other CA, its client is accepted, and
    //    once it no longer does, refused again; no restart either way.
    const caSecret = sts.spec.template.spec.volumes.find((v: Obj) => v.name === 'tls-ca').secret.secretName;
    const otherCa = readFileSync(join(pki.dir, 'other-ca.crt'));
    const c0 = Date.now();
    p.updateSecret(caSecret, { 'ca.crt': Buffer.concat([pki.ca, otherCa]) });
    await waitFor('the other CA trusted after the CA Secret changed', 30_000, async () => ((await tlsTry({ cert: pki.foreignClient.cert, key: pki.foreignClient.key })).ok ? true : undefined));
    const trustedAfterMs = Date.now() - c0;
    p.updateSecret(caSecret, { 'ca.crt': pki.ca });
    const refusedAgain = await waitFor('the other CA refused again', 30_000, async () => {
      const r = await tlsTry({ cert: pki.foreignClient.cert, key: pki.foreignClient.key });
      return r.ok ? undefined : r;
    });
    expect(p.pods.get(0)!.containers.map((c) => c.proc.pid)).toEqual(before.pids);
    expect(p.exited()).toEqual([]);
    cases.caRotation = { trustedAfterMs, refusedAgain: refusedAgain.error, restarts: 0 };
  });
});

