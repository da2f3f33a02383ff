/** Starts the real function server (compiled dist/) as a child process and gives a gRPC client for it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  FunctionRunnerServiceService,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { ROOT } from './tools.js';

export const MAIN = join(ROOT, 'dist', 'src', 'main.js');

export interface RunningServer {
  proc: ChildProcess;
  port: number;
  logs: string[];
  stop(): Promise<number | null>;
}

export async function startServer(args: string[] = ['--insecure'], env: NodeJS.ProcessEnv = {}): Promise<RunningServer> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first (npm test does)`);
  const proc = spawn(process.execPath, [MAIN, '--address', '127.0.0.1:0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${logs.join('')}`)), 15_000);
    const onData = (b: Buffer) => {
      for (const line of b.toString().split('\n')) {
        if (!line) continue;
        logs.push(line);
        try {
          const j = JSON.parse(line);
          if (typeof j.port === 'number' && /listening/.test(j.msg)) {
            clearTimeout(timer);
            resolve(j.port);
          }
        } catch {
          /* not JSON */
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${logs.join('\n')}`));
    });
  });
  return {
    proc,
    port,
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

export function client(port: number, creds = grpc.credentials.createInsecure()): grpc.Client {
  return new Client(`127.0.0.1:${port}`, creds);
}

export function runFunction(c: grpc.Client, req: Partial<RunFunctionRequest>): Promise<RunFunctionResponse> {
  return new Promise((resolve, reject) => {
    (c as unknown as { runFunction: (r: unknown, cb: (e: Error | null, r: RunFunctionResponse) => void) => void }).runFunction(
      req,
      (err, rsp) => (err ? reject(err) : resolve(rsp)),
    );
  });
}
