/**
 * Runs a container image as a container runtime would, with no Docker and no registry: the image's docker-archive
 * (scripts/build-images.sh) is unpacked layer by layer into a root filesystem, an OCI runtime bundle is made from
 * `runc spec` plus the image's own config (entrypoint, cmd, env, working directory), and `runc run` starts it in a
 * network namespace of this run, joined to the host by a veth pair with a /32 address on each side derived from the
 * test's pid (so concurrent runs never share an address, a name or a port).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Obj = Record<string, any>;

function sh(cmd: string, args: string[], opts: { input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, input: opts.input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface Image {
  ref: string;
  /** The image config (docker-archive config JSON: `config.Entrypoint`, `config.User`, ...). */
  config: Obj;
  rootfs: string;
  /** Every path in the root filesystem (relative, no leading slash). */
  paths: Set<string>;
}

/** Unpacks a docker-archive into `dir/rootfs`. Refuses layers with whiteouts (these images have none). */
export function unpack(archive: string, dir: string): Image {
  const manifest = JSON.parse(sh('tar', ['-xOf', archive, 'manifest.json']))[0] as Obj;
  const config = JSON.parse(sh('tar', ['-xOf', archive, manifest.Config])) as Obj;
  const layers = join(dir, 'layers');
  const rootfs = join(dir, 'rootfs');
  mkdirSync(layers, { recursive: true });
  mkdirSync(rootfs, { recursive: true });
  sh('tar', ['-xf', archive, '-C', layers, ...manifest.Layers]);
  const paths = new Set<string>();
  for (const l of manifest.Layers as string[]) {
    for (const p of sh('tar', ['-tf', join(layers, l)]).split('\n').filter(Boolean)) {
      if (/(^|\/)\.wh\./.test(p)) throw new Error(`layer ${l} has a whiteout (${p}): not handled here`);
      paths.add(p.replace(/^\.?\//, '').replace(/\/$/, ''));
    }
    sh('tar', ['-xf', join(layers, l), '-C', rootfs, '--same-owner', '--numeric-owner']);
  }
  rmSync(layers, { recursive: true, force: true });
  return { ref: manifest.RepoTags?.[0], config, rootfs, paths };
}

export interface RunOptions {
  uid: number;
  gid: number;
  /** Extra environment, after the image's. */
  env?: string[];
  /** Read-only bind mounts: container path -> host path. */
  binds?: Record<string, string>;
  /** Writable bind mounts: container path -> host path. */
  volumes?: Record<string, string>;
  /** Names /etc/hosts gives the container's address (bind-mounted read-only, as the kubelet does). */
  hostnames?: string[];
  /** The container's args instead of the image's entrypoint+cmd (Kubernetes' command+args). */
  args?: string[];
  /** Join this existing network namespace (e.g. a control plane's) instead of making one; `ip` is then 127.0.0.1. */
  netns?: string;
  /** With `netns`: the address to report (default 127.0.0.1). */
  netnsIp?: string;
  /** Where runc's output goes (default: collected in `logs`). */
  logFd?: number;
}

export interface Container {
  id: string;
  /** The container's address, reachable from the host. */
  ip: string;
  proc: ChildProcess;
  logs: string[];
  exited: Promise<number | null>;
  /** `runc kill ID SIGNAL`. */
  kill(signal: string): void;
  /** Kills what is left and removes the container, bundle, runc state and network namespace. */
  destroy(): void;
}

let seq = 0;

/**
 * Starts the unpacked image as Kubernetes would with this security context: user uid:gid, read-only root
 * filesystem, no capabilities at all, no new privileges, the image's entrypoint+cmd, env and working directory.
 */
export function runContainer(image: Image, opts: RunOptions): Container {
  const n = seq++;
  if (n > 3 && !opts.netns) throw new Error('at most 4 containers with their own network per test process (addresses are derived from the pid)');
  const pid = process.pid;
  const id = `sb-img-${pid}-${n}`;
  const ns = `sbimg${pid}-${n}`;
  const host = `sbi${pid}h${n}`;
  const peer = `sbi${pid}c${n}`;
  // 10.216-10.223 . pid>>8 . pid&255: /32 routes, one pair per (pid, n); pid_max here is 32768.
  const hi = (pid >> 8) & 255;
  const lo = pid & 255;
  const hostIp = `10.${216 + 2 * n}.${hi}.${lo}`;
  const ip = opts.netns ? (opts.netnsIp ?? '127.0.0.1') : `10.${217 + 2 * n}.${hi}.${lo}`;
  const bundle = mkdtempSync(join(tmpdir(), `sb-bundle-${pid}-`));
  const state = join(bundle, 'runc-state');
  let nsMade = false;
  const destroy = () => {
    spawnSync('runc', ['--root', state, 'kill', id, 'KILL']);
    spawnSync('runc', ['--root', state, 'delete', '--force', id]);
    if (nsMade) spawnSync('ip', ['netns', 'del', ns]);
    if (nsMade) spawnSync('ip', ['link', 'del', host]);
    rmSync(bundle, { recursive: true, force: true });
  };
  try {
    if (!opts.netns) {
      sh('ip', ['netns', 'add', ns]);
      nsMade = true;
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer, 'netns', ns]);
      sh('ip', ['addr', 'add', `${hostIp}/32`, 'dev', host]);
      sh('ip', ['link', 'set', host, 'up']);
      sh('ip', ['route', 'add', `${ip}/32`, 'dev', host, 'src', hostIp]);
      sh('ip', ['-n', ns, 'addr', 'add', `${ip}/32`, 'dev', peer]);
      sh('ip', ['-n', ns, 'link', 'set', peer, 'up']);
      sh('ip', ['-n', ns, 'route', 'add', `${hostIp}/32`, 'dev', peer, 'src', ip]);
    }

    sh('runc', ['spec', '--bundle', bundle]);
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as Obj;
    const c = image.config.config as Obj;
    spec.root = { path: image.rootfs, readonly: true };
    spec.hostname = 'function';
    spec.process.terminal = false;
    spec.process.user = { uid: opts.uid, gid: opts.gid, additionalGids: [opts.gid] };
    spec.process.args = opts.args ?? [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
    spec.process.env = [...(c.Env ?? []), ...(opts.env ?? [])];
    spec.process.cwd = c.WorkingDir || '/';
    spec.process.noNewPrivileges = true;
    spec.process.capabilities = { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] };
    for (const [dest, src] of Object.entries(opts.binds ?? {})) {
      spec.mounts.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'ro', 'nosuid', 'nodev'] });
    }
    for (const [dest, src] of Object.entries(opts.volumes ?? {})) {
      spec.mounts.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'rw', 'nosuid', 'nodev'] });
    }
    if (opts.hostnames) {
      writeFileSync(join(bundle, 'hosts'), `127.0.0.1 localhost\n${ip} ${opts.hostnames.join(' ')}\n`);
      spec.mounts.push({ destination: '/etc/hosts', type: 'bind', source: join(bundle, 'hosts'), options: ['rbind', 'ro'] });
    }
    spec.linux.namespaces = (spec.linux.namespaces as Obj[]).map((x) => (x.type === 'network' ? { type: 'network', path: `/run/netns/${opts.netns ?? ns}` } : x));
    spec.linux.cgroupsPath = `/${id}`;
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
  } catch (e) {
    destroy();
    throw e;
  }
  const out = opts.logFd ?? 'pipe';
  const proc = spawn('runc', ['--root', state, 'run', '--bundle', bundle, id], { stdio: ['ignore', out, out] });
  const logs: string[] = [];
  proc.stdout?.on('data', (b: Buffer) => logs.push(...b.toString().split('\n').filter(Boolean)));
  proc.stderr?.on('data', (b: Buffer) => logs.push(...b.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    id,
    ip,
    proc,
    logs,
    exited,
    kill: (signal) => {
      sh('runc', ['--root', state, 'kill', id, signal]);
    },
    destroy,
  };
}

/** A scratch folder for a run's bundles and unpacked images. */
export function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-${process.pid}-`));
}
