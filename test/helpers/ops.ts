/** Operational clients for the real server: gRPC health, raw RunFunction bytes, Prometheus scrapes, logs, RSS. */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { FunctionRunnerServiceService } from '@crossplane-org/function-sdk-typescript';

type HealthClient = grpc.Client & {
  check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, rsp: { status: string }) => void): void;
  watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
  list(req: object, cb: (err: grpc.ServiceError | null, rsp: { statuses: Record<string, { status: string }> }) => void): void;
};
const HealthClientCtor = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health') as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => HealthClient;

export function healthClient(port: number, creds = grpc.credentials.createInsecure()): HealthClient {
  return new HealthClientCtor(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'localhost' });
}

export function healthCheck(c: HealthClient, service = ''): Promise<string> {
  return new Promise((resolve, reject) =>
    c.check({ service }, { deadline: Date.now() + 5_000 }, (err, rsp) => (err ? reject(err) : resolve(rsp.status))),
  );
}

export function healthList(c: HealthClient): Promise<Record<string, string>> {
  return new Promise((resolve, reject) =>
    c.list({}, (err, rsp) => (err ? reject(err) : resolve(Object.fromEntries(Object.entries(rsp.statuses).map(([k, v]) => [k, v.status]))))),
  );
}

/** Sends raw bytes as a RunFunction request (no client-side encoding) and returns the raw response bytes. */
export function rawRunFunction(c: grpc.Client, bytes: Buffer, deadlineMs = 30_000): Promise<Buffer> {
  const id = (b: Buffer) => b;
  return new Promise((resolve, reject) =>
    c.makeUnaryRequest(FunctionRunnerServiceService.runFunction.path, id, id, bytes, { deadline: Date.now() + deadlineMs }, (err, rsp) =>
      err ? reject(err) : resolve(rsp!),
    ),
  );
}

export async function scrape(metricsPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
  return res.text();
}

/** The value of one sample of a Prometheus text exposition, e.g. metric(text, 'x_total', { result: 'ok' }). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (want.every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** The JSON log lines of a server (non-JSON lines skipped). */
export function jsonLogs(lines: string[]): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const l of lines) {
    try {
      const j = JSON.parse(l);
      if (j && typeof j === 'object') out.push(j);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The composition resources every cluster has, whatever features its spec turns on. */
export const CORE_RESOURCES = ['config', 'headless-service', 'client-service', 'statefulset'];
