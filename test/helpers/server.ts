/** Starts the real function server (compiled dist/) as a child process and gives a gRPC client for it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'vitest';
import {
  FunctionRunnerServiceService,
  Severity,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { EXAMPLES, clone, exampleXr, request } from './fixtures.js';
import { ROOT } from './tools.js';

export const MAIN = join(ROOT, 'dist', 'src', 'main.js');

export interface RunningServer {
  proc: ChildProcess;
  port: number;
  /** Port of the Prometheus endpoint (http://127.0.0.1:PORT/metrics), unless started with --metrics-address off. */
  metricsPort?: number;
  logs: string[];
  stop(): Promise<number | null>;
}

export interface StartOptions {
  /** Keep only about the newest this many log lines; a load test would otherwise keep hundreds of thousands. */
  maxLogLines?: number;
  /** Add `--metrics-address 127.0.0.1:0` unless `args` set one (default true); false: the server's own default. */
  metricsFlag?: boolean;
  /** The script to run instead of dist/src/main.js (e.g. the bundle, or a modified copy of either). */
  main?: string;
}

/**
 * Spawns dist/src/main.js on 127.0.0.1 with an ephemeral gRPC port and, unless `args` set --metrics-address, an
 * ephemeral metrics port (the default, 0.0.0.0:8080, would collide between servers and parallel test runs).
 */
export async function startServer(args: string[] = ['--insecure'], env: NodeJS.ProcessEnv = {}, opts: StartOptions = {}): Promise<RunningServer> {
  const main = opts.main ?? MAIN;
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first (npm test does)`);
  const metricsArgs = opts.metricsFlag === false || args.some((a) => a.startsWith('--metrics-address')) ? [] : ['--metrics-address', '127.0.0.1:0'];
  // FUNCTION_STREAMBUS_TEST_NODE: run the server under another Node.js (e.g. the image's Node 26) than the tests.
  const proc = spawn(process.env.FUNCTION_STREAMBUS_TEST_NODE ?? process.execPath, [main, '--address', '127.0.0.1:0', ...metricsArgs, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const max = opts.maxLogLines ?? Infinity;
  const keep = (line: string) => {
    logs.push(line);
    if (logs.length > 2 * max) logs.splice(0, logs.length - max);
  };
  let metricsPort: number | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${logs.join('')}`)), 15_000);
    let pending = '';
    const onData = (b: Buffer) => {
      // Chunks do not end on line boundaries: keep the unfinished last line for the next chunk.
      const lines = (pending + b.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (!line) continue;
        keep(line);
        if (!line.includes('listening')) continue;
        try {
          const j = JSON.parse(line);
          if (typeof j.port === 'number' && /listening/.test(j.msg)) {
            clearTimeout(timer);
            if (typeof j.metricsPort === 'number') metricsPort = j.metricsPort;
            resolve(j.port);
          }
        } catch {
          /* not JSON */
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (b: Buffer) => keep(b.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${logs.join('\n')}`));
    });
  });
  return {
    proc,
    port,
    metricsPort,
    logs,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill('SIGTERM');
      }),
  };
}

const Client = grpc.makeGenericClientConstructor(FunctionRunnerServiceService, 'FunctionRunnerService');

/** A RunFunction client for 127.0.0.1:port. With TLS, the server's certificate is checked for `localhost`. */
export function client(port: number, creds = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}): grpc.Client {
  return new Client(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'localhost', ...options });
}

export function runFunction(c: grpc.Client, req: Partial<RunFunctionRequest>): Promise<RunFunctionResponse> {
  return new Promise((resolve, reject) => {
    (c as unknown as { runFunction: (r: unknown, cb: (e: Error | null, r: RunFunctionResponse) => void) => void }).runFunction(
      req,
      (err, rsp) => (err ? reject(err) : resolve(rsp)),
    );
  });
}

/** A response as plain JSON, for deep equality across two servers. */
export const plainResponse = (rsp: RunFunctionResponse): unknown => JSON.parse(JSON.stringify(rsp));

/**
 * Asserts that server `t` answers every example without a FATAL, composes at least four resources and answers exactly
 * as the reference server `ref` does; then that a bad spec (replicas 0) gets a FATAL from `t`, which is returned.
 */
export async function expectSameAnswersAsReference(t: grpc.Client, ref: grpc.Client, tag?: (example: string) => string): Promise<RunFunctionResponse> {
  for (const name of EXAMPLES) {
    const req = request(exampleXr(name), tag ? { tag: tag(name) } : undefined);
    const got = await runFunction(t, req);
    expect(got.results.filter((r) => r.severity === Severity.SEVERITY_FATAL), name).toEqual([]);
    expect(Object.keys(got.desired!.resources).length, name).toBeGreaterThanOrEqual(4);
    expect(plainResponse(got), name).toEqual(plainResponse(await runFunction(ref, req)));
  }
  const bad = clone(exampleXr('minimal')) as Record<string, any>;
  bad.spec.replicas = 0;
  const fatal = await runFunction(t, request(bad));
  expect(fatal.results[0]!.severity).toBe(Severity.SEVERITY_FATAL);
  return fatal;
}
