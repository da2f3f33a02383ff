/**
 * Mutual TLS, for real: certificates made with openssl, the real server started with --tls-server-certs-dir, real
 * gRPC clients. Only a client certificate signed by ca.crt gets through; the refused handshakes neither reach the
 * function nor stop the server. Silent connections are dropped after the handshake timeout, and no more than the cap
 * wait at once. The server refuses to start when its own listener does not refuse strangers (a modified copy of the
 * server shows it), and does not depend on a private grpc-js function (a copy with it renamed still verifies).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { makePki, requireOpenssl, type Pki } from '../helpers/certs.js';
import { exampleXr, request } from '../helpers/fixtures.js';
import { CORE_RESOURCES, healthCheck, healthClient, jsonLogs, metric, scrape } from '../helpers/ops.js';
import { client, runFunction, startServer, type RunningServer } from '../helpers/server.js';
import { ROOT } from '../helpers/tools.js';

const openssl = requireOpenssl();

describe.skipIf(!openssl)('mutual TLS', () => {
  let pki: Pki;
  let srv: RunningServer;
  const clients: grpc.Client[] = [];
  const tls = (identity?: { key: Buffer; cert: Buffer }, ca?: Buffer) => grpc.credentials.createSsl(ca ?? pki.ca, identity?.key ?? null, identity?.cert ?? null);
  const call = (creds: grpc.ChannelCredentials) => {
    const c = client(srv.port, creds);
    clients.push(c);
    return runFunction(c, request(exampleXr('minimal'), { tag: 'mtls' }));
  };
  const calls = async () => metric(await scrape(srv.metricsPort!), 'function_streambus_run_function_calls_total', { result: 'ok' });

  beforeAll(async () => {
    pki = makePki();
    srv = await startServer(['--tls-server-certs-dir', pki.serverDir]);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    expect(await srv?.stop()).toBe(0);
  });

  it('says so in its startup log, after proving on its listener that strangers are refused', () => {
    const logs = jsonLogs(srv.logs);
    expect(logs.find((l) => /listening/.test(l.msg))?.tls).toBe(true);
    expect(logs.find((l) => /client certificate verification proven on the listener/.test(l.msg))).toBeDefined();
  });

  it('logs the peer address of a refused client (the start-up probe\'s two clients: 127.0.0.1)', () => {
    const refused = jsonLogs(srv.logs).filter((l) => l.msg === 'refused a TLS client');
    expect(refused.map((l) => l.problem)).toEqual(expect.arrayContaining(['no client certificate', 'the client certificate is not signed by a CA in ca.crt']));
    for (const l of refused) {
      expect(l.remote).toBe('127.0.0.1');
      expect(l.remotePort).toBeGreaterThan(0);
    }
  });

  it('logs the verified certificate of an accepted client (subject and SHA-256 fingerprint)', async () => {
    await call(tls(pki.client));
    const fp = new X509Certificate(pki.client.cert).fingerprint256;
    expect(jsonLogs(srv.logs).find((l) => l.msg === 'accepted a TLS client' && l.fingerprint256 === fp)).toMatchObject({ remote: '127.0.0.1', subject: 'CN=crossplane' });
  });

  it('serves a client whose certificate is signed by ca.crt', async () => {
    const rsp = await call(tls(pki.client));
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
    expect(Object.keys(rsp.desired!.resources)).toEqual(expect.arrayContaining(CORE_RESOURCES));
  });

  it('serves Crossplane\'s own kind of client certificate (same subject as its CA, which OpenSSL calls self-signed)', async () => {
    // The premise: OpenSSL's chain check alone refuses this certificate (error 18).
    const verify = spawnSync('openssl', ['verify', '-CAfile', join(pki.serverDir, 'ca.crt')], { input: pki.crossplaneClient.cert, encoding: 'utf8' });
    expect(verify.stdout + verify.stderr).toMatch(/self-signed certificate|error 18/);
    const rsp = await call(tls(pki.crossplaneClient));
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
    expect(Object.keys(rsp.desired!.resources)).toEqual(expect.arrayContaining(CORE_RESOURCES));
  });

  it.each([
    ['no client certificate', () => tls()],
    ['an expired client certificate from the trusted CA', () => tls(pki.expiredClient)],
    ['a server-only certificate (extended key usage serverAuth) from the trusted CA', () => tls(pki.serverOnlyClient)],
    ['a client certificate from another CA', () => tls(pki.foreignClient)],
    ['a self-signed certificate bearing the CA\'s name', () => tls(pki.impostorClient)],
    ['a self-signed certificate bearing the CA\'s name, CA:FALSE (only its signature is wrong)', () => tls(pki.oneFault.signature)],
    ['a CA certificate from the trusted CA', () => tls(pki.oneFault.caCert)],
    ['a key usage without digitalSignature', () => tls(pki.oneFault.keyUsage)],
    ['an unknown critical extension', () => tls(pki.oneFault.criticalExtension)],
    ['plaintext (no TLS at all)', () => grpc.credentials.createInsecure()],
  ])('refuses %s, without running the function', async (_name, creds) => {
    const before = await calls();
    const refusedBefore = metric(await scrape(srv.metricsPort!), 'function_streambus_tls_clients_refused_total')!;
    const err = await call(creds()).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err, 'the call must fail').toBeDefined();
    expect(err!.code).toBe(grpc.status.UNAVAILABLE);
    expect(await calls()).toBe(before);
    expect(metric(await scrape(srv.metricsPort!), 'function_streambus_tls_clients_refused_total')).toBeGreaterThan(refusedBefore);
  });

  it('refuses a server it cannot verify (the client side of mutual TLS works too)', async () => {
    const err = await call(tls(pki.client, pki.foreignClient.cert)).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('keeps serving after refused handshakes, health included', async () => {
    const rsp = await call(tls(pki.client));
    expect(rsp.meta!.tag).toBe('mtls');
    const h = healthClient(srv.port, tls(pki.client));
    expect(await healthCheck(h)).toBe('SERVING');
    h.close();
    const hNoCert = healthClient(srv.port, tls());
    await expect(healthCheck(hNoCert)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    hNoCert.close();
    expect(srv.proc.exitCode).toBeNull();
  });
});

describe.skipIf(!openssl)('mutual TLS: bounds on clients that never finish a handshake', () => {
  let pki: Pki;
  let srv: RunningServer;
  const CAP = 16;
  const N = 300;
  const TIMEOUT_S = 1;
  beforeAll(async () => {
    pki = makePki();
    srv = await startServer(['--tls-server-certs-dir', pki.serverDir, '--tls-handshake-timeout', String(TIMEOUT_S), '--max-tls-handshakes', String(CAP)]);
  });
  afterAll(async () => {
    expect(await srv?.stop()).toBe(0);
  });

  const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8'))![1]);

  it(`drops ${N} silent connections: beyond ${CAP} at once, the rest after the ${TIMEOUT_S} s handshake timeout`, async () => {
    const refusedBefore = metric(await scrape(srv.metricsPort!), 'function_streambus_tls_clients_refused_total')!;
    const rssBefore = rssKiB();
    const started = Date.now();
    const closedAfter: number[] = [];
    const sockets: Socket[] = [];
    await Promise.all(
      Array.from({ length: N }, () =>
        new Promise<void>((resolve) => {
          const s = netConnect(srv.port, '127.0.0.1');
          sockets.push(s);
          s.on('error', () => undefined);
          s.on('close', () => {
            closedAfter.push(Date.now() - started);
            resolve();
          });
        }),
      ),
    );
    const rssPeak = rssKiB();
    closedAfter.sort((a, b) => a - b);
    const early = closedAfter.filter((t) => t < TIMEOUT_S * 1000 * 0.8).length;
    const late = closedAfter.filter((t) => t >= TIMEOUT_S * 1000 * 0.8);
    process.stdout.write(
      `[mtls bounds] ${N} silent connections, cap ${CAP}, handshake timeout ${TIMEOUT_S} s: ${early} closed at once ` +
        `(median ${closedAfter[Math.floor(early / 2)]} ms), ${late.length} after ${late[0]}..${late[late.length - 1]} ms; ` +
        `server RSS ${rssBefore} KiB before, ${rssPeak} KiB after (figures, not a gate)\n`,
    );
    // Every connection was closed by the server, none lasted much past the timeout, and at most CAP waited for it.
    expect(closedAfter).toHaveLength(N);
    expect(late.length).toBeLessThanOrEqual(CAP);
    expect(late.length).toBeGreaterThan(0);
    expect(late[late.length - 1]).toBeLessThan(TIMEOUT_S * 1000 + 5_000);
    expect(metric(await scrape(srv.metricsPort!), 'function_streambus_tls_clients_refused_total')! - refusedBefore).toBe(N);
    // Refusals are logged at most 10 a minute (the start-up probe's two included); the metric counts them all.
    const lines = jsonLogs(srv.logs).filter((l) => l.msg === 'refused a TLS client');
    expect(lines.length).toBeLessThanOrEqual(10);
    expect(lines.some((l) => /no TLS handshake within 1000 ms|connections already in the TLS handshake/.test(l.problem))).toBe(true);
  });

  it('serves a real client afterwards', async () => {
    const c = client(srv.port, grpc.credentials.createSsl(pki.ca, pki.client.key, pki.client.cert));
    const rsp = await runFunction(c, request(exampleXr('minimal'), { tag: 'after-flood' }));
    c.close();
    expect(rsp.meta!.tag).toBe('after-flood');
  });
});

describe.skipIf(!openssl)('mutual TLS fails closed (modified copies of the server)', () => {
  let pki: Pki;
  const dirs: string[] = [];
  beforeAll(() => {
    pki = makePki();
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), `sb-mtls-copy-${process.pid}-`));
    dirs.push(d);
    return d;
  };

  it('a bundle whose grpc-js has createHttp2Server renamed (as a grpc-js upgrade might) still refuses strangers and serves Crossplane', async () => {
    const bundle = join(ROOT, 'dist', 'bundle', 'function-streambus.mjs');
    const text = readFileSync(bundle, 'utf8');
    const count = text.split('createHttp2Server').length - 1;
    expect(count, 'the private grpc-js function is in the bundle').toBeGreaterThan(0);
    const copy = join(tmp(), 'function-streambus.mjs');
    writeFileSync(copy, text.replaceAll('createHttp2Server', 'createHttp2ServerRenamedByTheTest'));
    const srv = await startServer(['--tls-server-certs-dir', pki.serverDir], {}, { main: copy });
    try {
      expect(jsonLogs(srv.logs).find((l) => /verification proven on the listener/.test(l.msg))).toBeDefined();
      const err = await runFunction(client(srv.port, grpc.credentials.createSsl(pki.ca)), request(exampleXr('minimal'))).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      const foreign = await runFunction(client(srv.port, grpc.credentials.createSsl(pki.ca, pki.foreignClient.key, pki.foreignClient.cert)), request(exampleXr('minimal'))).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(foreign?.code).toBe(grpc.status.UNAVAILABLE);
      const ok = await runFunction(client(srv.port, grpc.credentials.createSsl(pki.ca, pki.crossplaneClient.key, pki.crossplaneClient.cert)), request(exampleXr('minimal'), { tag: 'renamed' }));
      expect(ok.meta!.tag).toBe('renamed');
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('a server whose certificate check accepts everything refuses to start: exit 1, and says why', () => {
    const dir = tmp();
    cpSync(join(ROOT, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const file = join(dir, 'dist', 'src', 'server', 'clientcert.js');
    const src = readFileSync(file, 'utf8');
    const head = 'export function clientCertificateProblems(cert, cas, now) {';
    expect(src).toContain(head);
    writeFileSync(file, src.replace(head, `${head} return [];`));
    const r = spawnSync(process.execPath, [join(dir, 'dist', 'src', 'main.js'), '--address', '127.0.0.1:0', '--metrics-address', 'off', '--tls-server-certs-dir', pki.serverDir], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    const fatal = jsonLogs(r.stdout.split('\n')).find((l) => /NOT verified on the listener/.test(l.msg));
    expect(fatal, r.stdout + r.stderr).toBeDefined();
    expect(fatal!.problems.join('\n')).toMatch(/no certificate: the server answered HTTP\/2/);
    expect(fatal!.problems.join('\n')).toMatch(/unknown CA: the server answered HTTP\/2/);
    expect(jsonLogs(r.stdout.split('\n')).find((l) => /listening/.test(l.msg))).toBeUndefined();
  });
});
