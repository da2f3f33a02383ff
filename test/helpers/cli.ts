/** Runs the render command: in-process (main(), for unit tests) or as the compiled bin (e2e). */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { main } from '../../src/cli/main.js';
import { ROOT } from './tools.js';

const run = promisify(execFile);
type Obj = Record<string, any>;

export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  docs: Obj[];
}

export function parseDocs(stdout: string): Obj[] {
  return parseAllDocuments(stdout)
    .map((d) => d.toJSON() as Obj)
    .filter((d) => d && typeof d === 'object');
}

/** main(argv) with captured output, cwd = the repository root. */
export function cli(...argv: string[]): CliResult {
  let stdout = '';
  let stderr = '';
  const code = main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd: ROOT });
  return { code, stdout, stderr, docs: parseDocs(stdout) };
}

/** The compiled bin, as a user runs it (`function-streambus ...`). */
export async function cliBin(args: string[], opts: { bin?: string; cwd?: string } = {}): Promise<CliResult> {
  const bin = opts.bin ?? CLI;
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first (npm test does)`);
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: opts.cwd ?? ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
    return { code: 0, stdout, stderr, docs: parseDocs(stdout) };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '', docs: parseDocs(e.stdout ?? '') };
  }
}
