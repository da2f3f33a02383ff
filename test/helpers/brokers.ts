/**
 * StreamBus-specific checks on top of test/helpers/pods.ts: render a claim with the project's own CLI, boot its
 * StatefulSet as pods, and ask the brokers what the contract says they answer (broker-contract.md §2, §9-10).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { manifestsOf, Pods, waitFor, type ImageStandIn } from './pods.js';
import { ROOT } from './tools.js';

const run = promisify(execFile);
type Obj = Record<string, any>;

/** `node dist/src/cli/main.js render FILE` (docs/render.md): the composed resources, Objects unwrapped. */
export async function renderClaim(file: string, extra: string[] = []): Promise<Obj[]> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'render', '-q', file, ...extra], {
    cwd: ROOT,
    maxBuffer: 32 * 1024 * 1024,
    timeout: 60_000,
  });
  return manifestsOf(stdout);
}

/** Writes `claim` (a parsed claim, changed by the test) to a temp file and renders it. */
export async function renderClaimObject(claim: Obj, extra: string[] = []): Promise<Obj[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-claim-'));
  const f = join(dir, 'claim.yaml');
  writeFileSync(f, stringify(claim));
  return renderClaim(f, extra);
}

export function readClaim(text: string): Obj {
  return parse(text) as Obj;
}

export function statefulSetOf(manifests: Obj[]): Obj {
  return manifests.find((m) => m.kind === 'StatefulSet')!;
}

export function containerPort(c: Obj, port: number | string): number {
  if (typeof port === 'number') return port;
  const p = (c.ports ?? []).find((x: Obj) => x.name === port);
  if (!p) throw new Error(`container ${c.name} has no port named ${port}`);
  return p.containerPort;
}

/** The pod's named ports, from the render (the client port may be the TLS sidecar's). */
export function brokerPorts(sts: Obj): { client: number; http: number; raft: number } {
  const cs: Obj[] = sts.spec.template.spec.containers;
  const named = (n: string) => {
    for (const c of cs) for (const p of c.ports ?? []) if (p.name === n) return p.containerPort as number;
    throw new Error(`no container port named ${n}`);
  };
  return { client: named('client'), http: named('http'), raft: named('raft') };
}

/** Is broker i the Raft leader, in its own admin API's view (`/api/v1/brokers` lists itself with "leader")? */
export async function isLeader(pods: Pods, i: number): Promise<boolean | undefined> {
  const { http } = brokerPorts(pods.sts);
  const r = await pods.agent!.get(`http://${pods.podIp(i)}:${http}/api/v1/brokers`, 2000);
  if (r.status !== 200 || !r.body) return undefined;
  try {
    const list = JSON.parse(r.body) as Obj[];
    const self = list.find((b) => b.id === i + 1);
    return self ? !!self.leader : undefined;
  } catch {
    return undefined;
  }
}

/** Ordinals of the running brokers that say they lead. */
export async function leaders(pods: Pods): Promise<number[]> {
  const out: number[] = [];
  await Promise.all(
    [...pods.pods.keys()].map(async (i) => {
      if (await isLeader(pods, i)) out.push(i);
    }),
  );
  return out.sort();
}

/** The port a client connects to on pod i (the client port of the pod, whoever serves it). */
export function clientPort(pods: Pods): number {
  return brokerPorts(pods.sts).client;
}

/** Pod i is Ready: every container's readinessProbe passes (httpGet 200, tcpSocket connects). */
export async function podReady(pods: Pods, i: number): Promise<boolean> {
  return (await podNotReady(pods, i)) === undefined;
}

/** Which container's readiness probe fails, and how (undefined: every probe passes). */
export async function podNotReady(pods: Pods, i: number): Promise<string | undefined> {
  for (const c of pods.sts.spec.template.spec.containers as Obj[]) {
    const p = c.readinessProbe;
    if (!p) continue;
    if (p.httpGet) {
      const url = `http://${pods.podIp(i)}:${containerPort(c, p.httpGet.port)}${p.httpGet.path}`;
      const r = await pods.agent!.get(url, (p.timeoutSeconds ?? 1) * 1000);
      if (r.status !== 200) return `container ${c.name}: GET ${url} answered ${r.status ?? r.error}`;
    } else if (p.tcpSocket) {
      const port = containerPort(c, p.tcpSocket.port);
      if (!(await pods.agent!.tcpOpen(pods.podIp(i), port, (p.timeoutSeconds ?? 1) * 1000))) return `container ${c.name}: TCP port ${port} closed`;
    }
  }
  return undefined;
}

/** Every running pod's client port accepts connections. */
export async function allClientPortsOpen(pods: Pods, ordinals = [...pods.pods.keys()]): Promise<boolean> {
  const port = clientPort(pods);
  const open = await Promise.all(ordinals.map((i) => pods.agent!.tcpOpen(pods.podIp(i), port)));
  return open.every(Boolean);
}

/** Every rendered probe of every container of pod i passes (httpGet: 200; tcpSocket: connects), or why not. */
export async function probeFailures(pods: Pods, i: number): Promise<string[]> {
  const bad: string[] = [];
  for (const c of pods.sts.spec.template.spec.containers as Obj[]) {
    for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const p = c[kind];
      if (!p) continue;
      if (p.httpGet) {
        const port = containerPort(c, p.httpGet.port);
        const url = `http://${pods.podIp(i)}:${port}${p.httpGet.path}`;
        const r = await pods.agent!.get(url, (p.timeoutSeconds ?? 1) * 1000);
        if (r.status !== 200) bad.push(`${c.name} ${kind} GET ${url}: ${r.status ?? r.error}`);
      } else if (p.tcpSocket) {
        const port = containerPort(c, p.tcpSocket.port);
        if (!(await pods.agent!.tcpOpen(pods.podIp(i), port))) bad.push(`${c.name} ${kind} tcp ${pods.podIp(i)}:${port}: closed`);
      } else if (p.exec) {
        bad.push(`${c.name} ${kind}: exec probes are not supported by the harness`);
      }
    }
  }
  return bad;
}

/** Runs the CLI in the node namespace. */
export async function cli(pods: Pods, bin: string, addr: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return pods.agent!.exec(bin, ['-b', addr, ...args], 20_000);
}

/** `topic create` then `topic list` against addr; throws with the CLI's output on failure. */
export async function cliRoundTrip(pods: Pods, bin: string, addr: string, topic: string): Promise<string> {
  const c = await cli(pods, bin, addr, ['topic', 'create', topic, '-p', '1', '-r', '1']);
  if (c.code !== 0) throw new Error(`topic create ${topic} via ${addr} failed (${c.code}): ${c.stdout}${c.stderr}`);
  const l = await cli(pods, bin, addr, ['topic', 'list']);
  if (l.code !== 0 || !l.stdout.includes(topic)) throw new Error(`topic list via ${addr} (${l.code}) lacks ${topic}: ${l.stdout}${l.stderr}`);
  return l.stdout;
}

export interface BootResult {
  quorumMs: number;
  leader: number;
  /** Pods restarted after StreamBus v1.0.1's start-up panic, as the kubelet restarts a crashed container. */
  restarts: string[];
}

/**
 * StreamBus v1.0.1 can panic while starting, when a peer's Raft message arrives before the broker's Raft node exists:
 * `nil pointer dereference` in `consensus.(*RaftNode).handleMessage` (node.go:333), called from the transport's
 * receiverLoop. Seen once, in the CI run of 2026-12-05 05:18 (brokerpods, minimal, a broker restarted after a kill).
 * In a cluster the kubelet restarts the container (restartPolicy Always) and the broker then joins.
 */
export const RAFT_STARTUP_PANIC = /panic: runtime error: invalid memory address or nil pointer dereference[\s\S]*consensus\.\(\*RaftNode\)\.handleMessage/;
export const MAX_CRASH_RESTARTS = 2;

/**
 * Waits (bounded) until every running broker's client port is open (the broker opens it only at quorum) and
 * exactly one broker leads; fails early, with the logs, when a container exits.
 */
export async function waitForQuorum(pods: Pods, since: number, boundMs: number): Promise<BootResult> {
  const restarts: string[] = [];
  const leader = await waitFor(`every client port open and exactly one leader (${pods.replicas} brokers)`, boundMs, async () => {
    const dead = pods.exited();
    if (dead.length) {
      const first = Number(/-(\d+)\//.exec(dead[0]!)?.[1] ?? 0);
      const log = pods.logs(first, 'broker', 40);
      // StreamBus v1.0.1's start-up race (see RAFT_STARTUP_PANIC): the kubelet restarts the container
      // (restartPolicy Always); so does this wait, for that panic only and at most MAX_CRASH_RESTARTS times a pod.
      const name = pods.podName(first);
      if (RAFT_STARTUP_PANIC.test(log) && restarts.filter((r) => r === name).length < MAX_CRASH_RESTARTS) {
        restarts.push(name);
        process.stderr.write(`[brokers] ${name}: the broker hit StreamBus v1.0.1's start-up panic (RaftNode.handleMessage before its Raft node exists); restarted as the kubelet would (restart ${restarts.filter((r) => r === name).length} of at most ${MAX_CRASH_RESTARTS})\n`);
        await pods.stop(first);
        pods.start(first);
        throw new Error(`${name} restarted after the start-up panic`);
      }
      throw new FatalWait(`${dead.join(', ')}; last log lines of ${name}:\n${pods.logs(first, 'broker', 12)}`);
    }
    const port = clientPort(pods);
    const closed: string[] = [];
    for (const i of pods.pods.keys()) if (!(await pods.agent!.tcpOpen(pods.podIp(i), port))) closed.push(pods.podName(i));
    if (closed.length) throw new Error(`client port ${port} still closed on ${closed.join(', ')}`);
    for (const i of pods.pods.keys()) {
      const why = await podNotReady(pods, i);
      if (why) throw new Error(`${pods.podName(i)} is not Ready (${why}); last log lines of its broker:\n${pods.logs(i, 'broker', 8)}`);
    }
    const l = await leaders(pods);
    if (l.length !== 1) throw new Error(`leaders: [${l.join(',')}]`);
    return l[0];
  });
  return { quorumMs: Date.now() - since, leader, restarts };
}

export interface TlsClientFiles {
  ghostunnel: string;
  cert: string;
  key: string;
  cacert: string;
}

/**
 * Where a client reaches broker i: its client port, or, when the pods serve TLS, a ghostunnel client tunnel on the
 * node namespace's loopback (the CLI speaks plain TCP) that verifies the pod's certificate for its DNS name and
 * presents the client certificate.
 */
export class Clients {
  private readonly tunnels = new Map<number, number>();
  constructor(
    private readonly pods: Pods,
    private readonly tls?: TlsClientFiles,
  ) {}

  async addr(i: number): Promise<string> {
    const direct = `${this.pods.podIp(i)}:${clientPort(this.pods)}`;
    if (!this.tls) return direct;
    let port = this.tunnels.get(i);
    if (!port) {
      port = 40000 + i;
      this.pods.spawnInNode(
        this.tls.ghostunnel,
        ['client', `--listen=127.0.0.1:${port}`, `--target=${direct}`, `--cert=${this.tls.cert}`, `--key=${this.tls.key}`, `--cacert=${this.tls.cacert}`, `--override-server-name=${this.pods.podFqdn(i)}`],
        `tunnel-${i}`,
      );
      const p = port;
      await waitFor(`the TLS client tunnel to ${this.pods.podName(i)}`, 15_000, async () => ((await this.pods.agent!.tcpOpen('127.0.0.1', p)) ? true : undefined));
      this.tunnels.set(i, port);
    }
    return `127.0.0.1:${port}`;
  }
}

/** Test-made contents for every Secret the StatefulSet mounts (by volume role), from a PKI. */
export function testSecrets(sts: Obj, pki: { serverCert: Buffer; serverKey: Buffer; ca: Buffer }): Record<string, Record<string, string | Buffer>> {
  const out: Record<string, Record<string, string | Buffer>> = {};
  for (const v of sts.spec.template.spec.volumes ?? []) {
    if (!v.secret) continue;
    const name = v.secret.secretName;
    if (v.name === 'tls') out[name] = { 'tls.crt': pki.serverCert, 'tls.key': pki.serverKey, 'ca.crt': pki.ca };
    else if (v.name === 'tls-ca') out[name] = { 'ca.crt': pki.ca };
    else if (v.name === 'jwt') out[name] = { secret: 'test-jwt-signing-secret' };
    else if (v.name === 'sasl') out[name] = { users: 'test:test' };
    else throw new Error(`no test contents for Secret volume ${v.name}`);
  }
  return out;
}

/** An error that ends a wait at once (a container exited). */
export class FatalWait extends Error {
  readonly fatal = true;
}

export type { ImageStandIn };
