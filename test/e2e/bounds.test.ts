/**
 * Bounded resources of the real server (issue 14): a cap on calls in flight, connections that cannot hold the
 * server (a TLS handshake never completed, a metrics request whose headers never end), and hostile observed state
 * that used to make a huge response or kill the process.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { makePki, requireOpenssl } from '../helpers/certs.js';
import { clone, exampleXr, request } from '../helpers/fixtures.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { metric, rssBytes, scrape } from '../helpers/ops.js';
import { ROOT } from '../helpers/tools.js';
import { observedFor } from '../helpers/observed.js';
import { client, runFunction, startServer, type RunningServer } from '../helpers/server.js';

type Obj = Record<string, any>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const P = 'function_streambus_run_function';

/** A client on its own connection (grpc-js would otherwise share one subchannel between clients). */
const ownClient = (port: number) => client(port, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });

describe('calls in flight are capped (--max-in-flight)', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServer(['--insecure', '--max-in-flight', '1'], { FUNCTION_STREAMBUS_TEST_RESPONSE_DELAY_MS: '800' });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('answers RESOURCE_EXHAUSTED beyond the cap, counts it, and serves the next call', async () => {
    const a = ownClient(srv.port);
    const b = ownClient(srv.port);
    const first = runFunction(a, request(exampleXr('minimal')));
    await sleep(300);
    await expect(runFunction(b, request(exampleXr('minimal')))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringContaining('at most 1') });
    expect((await first).results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
    expect((await runFunction(b, request(exampleXr('minimal')))).desired!.resources.statefulset).toBeDefined();
    const m = await scrape(srv.metricsPort!);
    expect(metric(m, `${P}_errors_total`, { reason: 'overloaded' })).toBe(1);
    a.close();
    b.close();
  });
});

describe('connections that never finish do not hold the server', () => {
  it('a TLS connection that never completes its handshake does not delay the drain', async (ctx) => {
    if (!requireOpenssl()) ctx.skip(); // requireOpenssl throws under CI
    const pki = makePki();
    const srv = await startServer(['--tls-server-certs-dir', pki.serverDir, '--drain-timeout', '20']);
    const stuck: Socket = connect(srv.port, '127.0.0.1');
    await new Promise((r) => stuck.once('connect', r));
    stuck.write(Buffer.from([0x16, 0x03, 0x01])); // the start of a ClientHello, and then nothing
    await sleep(200);
    const started = Date.now();
    expect(await srv.stop()).toBe(0);
    const took = Date.now() - started;
    stuck.destroy();
    console.log(`drain with a stuck TLS handshake: exit 0 after ${took} ms (the handshake timeout, --tls-handshake-timeout, is 10 s)`);
    expect(took).toBeLessThan(5_000);
  });

  it('a metrics request whose headers never end is closed', async () => {
    const srv = await startServer(['--insecure']);
    try {
      const s = connect(srv.metricsPort!, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // no blank line: the headers never end
      const started = Date.now();
      let answer = '';
      s.on('data', (d: Buffer) => (answer += d.toString()));
      await new Promise((r) => {
        s.once('end', r);
        s.once('close', r);
      });
      const took = Date.now() - started;
      s.destroy();
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      console.log(`slow metrics headers: closed after ${took} ms`);
      expect(took).toBeLessThan(9_000);
    } finally {
      await srv.stop();
    }
  }, 20_000);
});

describe('hostile observed state over gRPC', () => {
  let srv: RunningServer;
  let c: grpc.Client;
  beforeAll(async () => {
    srv = await startServer(['--insecure']);
    c = client(srv.port);
  });
  afterAll(async () => {
    c?.close();
    await srv?.stop();
  });

  it.each([0, 100_000, 1_000_000])('kubectl scale to %s in Direct mode: 3 brokers rendered, a small response, the process lives', async (n) => {
    const xr = { ...clone(exampleXr('minimal')), status: { phase: 'Running' } } as Obj;
    const input = { spec: { mode: 'Direct' } };
    const observed = observedFor(xr, input, { mutateSts: (s) => (s.spec.replicas = n) });
    const rsp = await runFunction(c, request(xr, { input, observed }));
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
    expect((rsp.desired!.resources.statefulset!.resource as Obj).spec.replicas).toBe(3);
    expect(rsp.desired!.resources.pdb).toBeDefined();
    expect(JSON.stringify(rsp).length).toBeLessThan(200_000);
    expect(srv.proc.exitCode).toBeNull();
  });
});

describe('memory stays bounded under hostile load (the pod has 256Mi)', () => {
  const MiB = 1024 * 1024;
  // The V8 flags the image runs with (Dockerfile ENV NODE_OPTIONS).
  const nodeOptions = /NODE_OPTIONS="([^"]*)"/.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '';
  const big = (i: number, specBytes: number, extraBytes = 0) => {
    const xr = clone(exampleXr('minimal')) as Obj;
    xr.metadata.name = `mem-${i}`;
    xr.spec.affinity = { blob: `${i}-`.padEnd(specBytes, String.fromCharCode(97 + (i % 26))) };
    const observed = extraBytes ? { unrelated: { apiVersion: 'v1', kind: 'ConfigMap', data: { blob: 'x'.repeat(extraBytes) } } } : undefined;
    return request(xr, observed ? { observed } : {});
  };

  it('150 distinct ~1 MiB specs, then 50 concurrent ~4 MiB requests: RSS stays under 200 MiB', async () => {
    expect(nodeOptions).toContain('--max-old-space-size');
    const srv = await startServer(['--insecure'], { NODE_OPTIONS: nodeOptions });
    const c = client(srv.port, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 8 * MiB });
    try {
      let peak = 0;
      const sample = () => (peak = Math.max(peak, rssBytes(srv.proc.pid!)));
      const timer = setInterval(sample, 20);
      for (let i = 0; i < 150; i++) {
        const rsp = await runFunction(c, big(i, MiB - 16 * 1024));
        expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
      }
      const afterSpecs = rssBytes(srv.proc.pid!);
      const answers = await Promise.all(Array.from({ length: 50 }, (_, j) => runFunction(c, big(1000 + j, MiB - 16 * 1024, 3 * MiB - 32 * 1024)).then(() => 'ok', (e: grpc.ServiceError) => grpc.status[e.code])));
      clearInterval(timer);
      sample();
      console.log(`memory: ${Math.round(afterSpecs / MiB)} MiB after 150 × 1 MiB specs, peak ${Math.round(peak / MiB)} MiB with 50 × 4 MiB in flight (before issue 14: 578 and 1498 MiB)`);
      expect(answers.every((a) => a === 'ok'), answers.join(',')).toBe(true);
      expect(afterSpecs).toBeLessThan(200 * MiB);
      expect(peak).toBeLessThan(200 * MiB);
      expect(srv.proc.exitCode).toBeNull();
    } finally {
      c.close();
      await srv.stop();
    }
  }, 120_000);
});
