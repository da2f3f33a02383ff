/**
 * Network namespaces the test harnesses make (test/helpers/controlplane.ts, test/helpers/pods.ts): each is named
 * `<prefix><pid>-...` after the process that made it, so a later run can tell a namespace whose maker is gone (a run
 * killed with SIGKILL) and remove it, with whatever still runs inside.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

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

// ----------------------------------------------------------------------------------------------- a real node's leftovers
// A real node (test/helpers/node.ts) leaves things outside its network namespace: mounts under its folder (container
// root filesystems, volumes), cgroups under its `cgroupRoot` in every controller, the pods' own network namespaces
// (/run/netns/cni-*). All are named or found by the run's `sbcp-<pid>-...` id, so a later run can remove a dead run's.

/** Lazily unmounts every mount point at or under `dir`, deepest first. Synchronous. */
export function unmountUnder(dir: string): void {
  let info = '';
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const points = info
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync('umount', ['-l', p]);
}

/** The pod network namespaces (/run/netns/cni-*) whose processes live in cgroups under `cgroupRoot` (e.g. /sbcp-1-2). */
export function podNamespacesOf(cgroupRoot: string): string[] {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const out: string[] = [];
  for (const ns of list.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith('cni-'))) {
    const pids = (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '').split(/\s+/).filter(Boolean);
    if (pids.some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`${cgroupRoot}/`);
      } catch {
        return false;
      }
    })) out.push(ns);
  }
  return out;
}

/** The cgroup v1 controller hierarchies (and the v2 one, if mounted) under /sys/fs/cgroup. */
export function cgroupHierarchies(): string[] {
  let info = '';
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return info
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith('/sys/fs/cgroup/'));
}

const syncSleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Kills the processes in cgroup `root` (every hierarchy) and removes its cgroups, deepest first (retrying briefly). */
export function removeCgroupTree(root: string): void {
  for (let attempt = 0; attempt < 20; attempt++) {
    let left = 0;
    for (const h of cgroupHierarchies()) {
      const top = join(h, root);
      if (!existsSync(top)) continue;
      const dirs: string[] = [];
      const walk = (d: string) => {
        dirs.push(d);
        for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
      };
      try {
        walk(top);
      } catch {
        continue;
      }
      for (const d of dirs.sort((a, b) => b.length - a.length)) {
        try {
          for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
            try {
              process.kill(Number(pid), 'SIGKILL');
            } catch {
              /* gone */
            }
          }
        } catch {
          /* no procs file */
        }
        try {
          rmdirSync(d);
        } catch {
          left++;
        }
      }
    }
    if (left === 0) return;
    syncSleep(250);
  }
}

/** Removes what a dead run's real node left: its pods' network namespaces and processes, its cgroups, its mounts. */
export function removeDeadNodes(prefix: string, tmp: string): void {
  const roots = new Set<string>();
  for (const h of cgroupHierarchies()) {
    let names: string[] = [];
    try {
      names = readdirSync(h);
    } catch {
      continue;
    }
    for (const n of names) {
      const m = new RegExp(`^${prefix}(\\d+)-`).exec(n);
      if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) roots.add(`/${n}`);
    }
  }
  for (const root of roots) {
    for (const ns of podNamespacesOf(root)) deleteNamespace(ns);
    removeCgroupTree(root);
  }
  for (const d of readdirSync(tmp)) {
    const m = new RegExp(`^${prefix}(\\d+)-`).exec(d);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) unmountUnder(join(tmp, d));
  }
}
