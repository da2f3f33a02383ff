/** Runs the real `crossplane render` against the real function server. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './tools.js';

const run = promisify(execFile);
type Obj = Record<string, any>;

/** functions.yaml pointing render at our server's port (Development runtime, no TLS). */
export function functionsFile(port: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-render-'));
  const path = join(dir, 'functions.yaml');
  writeFileSync(
    path,
    [
      'apiVersion: pkg.crossplane.io/v1beta1',
      'kind: Function',
      'metadata:',
      '  name: streambus-io-function-streambus',
      '  annotations:',
      '    render.crossplane.io/runtime: Development',
      `    render.crossplane.io/runtime-development-target: 127.0.0.1:${port}`,
      'spec:',
      '  package: xpkg.crossplane.io/streambus-io/function-streambus:v0.1.0',
      '',
    ].join('\n'),
  );
  return path;
}

export interface RenderOutput {
  docs: Obj[];
  stdout: string;
  stderr: string;
}

export async function crossplaneRender(
  bin: string,
  xr: string,
  composition: string,
  functions: string,
  extra: string[] = [],
): Promise<RenderOutput> {
  const args = ['render', resolve(ROOT, xr), resolve(ROOT, composition), functions, '--timeout=60s', ...extra];
  const { stdout, stderr } = await run(bin, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  const docs = parseAllDocuments(stdout)
    .map((d) => d.toJSON() as Obj)
    .filter((d) => d && typeof d === 'object');
  return { docs, stdout, stderr };
}
