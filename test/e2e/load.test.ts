/**
 * Load against the real server, loopback only: LOAD_CONCURRENCY (default 64) RunFunction calls in flight for
 * LOAD_SECONDS (default 10 in CI; the full run is LOAD_SECONDS=60), with the examples' XRs both on their first
 * reconcile and in steady state (observed Objects carrying a ready StatefulSet). One HTTP/2 connection, as
 * Crossplane uses one per function.
 *
 * Zero errors means: no gRPC error, and every response byte-identical to the reference response of its request
 * (the function is deterministic; the reference was checked in full: no FATAL, every resource composed).
 * Reports calls, throughput (a figure, never asserted: the machine is noisy; speed is the benchmark's), p50/p90/p99/max
 * latency, and the server's RSS at start (after warm-up), middle and
 * end; fails when RSS grows by more than LOAD_RSS_GROWTH_MB (default 64) between middle and end.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { RunFunctionRequest, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { EXAMPLES, exampleXr, request } from '../helpers/fixtures.js';
import { CORE_RESOURCES, metric, rawRunFunction, rssBytes, scrape, sleep } from '../helpers/ops.js';
import { client, startServer, type RunningServer } from '../helpers/server.js';
import { ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;
const SECONDS = Number(process.env.LOAD_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 64);
const WARMUP_SECONDS = Math.min(5, Math.max(1, SECONDS / 5));
const RSS_GROWTH_MB = Number(process.env.LOAD_RSS_GROWTH_MB ?? 64);
const P = 'function_streambus_run_function';
const MB = 1024 * 1024;

/** The observed state of a healthy cluster: each desired Object back, with the provider's view of the manifest. */
function steadyState(rsp: RunFunctionResponse): Record<string, Obj> {
  const observed: Record<string, Obj> = {};
  for (const [key, r] of Object.entries(rsp.desired!.resources)) {
    const o = structuredClone(r.resource) as Obj;
    const m = structuredClone(o.spec.forProvider.manifest) as Obj;
    m.metadata = { ...m.metadata, uid: `uid-${key}`, generation: 1, resourceVersion: '4711' };
    if (m.kind === 'StatefulSet') {
      const n = m.spec.replicas;
      m.status = { observedGeneration: 1, replicas: n, readyReplicas: n, updatedReplicas: n, currentReplicas: n, availableReplicas: n, currentRevision: 'sb-7d9f', updateRevision: 'sb-7d9f' };
    }
    o.status = {
      atProvider: { manifest: m },
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Available', lastTransitionTime: '2026-01-01T00:00:00Z' },
        { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
    };
    observed[key] = o;
  }
  return observed;
}

const pct = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (v: number) => Math.round(v * 1000) / 1000;

describe(`load: ${CONCURRENCY} calls in flight for ${SECONDS} s`, () => {
  let srv: RunningServer;
  let c: grpc.Client;
  beforeAll(async () => {
    srv = await startServer(['--insecure'], {}, { maxLogLines: 2000 });
    c = client(srv.port);
  });
  afterAll(async () => {
    c?.close();
    expect(await srv?.stop()).toBe(0);
  });

  it('serves every call correctly, with flat memory', async () => {
    // Requests: each example, first reconcile and steady state; references checked in full.
    const variants: { name: string; bytes: Buffer; reference: Buffer }[] = [];
    for (const ex of EXAMPLES) {
      const first = request(exampleXr(ex), { tag: `load-${ex}-first` });
      const firstBytes = Buffer.from(RunFunctionRequest.encode(first).finish());
      const firstRef = await rawRunFunction(c, firstBytes);
      const firstRsp = RunFunctionResponse.decode(firstRef);
      const steady = request(exampleXr(ex), { tag: `load-${ex}-steady`, observed: steadyState(firstRsp) });
      const steadyBytes = Buffer.from(RunFunctionRequest.encode(steady).finish());
      const steadyRef = await rawRunFunction(c, steadyBytes);
      for (const [name, ref] of [[`${ex}/first`, firstRef], [`${ex}/steady`, steadyRef]] as const) {
        const rsp = RunFunctionResponse.decode(ref);
        expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL), name).toEqual([]);
        expect(Object.keys(rsp.desired!.resources), name).toEqual(expect.arrayContaining(CORE_RESOURCES));
      }
      variants.push({ name: `${ex}/first`, bytes: firstBytes, reference: firstRef }, { name: `${ex}/steady`, bytes: steadyBytes, reference: steadyRef });
    }
    const sizes = variants.map((v) => v.bytes.length);
    const before = await scrape(srv.metricsPort!);

    const latencies: number[] = [];
    const failures: string[] = [];
    let sent = 0;
    let measuring = false;
    let stop = false;
    const rss: { t: number; rss: number }[] = [];
    const t0 = Date.now();
    const worker = async (w: number) => {
      for (let i = w; !stop; i += CONCURRENCY) {
        const v = variants[i % variants.length]!;
        const started = process.hrtime.bigint();
        sent++;
        try {
          const out = await rawRunFunction(c, v.bytes, 10_000);
          if (!out.equals(v.reference)) failures.push(`${v.name}: response differs from the reference`);
        } catch (err) {
          failures.push(`${v.name}: ${(err as grpc.ServiceError).code} ${(err as Error).message}`);
        }
        if (measuring) latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    };
    const sampler = (async () => {
      while (!stop) {
        if (measuring) rss.push({ t: (Date.now() - t0) / 1000, rss: rssBytes(srv.proc.pid!) });
        await sleep(500);
      }
    })();
    const workers = Array.from({ length: CONCURRENCY }, (_, w) => worker(w));

    await sleep(WARMUP_SECONDS * 1000);
    measuring = true;
    const startedAt = Date.now();
    const rssStart = rssBytes(srv.proc.pid!);
    const heapStart = metric(await scrape(srv.metricsPort!), 'nodejs_heap_size_used_bytes');
    await sleep((SECONDS * 1000) / 2);
    const rssMiddle = rssBytes(srv.proc.pid!);
    await sleep((SECONDS * 1000) / 2);
    const rssEnd = rssBytes(srv.proc.pid!);
    const heapEnd = metric(await scrape(srv.metricsPort!), 'nodejs_heap_size_used_bytes');
    stop = true;
    const elapsed = (Date.now() - startedAt) / 1000;
    await Promise.all(workers);
    await sampler;
    const after = await scrape(srv.metricsPort!);

    const sorted = Float64Array.from(latencies).sort();
    const delta = (result: string) => (metric(after, `${P}_calls_total`, { result }) ?? 0) - (metric(before, `${P}_calls_total`, { result }) ?? 0);
    // A WARNING result is an answer like any other (the function flags something about the claim); errors are
    // gRPC failures and FATAL refusals, neither of which a valid example may get.
    const serverCalls = delta('ok') + delta('warning');
    const serverErrors = delta('error') + delta('fatal');
    const report = {
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      concurrency: CONCURRENCY,
      variants: variants.length,
      requestBytes: { min: Math.min(...sizes), max: Math.max(...sizes) },
      callsMeasured: sorted.length,
      callsTotal: sent,
      serverCallsOk: serverCalls,
      errors: failures.length,
      serverErrors,
      callsPerSecond: Math.round(sorted.length / elapsed),
      latencyMs: { p50: ms(pct(sorted, 50)), p90: ms(pct(sorted, 90)), p99: ms(pct(sorted, 99)), max: ms(sorted[sorted.length - 1] ?? NaN) },
      rssMB: { start: Math.round(rssStart / MB), middle: Math.round(rssMiddle / MB), end: Math.round(rssEnd / MB), max: Math.round(Math.max(...rss.map((r) => r.rss)) / MB) },
      heapUsedMB: { start: Math.round((heapStart ?? 0) / MB), end: Math.round((heapEnd ?? 0) / MB) },
      loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
      node: process.version,
    };
    console.log(`load: ${JSON.stringify(report)}`);
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    writeFileSync(join(ROOT, '.tmp', `load-${SECONDS}s.json`), `${JSON.stringify({ ...report, rssSamples: rss }, null, 2)}\n`);

    expect(failures.slice(0, 5)).toEqual([]);
    expect(serverErrors).toBe(0);
    expect(serverCalls).toBe(sent);
    // Throughput (callsPerSecond above) is a figure, not a gate: the machine is shared and noisy. The benchmark
    // (npm run bench) is where speed is measured and compared.
    expect(sorted.length).toBeGreaterThan(0);
    expect(metric(after, `${P}_in_flight`)).toBe(0);
    expect((rssEnd - rssMiddle) / MB, `RSS grew from ${report.rssMB.middle} MB to ${report.rssMB.end} MB in the second half`).toBeLessThan(RSS_GROWTH_MB);
    expect(srv.proc.exitCode).toBeNull();
  }, (SECONDS + WARMUP_SECONDS) * 1000 + 120_000);
});
