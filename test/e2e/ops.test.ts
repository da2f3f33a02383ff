/**
 * Operating the real server: gRPC health, Prometheus metrics, structured logs without secrets, SIGTERM draining
 * and the request size limit.
 */
import { spawnSync } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { makePki } from '../helpers/certs.js';
import { RunFunctionRequest, Severity } from '@crossplane-org/function-sdk-typescript';
import { runFunction as inProcess } from '../../src/function/handler.js';
import { RUN_FUNCTION_SERVICE } from '../../src/server/health.js';
import { clone, exampleXr, request } from '../helpers/fixtures.js';
import { CORE_RESOURCES, healthCheck, healthClient, healthList, jsonLogs, metric, rawRunFunction, scrape, sleep } from '../helpers/ops.js';
import { MAIN, client, runFunction, startServer, type RunningServer } from '../helpers/server.js';

type Obj = Record<string, any>;
const P = 'function_streambus_run_function';

describe('health, metrics and logs', () => {
  let srv: RunningServer;
  let c: grpc.Client;
  beforeAll(async () => {
    srv = await startServer();
    c = client(srv.port);
  });
  afterAll(async () => {
    c?.close();
    expect(await srv?.stop()).toBe(0);
  });

  describe('grpc.health.v1.Health', () => {
    it('Check: SERVING for the server and for RunFunction, NOT_FOUND for an unknown service', async () => {
      const h = healthClient(srv.port);
      expect(await healthCheck(h, '')).toBe('SERVING');
      expect(await healthCheck(h, 'apiextensions.fn.proto.v1.FunctionRunnerService')).toBe('SERVING');
      await expect(healthCheck(h, 'no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      h.close();
    });

    it('List names both services', async () => {
      const h = healthClient(srv.port);
      expect(await healthList(h)).toEqual({ '': 'SERVING', [RUN_FUNCTION_SERVICE]: 'SERVING' });
      h.close();
    });

    it('Watch streams the current status', async () => {
      const h = healthClient(srv.port);
      const stream = h.watch({ service: '' });
      const first = await new Promise<string>((resolve, reject) => {
        stream.once('data', (m: { status: string }) => resolve(m.status));
        stream.once('error', reject);
      });
      expect(first).toBe('SERVING');
      stream.cancel();
      h.close();
    });
  });

  describe('Prometheus metrics', () => {
    it('serves RunFunction calls by result, errors, duration, in-flight and process metrics', async () => {
      const before = await scrape(srv.metricsPort!);
      const bad = clone(exampleXr('minimal')) as Obj;
      bad.spec.replicas = -1;
      const good = [request(exampleXr('minimal')), request(exampleXr('production'))];
      // What each good request should count as (ok, or warning when the function warns about something).
      const expected = { ok: 0, warning: 0 };
      for (const r of good) expected[inProcess(r).results.some((x) => x.severity === Severity.SEVERITY_WARNING) ? 'warning' : 'ok']++;
      for (const r of good) await runFunction(c, r);
      await runFunction(c, request(bad));
      await expect(rawRunFunction(c, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
      const after = await scrape(srv.metricsPort!);
      const delta = (name: string, labels: Record<string, string> = {}) => (metric(after, name, labels) ?? NaN) - (metric(before, name, labels) ?? 0);

      expect(delta(`${P}_calls_total`, { result: 'ok' })).toBe(expected.ok);
      expect(delta(`${P}_calls_total`, { result: 'warning' })).toBe(expected.warning);
      expect(delta(`${P}_calls_total`, { result: 'fatal' })).toBe(1);
      expect(delta(`${P}_calls_total`, { result: 'error' })).toBe(1);
      expect(delta(`${P}_errors_total`, { reason: 'decode' })).toBe(1);
      expect(delta(`${P}_errors_total`, { reason: 'handler' })).toBe(0);
      expect(delta(`${P}_duration_seconds_count`, { result: 'fatal' })).toBe(1);
      expect(metric(after, `${P}_duration_seconds_bucket`, { result: 'fatal', le: '+Inf' })).toBe(metric(after, `${P}_duration_seconds_count`, { result: 'fatal' }));
      expect(metric(after, `${P}_in_flight`)).toBe(0);
      expect(delta(`${P}_request_bytes_count`)).toBe(4);
      expect(metric(after, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
      expect(metric(after, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(after).toContain('nodejs_eventloop_lag_seconds');
      expect(after).toMatch(new RegExp(`# HELP ${P}_calls_total .+`));
    });

    it('answers 404 off /metrics', async () => {
      expect((await fetch(`http://127.0.0.1:${srv.metricsPort}/`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${srv.metricsPort}/metrics`, { method: 'POST' })).status).toBe(404);
    });
  });

  describe('structured logs', () => {
    const SECRETS = ['SENTINEL-PASSWORD-4711', 'SENTINEL-ANNOTATION-0815', 'SENTINEL-INPUT-1234', 'SENTINEL-OBSERVED-CD', 'SENTINEL-CONTEXT'];

    it('one JSON line per call with the XR name, claim namespace and tag; never a secret or a request body', async () => {
      const xr = clone(exampleXr('production')) as Obj;
      xr.spec.podAnnotations['example.com/token'] = SECRETS[1];
      const req = request(xr, {
        tag: 'tag-logs-1',
        desired: { 'earlier-step': { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { password: SECRETS[0] } } },
      });
      req.desired!.composite = { resource: { status: {} }, connectionDetails: { password: Buffer.from(SECRETS[0]!) }, ready: 0 };
      req.observed!.resources = { config: { resource: { kind: 'Object' }, connectionDetails: { token: Buffer.from(SECRETS[3]!) }, ready: 0 } };
      (req.input as Obj).metadata = { annotations: { note: SECRETS[2] } };
      req.context = { 'apiextensions.crossplane.io/environment': { password: SECRETS[4] } };
      const rsp = await runFunction(c, req);
      expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
      const local = inProcess(req);
      const localResult = local.results.some((r) => r.severity === Severity.SEVERITY_WARNING) ? 'warning' : 'ok';

      const bad = clone(xr);
      bad.spec.config.logLevel = 'loud';
      const badReq = request(bad, { tag: 'tag-logs-2' });
      badReq.desired!.composite = { resource: {}, connectionDetails: { password: Buffer.from(SECRETS[0]!) }, ready: 0 };
      await runFunction(c, badReq);
      await sleep(200);

      const lines = jsonLogs(srv.logs);
      const ok = lines.find((l) => l.tag === 'tag-logs-1');
      expect(ok).toMatchObject({
        level: 30,
        msg: 'RunFunction',
        fn: 'function-streambus',
        tag: 'tag-logs-1',
        xr: 'streambus-production-wml6q',
        claimName: 'streambus-production',
        claimNamespace: 'production',
        result: localResult,
        resources: Object.keys(local.desired!.resources).length,
      });
      expect(ok!.durationMs).toBeGreaterThan(0);
      expect(ok!.requestBytes).toBeGreaterThan(1000);
      expect(typeof ok!.time).toBe('number');

      const refused = lines.find((l) => l.tag === 'tag-logs-2');
      expect(refused).toMatchObject({ level: 40, result: 'fatal', xr: 'streambus-production-wml6q', claimNamespace: 'production' });
      expect(refused!.message).toMatch(/^ValidateSpec: spec\.config\.logLevel: must be one of/);

      const all = srv.logs.join('\n');
      for (const s of SECRETS) expect(all, s).not.toContain(s);
      // Neither the request nor the response body: no spec values, no rendered manifests, no status endpoints.
      for (const s of ['broker.yaml', 'm5.xlarge', 'jaeger-collector', 'bootstrapServers', 'svc.cluster.local']) expect(all, s).not.toContain(s);
    });

    it('a call without an XR is logged without identity', async () => {
      await runFunction(c, RunFunctionRequest.fromPartial({ meta: { tag: 'tag-empty' } }));
      await sleep(100);
      const line = jsonLogs(srv.logs).find((l) => l.tag === 'tag-empty');
      expect(line).toMatchObject({ result: 'fatal', message: 'ReadCompositeResource: the request carries no observed composite resource' });
      expect(line!.xr).toBeUndefined();
    });
  });
});

describe('graceful shutdown on SIGTERM', () => {
  /** Starts a server that answers each call `delayMs` late, so that a call is reliably in flight. */
  const slowServer = (delayMs: number, drainSeconds: number) =>
    startServer(['--insecure', '--drain-timeout', String(drainSeconds)], { FUNCTION_STREAMBUS_TEST_RESPONSE_DELAY_MS: String(delayMs) });
  const waitInFlight = async (srv: RunningServer, n: number) => {
    for (let i = 0; i < 100; i++) {
      if (metric(await scrape(srv.metricsPort!), `${P}_in_flight`) === n) return;
      await sleep(20);
    }
    throw new Error(`never ${n} calls in flight`);
  };
  const exited = (srv: RunningServer) => new Promise<number | null>((r) => (srv.proc.exitCode !== null ? r(srv.proc.exitCode) : srv.proc.once('exit', (code) => r(code))));

  it('lets the in-flight call finish, refuses new calls, ends health watches and exits 0 within the drain bound', async () => {
    const srv = await slowServer(1500, 8);
    const c = client(srv.port);
    const h = healthClient(srv.port);
    const watch = h.watch({ service: '' });
    const statuses: string[] = [];
    watch.on('data', (m: { status: string }) => statuses.push(m.status));
    const watchEnded = new Promise<void>((r) => {
      watch.on('end', () => r());
      watch.on('error', () => r());
    });

    const inFlight = runFunction(c, request(exampleXr('minimal'), { tag: 'in-flight' }));
    await waitInFlight(srv, 1);
    const t0 = Date.now();
    srv.proc.kill('SIGTERM');
    const code = exited(srv);

    // A new connection is refused while the old call drains.
    for (let i = 0; i < 50 && !srv.logs.some((l) => l.includes('draining')); i++) await sleep(10);
    const late = client(srv.port);
    await expect(runFunction(late, request(exampleXr('minimal')))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    late.close();

    const rsp = await inFlight;
    expect(rsp.meta!.tag).toBe('in-flight');
    expect(Object.keys(rsp.desired!.resources)).toEqual(expect.arrayContaining(CORE_RESOURCES));
    expect(await code).toBe(0);
    const took = Date.now() - t0;
    expect(took).toBeLessThan(8_000);
    await watchEnded;
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    const logs = jsonLogs(srv.logs);
    expect(logs.find((l) => l.msg.startsWith('draining'))).toMatchObject({ signal: 'SIGTERM', inFlight: 1 });
    expect(logs.find((l) => l.msg === 'function-streambus stopped')).toMatchObject({ forced: false });
    c.close();
    h.close();
    console.log(`drain: in-flight call completed, exit 0 after ${took} ms (bound 8 s)`);
  });

  it('over mutual TLS (the owned TLS listener): the in-flight call finishes, then exit 0', async () => {
    const pki = makePki();
    const srv = await startServer(['--tls-server-certs-dir', pki.serverDir, '--drain-timeout', '8'], { FUNCTION_STREAMBUS_TEST_RESPONSE_DELAY_MS: '1500' });
    const c = client(srv.port, grpc.credentials.createSsl(pki.ca, pki.client.key, pki.client.cert));
    const inFlight = runFunction(c, request(exampleXr('minimal'), { tag: 'tls-in-flight' }));
    await waitInFlight(srv, 1);
    srv.proc.kill('SIGTERM');
    const code = exited(srv);
    const rsp = await inFlight.catch(async (e) => {
      await code;
      throw new Error(`${e.message}\n${srv.logs.join('\n')}`);
    });
    expect(rsp.meta!.tag).toBe('tls-in-flight');
    expect(await code).toBe(0);
    expect(jsonLogs(srv.logs).find((l) => l.msg === 'function-streambus stopped')).toMatchObject({ forced: false });
    c.close();
  });

  it('cuts calls that outlast --drain-timeout and still exits 0, on time', async () => {
    const srv = await slowServer(60_000, 1);
    const c = client(srv.port);
    const stuck = runFunction(c, request(exampleXr('minimal'))).then(
      () => 'completed',
      (e: grpc.ServiceError) => e.code,
    );
    await waitInFlight(srv, 1);
    const t0 = Date.now();
    srv.proc.kill('SIGTERM');
    expect(await exited(srv)).toBe(0);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(4_000);
    expect(await stuck).not.toBe('completed');
    expect(jsonLogs(srv.logs).find((l) => l.msg === 'function-streambus stopped')).toMatchObject({ forced: true });
    c.close();
  });
});

describe('startup and limits', () => {
  it('refuses requests over --max-request-bytes with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const srv = await startServer(['--insecure', '--max-request-bytes', String(1024 * 1024)]);
    const c = client(srv.port);
    const big = clone(exampleXr('minimal')) as Obj;
    big.spec.podAnnotations = { blob: 'x'.repeat(2 * 1024 * 1024) };
    await expect(runFunction(c, request(big))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    const rsp = await runFunction(c, request(exampleXr('minimal')));
    expect(Object.keys(rsp.desired!.resources)).toEqual(expect.arrayContaining(CORE_RESOURCES));
    expect(jsonLogs(srv.logs).find((l) => /listening/.test(l.msg))?.maxRequestBytes).toBe(1024 * 1024);
    c.close();
    expect(await srv.stop()).toBe(0);
  });

  it('serves without metrics when --metrics-address is off', async () => {
    const srv = await startServer(['--insecure', '--metrics-address', 'off']);
    expect(srv.metricsPort).toBeUndefined();
    expect(jsonLogs(srv.logs).find((l) => /listening/.test(l.msg))?.metricsAddress).toBe('off');
    const c = client(srv.port);
    expect(Object.keys((await runFunction(c, request(exampleXr('minimal')))).desired!.resources)).toEqual(expect.arrayContaining(CORE_RESOURCES));
    c.close();
    expect(await srv.stop()).toBe(0);
  });

  it('serves without metrics, with a warning, when the default metrics port 8080 is taken', async () => {
    const blocker = createNetServer();
    // Take 0.0.0.0:8080 unless something else already holds it: either way the server cannot bind it.
    await new Promise<void>((r) => blocker.once('error', () => r()).listen(8080, '0.0.0.0', r));
    const env = { ...process.env };
    delete env.METRICS_ADDRESS;
    const srv = await startServer(['--insecure'], env, { metricsFlag: false });
    blocker.close();
    const logs = jsonLogs(srv.logs);
    expect(logs.find((l) => /cannot bind the default metrics address/.test(l.msg))).toMatchObject({ level: 40, address: '0.0.0.0:8080' });
    expect(logs.find((l) => /listening/.test(l.msg))?.metricsAddress).toBe('off');
    const c = client(srv.port);
    expect(Object.keys((await runFunction(c, request(exampleXr('minimal')))).desired!.resources)).toEqual(expect.arrayContaining(CORE_RESOURCES));
    c.close();
    expect(await srv.stop()).toBe(0);
  });

  it('exits 1 when it cannot bind the metrics address it was given', async () => {
    const blocker = createNetServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const res = spawnSync(process.execPath, [MAIN, '--insecure', '--address', '127.0.0.1:0', '--metrics-address', `127.0.0.1:${port}`], { timeout: 15_000, encoding: 'utf8' });
    blocker.close();
    expect(res.status).toBe(1);
    expect(res.stdout).toContain('cannot bind the metrics address');
  });

  it('exits 2 on a bad flag value', () => {
    const res = spawnSync(process.execPath, [MAIN, '--insecure', '--drain-timeout', 'soon'], { timeout: 15_000, encoding: 'utf8' });
    expect(res.status).toBe(2);
    expect(res.stdout).toContain('--drain-timeout must be a positive number');
  });
});
