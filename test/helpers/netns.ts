/**
 * Network namespaces the test harnesses make (test/helpers/controlplane.ts, test/helpers/pods.ts): each is named
 * `<prefix><pid>-...` after the process that made it, so a later run can tell a namespace whose maker is gone (a run
 * killed with SIGKILL) and remove it, with whatever still runs inside.
 */
import { spawnSync } from 'node:child_process';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills every process in the namespace, then deletes it. Synchronous and idempotent (safe in an exit handler). */
export function deleteNamespace(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  spawnSync('ip', ['netns', 'del', ns]);
}

/** Namespaces named `<prefix><pid>-...` whose maker process is gone, with that pid. */
export function deadRunNamespaces(prefix: string): { ns: string; pid: number }[] {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const out: { ns: string; pid: number }[] = [];
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${prefix}(\\d+)-`).exec(ns);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) out.push({ ns, pid: Number(m[1]) });
  }
  return out;
}
