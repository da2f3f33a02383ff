/**
 * External tools (installed by scripts/install-tools.sh into .tools/bin).
 * A test that needs a missing tool is skipped LOUDLY when CI is unset, and fails when CI is set.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const TOOLS_BIN = join(ROOT, '.tools', 'bin');
export const IN_CI = !!process.env.CI && process.env.CI !== 'false';

export function toolPath(name: string): string | undefined {
  const p = name.includes('/') ? join(ROOT, '.tools', name) : join(TOOLS_BIN, name);
  return existsSync(p) ? p : undefined;
}

/** Returns the tool's path, or undefined after printing why the test is skipped. Throws under CI. */
export function requireTool(name: string, why: string): string | undefined {
  const p = toolPath(name);
  if (p) return p;
  const msg = `${name} is not installed in .tools/bin (run scripts/install-tools.sh): ${why}`;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  process.stderr.write(`\n!!!!!!!!!! SKIPPED: ${msg} !!!!!!!!!!\n\n`);
  return undefined;
}
