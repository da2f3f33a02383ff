/**
 * Mutual TLS, for real: certificates made with openssl, the real server started with --tls-server-certs-dir, real
 * gRPC clients. Only a client certificate signed by ca.crt gets through; the refused handshakes neither reach the
 * function nor stop the server.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { makePki, requireOpenssl, type Pki } from '../helpers/certs.js';
import { exampleXr, request } from '../helpers/fixtures.js';
import { CORE_RESOURCES, healthCheck, healthClient, jsonLogs, metric, scrape } from '../helpers/ops.js';
import { client, runFunction, startServer, type RunningServer } from '../helpers/server.js';

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

  it('says so in its startup log', () => {
    expect(jsonLogs(srv.logs).find((l) => /listening/.test(l.msg))?.tls).toBe(true);
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
    ['plaintext (no TLS at all)', () => grpc.credentials.createInsecure()],
  ])('refuses %s, without running the function', async (_name, creds) => {
    const before = await calls();
    const err = await call(creds()).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err, 'the call must fail').toBeDefined();
    expect(err!.code).toBe(grpc.status.UNAVAILABLE);
    expect(await calls()).toBe(before);
    expect(metric(await scrape(srv.metricsPort!), 'function_streambus_tls_clients_refused_total')).toBeGreaterThan(0);
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
