/** The server's building blocks, in-process: address parsing, call identity for logs, metrics, result classes. */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import * as grpc from '@grpc/grpc-js';
import { RunFunctionRequest, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { callIdentity, logMessage } from '../../src/server/logging.js';
import { Metrics, parseHostPort } from '../../src/server/metrics.js';
import { createFunctionServer, listen } from '../../src/server/server.js';
import { certificateExtensions, clientCertificateProblems, parseBundle } from '../../src/server/clientcert.js';
import { RefusalLog } from '../../src/server/tlslistener.js';
import { makePki, requireOpenssl, type Pki } from '../helpers/certs.js';
import { exampleXr, request } from '../helpers/fixtures.js';
import { metric, rawRunFunction } from '../helpers/ops.js';
import { runFunction as call, client } from '../helpers/server.js';

type Obj = Record<string, any>;

describe('parseHostPort', () => {
  it.each([
    ['0.0.0.0:8080', { host: '0.0.0.0', port: 8080 }],
    [':8080', { host: '0.0.0.0', port: 8080 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['[::1]:9', { host: '::1', port: 9 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
  ])('%s', (a, want) => expect(parseHostPort(a)).toEqual(want));
  it.each(['8080', 'host:', 'host:99999', 'a:b:c', ''])('refuses %j', (a) => expect(() => parseHostPort(a)).toThrow());
});

describe('callIdentity (what a log line says about a call)', () => {
  it('reads the tag, XR name, claim name and namespace', () => {
    expect(callIdentity(request(exampleXr('production'), { tag: 't1' }))).toEqual({
      tag: 't1',
      xr: 'streambus-production-wml6q',
      claimName: 'streambus-production',
      claimNamespace: 'production',
    });
  });
  it('falls back to spec.claimRef, and tolerates garbage', () => {
    const x = structuredClone(exampleXr('minimal')) as Obj;
    delete x.metadata.labels;
    expect(callIdentity(request(x))).toMatchObject({ claimName: 'streambus-minimal', claimNamespace: 'default' });
    expect(callIdentity(RunFunctionRequest.fromPartial({}))).toEqual({});
    expect(callIdentity(undefined)).toEqual({});
    const weird = request({ metadata: { name: 42, labels: 'x' }, spec: [] });
    expect(callIdentity(weird)).toEqual({ tag: 'test' });
  });
  it('truncates long identifiers and messages', () => {
    expect(callIdentity(request({ metadata: { name: 'x'.repeat(1000) } })).xr).toHaveLength(254);
    expect(logMessage('m'.repeat(600))).toHaveLength(513);
  });
});

describe('createFunctionServer, in-process', () => {
  const silent = pino({ level: 'silent' });

  async function serve(handler: (r: RunFunctionRequest) => RunFunctionResponse) {
    const metrics = new Metrics({ defaultMetrics: false });
    const fs = createFunctionServer({ logger: silent, metrics, handler });
    const port = await listen(fs.server, '127.0.0.1:0', grpc.ServerCredentials.createInsecure());
    const c = client(port);
    return {
      c,
      metrics: async () => metrics.registry.metrics(),
      close: () => {
        c.close();
        fs.server.forceShutdown();
      },
    };
  }

  it('classifies results: warning, and a throwing handler as an INTERNAL error', async () => {
    let mode = 'warn';
    const s = await serve((req) => {
      if (mode === 'throw') throw new Error('boom');
      if (mode === 'unencodable') {
        // A hand-built Resource without connectionDetails: the SDK's encoder throws (sdk-notes.md, sharp edge 4).
        const rsp = RunFunctionResponse.fromPartial({});
        rsp.desired = { composite: undefined, resources: { x: { resource: {} } as never } };
        return rsp;
      }
      const rsp = RunFunctionResponse.fromPartial({ meta: { tag: req.meta?.tag ?? '' } });
      rsp.results.push({ severity: Severity.SEVERITY_WARNING, message: 'careful', reason: 'r', target: 0 });
      return rsp;
    });
    expect((await call(s.c, request(exampleXr('minimal')))).results[0]!.message).toBe('careful');
    mode = 'throw';
    await expect(call(s.c, request(exampleXr('minimal')))).rejects.toMatchObject({ code: grpc.status.INTERNAL, details: expect.stringContaining('boom') });
    mode = 'unencodable';
    await expect(rawRunFunction(s.c, Buffer.from(RunFunctionRequest.encode(request(exampleXr('minimal'))).finish()))).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
      details: expect.stringContaining('cannot encode'),
    });
    const text = await s.metrics();
    expect(metric(text, 'function_streambus_run_function_calls_total', { result: 'warning' })).toBe(1);
    expect(metric(text, 'function_streambus_run_function_calls_total', { result: 'error' })).toBe(2);
    expect(metric(text, 'function_streambus_run_function_errors_total', { reason: 'handler' })).toBe(1);
    expect(metric(text, 'function_streambus_run_function_errors_total', { reason: 'encode' })).toBe(1);
    expect(metric(text, 'function_streambus_run_function_in_flight')).toBe(0);
    s.close();
  });

  it('refuses to send a response larger than Crossplane accepts', async () => {
    const s = await serve(() => {
      const rsp = RunFunctionResponse.fromPartial({});
      rsp.desired = { composite: undefined, resources: { big: { resource: { data: 'x'.repeat(5 * 1024 * 1024) }, connectionDetails: {}, ready: 0 } } };
      return rsp;
    });
    await expect(call(s.c, request(exampleXr('minimal')))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    expect(metric(await s.metrics(), 'function_streambus_run_function_errors_total', { reason: 'too_large' })).toBe(1);
    s.close();
  });
});

describe.skipIf(!requireOpenssl())('client certificate checks (clientcert.ts), one refusal reason at a time', () => {
  // Certificates made with the openssl CLI; each refused one fails exactly one check (all checks run every time).
  let pki: Pki;
  let cas: X509Certificate[];
  beforeAll(() => {
    pki = makePki();
    cas = parseBundle(readFileSync(join(pki.serverDir, 'ca.crt')));
  });
  const x = (c: { cert: Buffer }) => new X509Certificate(c.cert);
  let now: Date;
  beforeAll(() => {
    now = new Date(); // after the certificates were made: their notBefore is the second they were signed
  });

  it('accepts a client certificate from ca.crt, and Crossplane\'s kind (same subject as its CA)', () => {
    expect(clientCertificateProblems(x(pki.client), cas, now)).toEqual([]);
    expect(clientCertificateProblems(x(pki.crossplaneClient), cas, now)).toEqual([]);
    expect(clientCertificateProblems(x(pki.oneFault.caExpired), cas, now)).toEqual([]);
  });

  it.each<[string, () => X509Certificate | undefined, RegExp, Date?]>([
    ['no certificate', () => undefined, /^no client certificate$/],
    ['a CA certificate signed by the trusted CA', () => x(pki.oneFault.caCert), /^a CA certificate is not a client certificate$/],
    ['an expired certificate', () => x(pki.expiredClient), /^the client certificate is not valid now/],
    ['a self-signed certificate with the CA\'s name and CA:FALSE (the signature alone)', () => x(pki.oneFault.signature), /^the client certificate is not signed by a CA in ca.crt$/],
    ['a certificate from another CA', () => x(pki.foreignClient), /^the client certificate is not signed by a CA in ca.crt$/],
    ['a certificate whose CA has expired', () => x(pki.oneFault.caExpired), /^the CA that signed the client certificate is not valid now/, new Date(Date.now() + 3 * 86_400_000)],
    ['a server-only certificate (extended key usage)', () => x(pki.serverOnlyClient), /^the client certificate is not for client authentication \(extended key usage\)$/],
    ['a key usage without digitalSignature', () => x(pki.oneFault.keyUsage), /^the client certificate's key usage does not include digitalSignature$/],
    ['an unknown critical extension', () => x(pki.oneFault.criticalExtension), /^the client certificate has a critical extension this server does not understand \(1\.3\.6\.1\.4\.1\.99999\.1\)$/],
  ])('refuses %s, for that reason only', (_name, cert, reason, at) => {
    const problems = clientCertificateProblems(cert(), cas, at ?? now);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(reason);
  });

  it('the first impostor (openssl\'s default self-signed certificate) is refused as a CA AND for its signature', () => {
    expect(clientCertificateProblems(x(pki.impostorClient), cas, now)).toEqual([
      'a CA certificate is not a client certificate',
      'the client certificate is not signed by a CA in ca.crt',
    ]);
  });

  it('reads extensions and their criticality from the DER (checked against openssl x509 -text)', () => {
    const exts = certificateExtensions(x(pki.oneFault.criticalExtension));
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: pki.oneFault.criticalExtension.cert }).toString();
    expect(text).toMatch(/1\.3\.6\.1\.4\.1\.99999\.1: critical/);
    expect(text).toMatch(/Key Usage: critical/);
    expect(exts.map((e) => [e.oid, e.critical])).toEqual(expect.arrayContaining([
      ['2.5.29.19', false],
      ['2.5.29.37', false],
      ['2.5.29.15', true],
      ['1.3.6.1.4.1.99999.1', true],
    ]));
  });
});

describe('RefusalLog (rate-limited refusal logs)', () => {
  it('logs at most perWindow refusals per window, then one line with how many were not logged', () => {
    let t = 0;
    const lines: [Record<string, unknown>, string][] = [];
    const log = new RefusalLog((f, m) => lines.push([f, m]), 3, 1000, () => t);
    for (let i = 0; i < 50; i++) log.refused({ address: '10.0.0.1', port: 1000 + i }, 'no client certificate');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual([{ remote: '10.0.0.1', remotePort: 1000, problem: 'no client certificate' }, 'refused a TLS client']);
    t = 1000;
    log.refused({ address: '10.0.0.2', port: 1 }, 'x');
    expect(lines[3]).toEqual([{ suppressed: 47, windowMs: 1000 }, 'refused TLS clients not logged (rate limit)']);
    expect(lines[4]![0].remote).toBe('10.0.0.2');
  });
});
