/**
 * Starts the function from any command line (e.g. `node <tree>/dist/src/main.js` in the runtime tree, possibly
 * wrapped in a sandbox) and waits for its "listening" log line; test/helpers/server.ts starts the repo's dist/.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { RunningServer } from './server.js';

export interface StartOptions {
  cwd?: string;
  /** The complete environment (nothing inherited). */
  env: NodeJS.ProcessEnv;
}

export async function startCommand(command: string, args: string[], opts: StartOptions): Promise<RunningServer> {
  const proc = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${logs.join('\n')}`)), 15_000);
    proc.stdout!.on('data', (b: Buffer) => {
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
    });
    proc.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
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

/** UID/GID the image runs as (Dockerfile `USER`). */
export const IMAGE_UID = 65532;

/**
 * A command prefix that runs a program the way the container does: as UID/GID 65532, with the root filesystem
 * mounted read-only (a private mount namespace: `unshare --mount`, then a read-only bind remount of /).
 * Undefined when this machine does not allow it (not root, no unshare/setpriv, no mount namespaces).
 */
export function imageLikeSandbox(node: string): string[] | undefined {
  const prefix = [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount -o remount,bind,ro / && exec setpriv --reuid=${IMAGE_UID} --regid=${IMAGE_UID} --clear-groups "$@"`,
    'sandbox',
  ];
  // Probe: node must run as the image UID and must not be able to write anywhere on the root filesystem.
  const probe = spawnSync(prefix[0]!, [...prefix.slice(1), node, '-e', `
    const fs = require('node:fs');
    if (process.getuid() !== ${IMAGE_UID}) process.exit(3);
    try { fs.writeFileSync('/tmp/.ro-probe-' + process.pid, 'x'); process.exit(4); } catch (e) { if (e.code !== 'EROFS') process.exit(5); }
  `], { encoding: 'utf8', timeout: 15_000 });
  return probe.status === 0 ? prefix : undefined;
}
