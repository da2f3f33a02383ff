/**
 * `node dist/bench/memory.js`: the function's memory under the two loads issue 14 names, against the 256Mi limit
 * deploy/function.yaml gives the pod.
 *
 *  1. 150 distinct specs of ~1 MiB each (a 1 MiB string in spec.affinity), sent one after the other: what the
 *     caches keep.
 *  2. 50 concurrent requests of ~4 MiB each (just under the 4 MiB receive limit), three rounds: what calls in
 *     flight hold.
 *
 * It starts the shipped bundle (dist/bundle/function-streambus.mjs, as the image runs it) with --insecure, reads the
 * server's RSS from /proc after each phase (and its peak, VmHWM), and prints one markdown table. Kept apart from
 * bench/bench.ts (throughput and latency) on purpose: it needs a fresh process per run.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { FunctionRunnerServiceService, RunFunctionRequest, Severity, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, 'dist', 'bundle', 'function-streambus.mjs');
const LIMIT_MIB = 256;
const IMAGE_NODE_OPTIONS = /NODE_OPTIONS="([^"]*)"/.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '';
type Obj = Record<string, any>;

const xrBase = parse(readFileSync(join(ROOT, 'examples/minimal/xr.yaml'), 'utf8')) as Obj;
const INPUT = (parse(readFileSync(join(ROOT, 'compositions/composition.yaml'), 'utf8')) as Obj).spec.pipeline[0].input;

/** Just under the function's 1 MiB spec limit, so the spec is validated, rendered and (maybe) cached. */
const SPEC_BLOB = 1024 * 1024 - 16 * 1024;

/** A request whose spec carries `specBytes` of distinct content, plus `extraBytes` in an unrelated observed object. */
function request(i: number, specBytes: number, extraBytes = 0): RunFunctionRequest {
  const xr = structuredClone(xrBase);
  xr.metadata.name = `mem-${i}`;
  // Distinct content per request, so no cache can share it.
  xr.spec.affinity = { blob: `${i}-`.padEnd(specBytes, String.fromCharCode(97 + (i % 26))) };
  const resources = extraBytes ? { unrelated: { resource: { apiVersion: 'v1', kind: 'ConfigMap', data: { blob: 'x'.repeat(extraBytes) } } } } : {};
  return RunFunctionRequest.fromPartial({ meta: { tag: `mem-${i}` }, observed: { composite: { resource: xr }, resources }, input: INPUT });
}

function status(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function main(): Promise<void> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: npm run build`);
  const port = 19000 + Math.floor(Math.random() * 1000);
  const proc = spawn(process.execPath, [BUNDLE, '--insecure', '--address', `127.0.0.1:${port}`, '--metrics-address', 'off'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    // The V8 flags the image runs with (Dockerfile ENV NODE_OPTIONS), unless MEMORY_NODE_OPTIONS overrides them.
    env: { ...process.env, NODE_ENV: 'production', NODE_OPTIONS: process.env.MEMORY_NODE_OPTIONS ?? IMAGE_NODE_OPTIONS },
  });
  const Client = grpc.makeGenericClientConstructor(FunctionRunnerServiceService, 'FunctionRunnerService');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 8 * 1024 * 1024 }) as unknown as {
    runFunction(req: RunFunctionRequest, cb: (err: grpc.ServiceError | null, rsp?: RunFunctionResponse) => void): void;
    close(): void;
  };
  const call = (req: RunFunctionRequest) =>
    new Promise<string>((resolve) => client.runFunction(req, (err, rsp) => resolve(err ? `error ${grpc.status[err.code]}` : rsp!.results.some((r) => r.severity === Severity.SEVERITY_FATAL) ? 'fatal' : 'ok')));
  // Wait until it answers.
  for (let i = 0; ; i++) {
    if ((await call(request(0, 10))).startsWith('ok')) break;
    if (i > 100) throw new Error('the function did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const rows: [string, number, number, string][] = [];
  const idle = status(proc.pid!);
  rows.push(['idle, after the first call', idle.rss, idle.hwm, '']);

  const results = new Map<string, number>();
  const count = (r: string) => results.set(r, (results.get(r) ?? 0) + 1);
  for (let i = 1; i <= 150; i++) count(await call(request(i, SPEC_BLOB)));
  const afterSeq = status(proc.pid!);
  rows.push(['150 distinct 1 MiB specs, sequential', afterSeq.rss, afterSeq.hwm, [...results].map(([k, v]) => `${v} ${k}`).join(', ')]);

  results.clear();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, status(proc.pid!).rss)), 20);
  for (let round = 0; round < 3; round++) {
    const batch = Array.from({ length: 50 }, (_, j) => call(request(1000 + round * 50 + j, SPEC_BLOB, 3 * 1024 * 1024 - 32 * 1024)));
    for (const r of await Promise.all(batch)) count(r);
  }
  clearInterval(sampler);
  const afterPar = status(proc.pid!);
  rows.push(['50 concurrent ~4 MiB requests (1 MiB spec + 3 MiB observed) ×3', Math.max(peak, afterPar.rss), afterPar.hwm, [...results].map(([k, v]) => `${v} ${k}`).join(', ')]);

  client.close();
  proc.kill('SIGTERM');
  const f = (n: number) => n.toFixed(0);
  process.stdout.write(`| phase | RSS MiB (peak sampled) | VmHWM MiB | answers |\n|---|---:|---:|---|\n`);
  for (const [name, rss, hwm, answers] of rows) process.stdout.write(`| ${name} | ${f(rss)} | ${f(hwm)} | ${answers} |\n`);
  const worst = Math.max(...rows.map((r) => r[2]));
  process.stdout.write(`\npeak ${f(worst)} MiB of the pod's ${LIMIT_MIB} MiB limit (${((100 * worst) / LIMIT_MIB).toFixed(0)}%)\n`);
}

void main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
