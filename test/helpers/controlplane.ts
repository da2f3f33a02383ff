/**
 * A real Kubernetes control plane with a real Crossplane, for end-to-end tests (no Docker, no cluster).
 *
 * Everything runs as root in network namespaces this harness makes and deletes (`sbcp-<pid>-<n>`): etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler, kwok (fake nodes whose pods it marks Running), an OCI
 * registry, Crossplane core (External package runtime) and the function itself share the control-plane namespace on
 * 127.0.0.1; Crossplane's RBAC manager and provider-kubernetes each get a namespace of their own (both bind :8080,
 * which cannot be changed by flag), joined to it by a veth pair. Crossplane, its RBAC manager and the provider run as
 * their ServiceAccounts, with the token mounted where in-cluster clients look for it (a private mount namespace), and
 * with the ClusterRoles of Crossplane's own Helm chart (rendered from the chart in Crossplane's module) and the
 * project's deploy/ manifests: RBAC as a real install has it.
 *
 * The function is installed the way a platform team installs it: its package built by `crossplane xpkg build`, pushed
 * to the local registry and pulled by Crossplane; the harness plays the External runtime (signs the function's serving
 * certificate with Crossplane's CA, starts it, reports the endpoint on the FunctionRevision). Crossplane calls it with
 * its own client certificate.
 *
 * Tear-down (processes, namespaces, files) runs from stop(), and also from process exit and signal handlers, so an
 * interrupted or failed run leaves nothing behind; start() first removes what a dead earlier run may have left.
 * Tools come from scripts/install-tools.sh (`controlplane`). Versions: see that script.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { deadRunNamespaces, deleteNamespace, pidAlive, removeDeadNodes, unmountUnder } from './netns.js';
import { runContainer, unpack, type Container } from './oci.js';
import { IN_CI, ROOT, TOOLS_BIN, toolPath } from './tools.js';

type Obj = Record<string, any>;

export const CROSSPLANE_VERSION = 'v2.2.1';
export const CONTROL_PLANE_TOOLS = [
  'etcd',
  'kube-apiserver',
  'kubectl',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  'crossplane-core',
  'crossplane',
  'registry',
  'provider-kubernetes',
];
const CROSSPLANE_DATA = join(ROOT, '.tools', `crossplane-${CROSSPLANE_VERSION}`);
const PROVIDER_CRDS = join(ROOT, '.tools', 'crds', 'provider-kubernetes-v1.2.1');
const PROMETHEUS_CRDS = join(ROOT, '.tools', 'crds', 'prometheus-operator-v0.85.0');
const KWOK_STAGES = join(ROOT, '.tools', 'kwok-v0.7.0', 'stages');
/** How long kwok takes to make a pod Ready (ms, plus up to POD_READY_JITTER_MS): long enough to see a roll. */
export const POD_READY_DELAY_MS = 3000;
export const POD_READY_JITTER_MS = 2000;
const NS_PREFIX = 'sbcp-';
export const FUNCTION_PORT = 9444;
export const REGISTRY = '127.0.0.1:5000';

/** True when this machine can run the control plane; otherwise says why loudly, and throws under CI=true. */
export function controlPlaneAvailable(): boolean {
  const missing = CONTROL_PLANE_TOOLS.filter((t) => !toolPath(t));
  const data = [join(CROSSPLANE_DATA, 'crds'), join(CROSSPLANE_DATA, 'chart'), PROVIDER_CRDS, PROMETHEUS_CRDS, KWOK_STAGES].filter((p) => !existsSync(p));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing tools in .tools/bin: ${missing.join(', ')}`);
  if (data.length) problems.push(`missing data: ${data.join(', ')}`);
  if (process.getuid?.() !== 0) problems.push('not root (network namespaces need root)');
  if (spawnSync('ip', ['-V']).status !== 0) problems.push('no `ip` (iproute2)');
  if (spawnSync('openssl', ['version']).status !== 0) problems.push('no openssl');
  if (problems.length === 0) return true;
  const msg = `the real control plane cannot run (run scripts/install-tools.sh controlplane): ${problems.join('; ')}`;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  process.stderr.write(`\n!!!!!!!!!! SKIPPED: ${msg} !!!!!!!!!!\n\n`);
  return false;
}

export interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded), never throwing; stdout/stderr as text. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Exec> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${opts.timeoutMs ?? 120_000} ms]`;
      p.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    p.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err) });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    p.stdin.on('error', () => undefined); // a command that exits before reading its input
    p.stdin.end(opts.input ?? '');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value that is not undefined/false, or throws after `timeoutMs` with `what` and the last state. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 1000, last?: () => Promise<string> | string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? `\nlast seen: ${await last()}` : ''}`);
    await sleep(intervalMs);
  }
}

// ----------------------------------------------------------------------------------------------- cleanup
interface Owned {
  namespaces: string[];
  procs: ChildProcess[];
  dir: string;
  /** Synchronous clean-ups, run first (containers (runc) to remove; a real node's processes, pod namespaces, cgroups, sysctls). */
  cleanups?: (() => void)[];
}
const live = new Set<Owned>();

function killAll(o: Owned, signal: NodeJS.Signals): void {
  for (const p of o.procs) {
    if (p.pid && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(-p.pid, signal);
      } catch {
        /* gone */
      }
    }
  }
}

/** Synchronous, idempotent: safe from an exit handler. */
function destroySync(o: Owned): void {
  for (const c of o.cleanups?.splice(0) ?? []) {
    try {
      c();
    } catch (err) {
      process.stderr.write(`clean-up failed: ${String(err)}\n`);
    }
  }
  killAll(o, 'SIGKILL');
  for (const ns of o.namespaces) deleteNamespace(ns);
  unmountUnder(o.dir);
  rmSync(o.dir, { recursive: true, force: true });
  live.delete(o);
}

let handlersInstalled = false;
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const o of [...live]) destroySync(o);
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const o of [...live]) destroySync(o);
      process.exit(130);
    });
  }
}

/** Removes namespaces (and their processes and files) left by earlier runs whose process is gone. */
function removeStale(): void {
  removeDeadNodes(NS_PREFIX, tmpdir());
  for (const { ns } of deadRunNamespaces(NS_PREFIX)) deleteNamespace(ns);
  for (const d of readdirSync(tmpdir())) {
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(d);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(tmpdir(), d), { recursive: true, force: true });
  }
}

// ----------------------------------------------------------------------------------------------- PKI
function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

export function signLeaf(dir: string, name: string, cn: string, caName: string, ext: string, subjectExtra = ''): void {
  writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n${ext}\n`);
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `${subjectExtra}/CN=${cn}`);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
}

// ----------------------------------------------------------------------------------------------- chart RBAC
/**
 * Renders the few Helm constructs Crossplane's RBAC templates use (values of the chart's defaults: rbacManager.deploy
 * true, skipAggregatedClusterRoles false, serviceAccount.create true). Anything else fails loudly.
 */
export function renderChartTemplate(text: string, namespace: string): string {
  const out: string[] = [];
  const stack: boolean[] = [];
  const active = () => stack.every(Boolean);
  const cond: Record<string, boolean> = {
    '.Values.rbacManager.deploy': true,
    'not .Values.rbacManager.skipAggregatedClusterRoles': true,
    'not .Values.serviceAccount.create': false,
  };
  for (const line of text.split('\n')) {
    const t = line.trim();
    const iff = /^\{\{-?\s*if (.+?)\s*-?\}\}$/.exec(t);
    if (iff) {
      if (!(iff[1]! in cond)) throw new Error(`chart: unsupported condition ${iff[1]}`);
      stack.push(cond[iff[1]!]!);
      continue;
    }
    if (/^\{\{-?\s*else\s*-?\}\}$/.test(t)) {
      stack.push(!stack.pop()!);
      continue;
    }
    if (/^\{\{-?\s*end\s*-?\}\}$/.test(t)) {
      stack.pop();
      continue;
    }
    if (!active()) continue;
    if (/^\{\{-?\s*include "crossplane\.labels"/.test(t)) continue;
    const rendered = line.replaceAll('{{ template "crossplane.name" . }}', 'crossplane').replaceAll('{{ .Release.Namespace }}', namespace);
    if (rendered.includes('{{')) throw new Error(`chart: unsupported template in: ${line}`);
    out.push(rendered);
  }
  return out.join('\n');
}

// ----------------------------------------------------------------------------------------------- the control plane
export interface ComponentNs {
  /** The namespace's name. */
  ns: string;
  /** Its address on the veth pair (as the apiserver sees it). */
  ip: string;
  /** The control plane's address on the same pair. */
  apiserverIp: string;
}

/** How the harness runs Crossplane. */
export interface ControlPlaneOptions {
  /**
   * Crossplane's XR circuit breaker: its defaults (`default`: burst 100 watch events, refill 1/s, 5 min open) or the
   * raised flags docs/install.md describes (`tuned`: burst 1000, refill 20/s). Default `tuned`: in Object mode the
   * defaults open on every new cluster (provider-kubernetes' writes to each Object, counted several times by
   * Crossplane v2.2.1; bench/RESULTS.md), and the Object-mode tests follow rolls and replaced pods second by second.
   * Direct mode keeps the defaults (test/e2e/scale.test.ts runs it with `default`).
   */
  circuitBreaker?: 'default' | 'tuned';
  /** Crossplane's --debug: its log then names the composed resource of each watch event it maps to an XR. */
  crossplaneDebug?: boolean;
  /**
   * How Crossplane runs Functions. `External` (default): Crossplane deploys nothing and the harness plays the runtime
   * (installFunction). `Deployment`: Crossplane's default package runtime (`--package-runtime
   * Function=Deployment;Provider=External`: providers stay out of band), which makes a Deployment, a headless
   * Service and TLS Secrets of its own for each FunctionRevision: it needs a real node to run the pod
   * (test/helpers/node.ts) and cluster DNS to resolve the Service, so Crossplane then reads a resolv.conf of this run
   * (bind-mounted over /etc/resolv.conf in its private mount namespace; a copy of the host's until useClusterDns).
   */
  functionRuntime?: 'External' | 'Deployment';
  /**
   * kube-controller-manager's client rate (`--kube-api-qps`, burst twice that). Unset: its default, 20 per second
   * (burst 30). Binding a claim to a volume takes its PV controller about four writes, so 680 claims at once wait about
   * 2 minutes on that rate alone (bench/scale.ts --kcm-qps).
   */
  controllerManagerQps?: number;
}

export interface FunctionInstallOptions {
  /** The Function package file to push (default: scripts/build-xpkg.sh's, without a runtime). */
  xpkg?: string;
  /** Play the runtime by running the package's own image (its embedded runtime) with runc, not the built dist/. */
  runImage?: boolean;
  /**
   * Another function than function-streambus (the scale benchmark's function-go-templating): `xpkg` is then its
   * package, pushed as `ref`; `start` starts its process (serving certificate folder, port) and `port` is where it
   * serves, in the control plane's namespace.
   */
  other?: { ref: string; port: number; start: (certs: string, port: number) => ChildProcess };
}

export class ControlPlane {
  readonly id: string;
  readonly options: Required<Omit<ControlPlaneOptions, 'controllerManagerQps'>> & Pick<ControlPlaneOptions, 'controllerManagerQps'>;
  /** The FunctionRevision installFunction made, once the Function was Healthy. */
  functionRevision?: Obj;
  /** The function's container, when installFunction ran the package's image. */
  functionContainer?: Container;
  readonly ns: string;
  readonly dir: string;
  readonly kubeconfig: string;
  private readonly owned: Owned;
  private readonly logs = new Map<string, string>();
  private readonly procs = new Map<string, ChildProcess>();
  private linkCount = 0;
  /** Milliseconds each start-up phase took, for the test's report. */
  readonly timings: Record<string, number> = {};

  private constructor(options: ControlPlaneOptions) {
    this.options = {
      circuitBreaker: options.circuitBreaker ?? 'tuned',
      crossplaneDebug: options.crossplaneDebug ?? false,
      functionRuntime: options.functionRuntime ?? 'External',
      ...(options.controllerManagerQps ? { controllerManagerQps: options.controllerManagerQps } : {}),
    };
    this.id = `${process.pid}-${Date.now() % 100000}`;
    this.ns = `${NS_PREFIX}${this.id}`;
    this.dir = mkdtempSync(join(tmpdir(), `${NS_PREFIX}${this.id}-`));
    this.kubeconfig = join(this.dir, 'admin.kubeconfig');
    this.owned = { namespaces: [this.ns], procs: [], dir: this.dir, cleanups: [] };
  }

  /** Starts etcd, Kubernetes, kwok, Crossplane (core + RBAC manager) and provider-kubernetes; ready to take packages. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    installExitHandlers();
    removeStale();
    const cp = new ControlPlane(options);
    live.add(cp.owned);
    try {
      await cp.boot();
      return cp;
    } catch (err) {
      process.stderr.write(cp.logTails());
      await cp.stop();
      throw err;
    }
  }

  private async phase<T>(name: string, f: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    const v = await f();
    this.timings[name] = Date.now() - t0;
    return v;
  }

  private async boot(): Promise<void> {
    await this.phase('network', async () => this.netns());
    await this.phase('pki', async () => this.pki());
    await this.phase('etcd+apiserver', async () => {
      this.startEtcd();
      await this.waitPort(2379, 'etcd');
      this.startApiserver();
      await waitFor('the apiserver to be ready', async () => (await this.kubectl(['get', '--raw', '/readyz'])).stdout.trim() === 'ok', 60_000, 500);
    });
    await this.phase('controllers+kwok', async () => {
      this.startControllers();
      await this.apply(
        [0, 1, 2, 3, 4].map((i) => ({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ['crossplane-system', 'default', 'development', 'production', 'platform'][i] },
        })),
      );
    });
    await this.phase('crossplane', async () => this.installCrossplane());
    await this.phase('provider-kubernetes', async () => this.installProvider());
    await this.phase('registry', async () => {
      this.spawn('registry', this.ns, [join(TOOLS_BIN, 'registry'), '-port', '5000']);
      await this.waitPort(5000, 'the registry');
    });
  }

  // --------------------------------------------------------------------------- processes
  /**
   * Starts a long-running process in namespace `ns`, logging to <dir>/logs/<name>.log, in its own process group.
   * `netOnly`: enter only the network namespace (`nsenter --net`), not `ip netns exec`'s remount of /sys, which hides
   * the cgroup mounts a kubelet or containerd needs.
   */
  spawn(name: string, ns: string, cmd: string[], env: NodeJS.ProcessEnv = {}, opts: { netOnly?: boolean } = {}): ChildProcess {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    const log = join(this.dir, 'logs', `${name}.log`);
    const fd = openSync(log, 'a');
    const enter = opts.netOnly ? ['nsenter', `--net=/run/netns/${ns}`, '--'] : ['ip', 'netns', 'exec', ns];
    const p = spawn(enter[0]!, [...enter.slice(1), ...cmd], { detached: true, stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH, HOME: this.dir, ...env } });
    closeSync(fd);
    this.logs.set(name, log);
    this.procs.set(name, p);
    this.owned.procs.push(p);
    return p;
  }

  /** Stops one process started by spawn (SIGTERM, SIGKILL after 10 s). */
  async kill(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p?.pid || p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise((r) => p.once('exit', r));
    try {
      process.kill(-p.pid, 'SIGTERM');
    } catch {
      return;
    }
    const t = setTimeout(() => {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 10_000);
    await done;
    clearTimeout(t);
  }

  /**
   * The command prefix that runs a process as ServiceAccount `sa` with in-cluster configuration; with `resolvConf`,
   * that file is bind-mounted over /etc/resolv.conf too (in the same private mount namespace).
   */
  private asServiceAccount(sa: string, tokenDir: string, apiserverIp: string, resolvConf?: string): { prefix: string[]; env: NodeJS.ProcessEnv } {
    return {
      prefix: [
        'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
        'mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && ' +
          'mount --bind "$0" /run/secrets/kubernetes.io/serviceaccount && ' +
          (resolvConf ? `mount --bind ${JSON.stringify(resolvConf)} /etc/resolv.conf && ` : '') +
          'exec "$@"',
        tokenDir,
      ],
      env: { KUBERNETES_SERVICE_HOST: apiserverIp, KUBERNETES_SERVICE_PORT: '6443', POD_SERVICE_ACCOUNT: sa },
    };
  }

  private async waitPort(port: number, what: string, ns = this.ns): Promise<void> {
    await waitFor(`${what} on port ${port}`, async () => (await run('ip', ['netns', 'exec', ns, 'bash', '-c', `echo > /dev/tcp/127.0.0.1/${port}`])).code === 0, 60_000, 300, () => this.logTail(what));
  }

  // --------------------------------------------------------------------------- kubectl
  async kubectl(args: string[], input?: string, timeoutMs = 60_000): Promise<Exec> {
    return run('ip', ['netns', 'exec', this.ns, join(TOOLS_BIN, 'kubectl'), '--kubeconfig', this.kubeconfig, ...args], { input, timeoutMs });
  }

  /** kubectl that must succeed. */
  async k(args: string[], input?: string): Promise<string> {
    const r = await this.kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** Server-side apply of objects or YAML text. */
  async apply(docs: Obj[] | string, extra: string[] = []): Promise<string> {
    const text = typeof docs === 'string' ? docs : docs.map((d) => stringify(d)).join('---\n');
    return this.k(['apply', '--server-side', '--force-conflicts', '--field-manager=e2e', ...extra, '-f', '-'], text);
  }

  /**
   * Waits until the named CRDs (default: all) are Established. Polls instead of `kubectl wait`, which fails outright
   * on a CRD that has no status yet (`.status.conditions accessor error`).
   */
  async crdsEstablished(names?: string[]): Promise<void> {
    await waitFor(`CRDs Established${names ? `: ${names.join(', ')}` : ''}`, async () => {
      const items = await this.list('customresourcedefinitions');
      const want = names ? items.filter((c) => names.includes(c.metadata.name)) : items;
      if (names && want.length < names.length) return false;
      return want.every((c) => ((c.status?.conditions ?? []) as Obj[]).some((x) => x.type === 'Established' && x.status === 'True'));
    }, 60_000, 500);
  }

  /** `kubectl get -o json`, or undefined when not found. */
  async get(resource: string, name: string, namespace?: string): Promise<Obj | undefined> {
    const r = await this.kubectl(['get', resource, name, '-o', 'json', ...(namespace ? ['-n', namespace] : [])]);
    if (r.code !== 0) {
      if (/NotFound|not found/.test(r.stderr)) return undefined;
      throw new Error(`kubectl get ${resource} ${name}: ${r.stderr}`);
    }
    return JSON.parse(r.stdout) as Obj;
  }

  async list(resource: string, namespace?: string, selector?: string): Promise<Obj[]> {
    const out = await this.k(['get', resource, '-o', 'json', ...(namespace ? ['-n', namespace] : ['-A']), ...(selector ? ['-l', selector] : [])]);
    return (JSON.parse(out) as Obj).items as Obj[];
  }

  // --------------------------------------------------------------------------- network and PKI
  private netns(): void {
    const ip = (...a: string[]) => {
      const r = spawnSync('ip', a, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
    };
    ip('netns', 'add', this.ns);
    ip('-n', this.ns, 'link', 'set', 'lo', 'up');
  }

  /** The resolv.conf Crossplane reads when it runs Functions with the Deployment runtime (see ControlPlaneOptions). */
  get resolvConf(): string {
    return join(this.dir, 'crossplane-resolv.conf');
  }

  /**
   * Points Crossplane's resolver at a cluster DNS server (CoreDNS of a real node), so that it resolves the headless
   * Service of a function's Deployment (`dns:///NAME.crossplane-system:9443`) to the function pod's address. The
   * file is rewritten in place (same inode, so the bind mount sees it); Go's resolver re-reads it within 5 s.
   */
  useClusterDns(nameserver: string): void {
    if (this.options.functionRuntime !== 'Deployment') return;
    writeFileSync(this.resolvConf, `nameserver ${nameserver}\nsearch crossplane-system.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`);
  }

  /** Registers a synchronous clean-up, run by stop() (and the exit handlers) after the processes are killed. */
  onStop(f: () => void): void {
    (this.owned.cleanups ??= []).push(f);
  }

  /** A namespace of its own for one component, joined to the control plane's by a veth pair (a /30). */
  componentNs(suffix: string): ComponentNs {
    const n = this.linkCount++;
    const ns = `${this.ns}-${suffix}`;
    this.owned.namespaces.push(ns);
    const ip = (...a: string[]) => {
      const r = spawnSync('ip', a, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
    };
    const base = 4 * n;
    const cpIp = `10.213.${this.subnet()}.${base + 1}`;
    const compIp = `10.213.${this.subnet()}.${base + 2}`;
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', this.ns, 'link', 'add', `v${n}a`, 'type', 'veth', 'peer', 'name', `v${n}b`, 'netns', ns);
    ip('-n', this.ns, 'addr', 'add', `${cpIp}/30`, 'dev', `v${n}a`);
    ip('-n', this.ns, 'link', 'set', `v${n}a`, 'up');
    ip('-n', ns, 'addr', 'add', `${compIp}/30`, 'dev', `v${n}b`);
    ip('-n', ns, 'link', 'set', `v${n}b`, 'up');
    return { ns, ip: compIp, apiserverIp: cpIp };
  }

  /** The third octet of this run's addresses (only inside namespaces this run made). */
  subnet(): number {
    return process.pid % 250;
  }

  private pki(): void {
    const d = join(this.dir, 'pki');
    mkdirSync(d);
    openssl(d, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=streambus-e2e-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    const sans = ['IP:127.0.0.1', 'IP:10.0.0.1', 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc'];
    for (let n = 0; n < 4; n++) sans.push(`IP:10.213.${this.subnet()}.${4 * n + 1}`);
    signLeaf(d, 'apiserver', 'kube-apiserver', 'ca', `extendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}`);
    signLeaf(d, 'admin', 'e2e-admin', 'ca', 'extendedKeyUsage=clientAuth', '/O=system:masters');
    openssl(d, 'genrsa', '-out', 'sa.key', '2048');
    openssl(d, 'rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
    const b64 = (f: string) => readFileSync(join(d, f)).toString('base64');
    writeFileSync(
      this.kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'e2e', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': b64('ca.crt') } }],
        users: [{ name: 'admin', user: { 'client-certificate-data': b64('admin.crt'), 'client-key-data': b64('admin.key') } }],
        contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'admin' } }],
        'current-context': 'e2e',
      }),
    );
  }

  // --------------------------------------------------------------------------- Kubernetes
  private startEtcd(): void {
    const bin = join(TOOLS_BIN, 'etcd');
    this.spawn('etcd', this.ns, [bin, '--data-dir', join(this.dir, 'etcd'), '--listen-client-urls', 'http://127.0.0.1:2379',
      '--advertise-client-urls', 'http://127.0.0.1:2379', '--listen-peer-urls', 'http://127.0.0.1:2380',
      '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster', 'default=http://127.0.0.1:2380',
      '--unsafe-no-fsync', '--log-level', 'warn']);
  }

  private startApiserver(): void {
    const p = (f: string) => join(this.dir, 'pki', f);
    this.spawn('kube-apiserver', this.ns, [join(TOOLS_BIN, 'kube-apiserver'), '--etcd-servers=http://127.0.0.1:2379',
      '--bind-address=0.0.0.0', '--advertise-address=127.0.0.1', '--secure-port=6443',
      `--tls-cert-file=${p('apiserver.crt')}`, `--tls-private-key-file=${p('apiserver.key')}`, `--client-ca-file=${p('ca.crt')}`,
      `--service-account-key-file=${p('sa.pub')}`, `--service-account-signing-key-file=${p('sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local', '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=Node,RBAC', '--endpoint-reconciler-type=none',
      // For a real node (test/helpers/node.ts): reach kubelets by their InternalIP (node names do not resolve here) and
      // authenticate to them (logs, exec) with the admin client certificate.
      '--kubelet-preferred-address-types=InternalIP,Hostname', `--kubelet-client-certificate=${p('admin.crt')}`, `--kubelet-client-key=${p('admin.key')}`,
      '--v=1']);
  }

  private startControllers(): void {
    const p = (f: string) => join(this.dir, 'pki', f);
    this.spawn('kube-controller-manager', this.ns, [join(TOOLS_BIN, 'kube-controller-manager'), `--kubeconfig=${this.kubeconfig}`,
      '--leader-elect=false', '--bind-address=127.0.0.1', `--service-account-private-key-file=${p('sa.key')}`, `--root-ca-file=${p('ca.crt')}`,
      '--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle-controller', '--v=1',
      ...(this.options.controllerManagerQps ? [`--kube-api-qps=${this.options.controllerManagerQps}`, `--kube-api-burst=${2 * this.options.controllerManagerQps}`] : [])]);
    this.spawn('kube-scheduler', this.ns, [join(TOOLS_BIN, 'kube-scheduler'), `--kubeconfig=${this.kubeconfig}`, '--leader-elect=false', '--bind-address=127.0.0.1', '--v=1']);
    this.spawn('kwok', this.ns, [join(TOOLS_BIN, 'kwok'), `--kubeconfig=${this.kubeconfig}`, '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake', '--cidr=10.244.0.1/24', '--node-ip=10.244.0.1',
      '--node-lease-duration-seconds=40', `--config=${this.kwokConfig()}`]);
  }

  /**
   * kwok's own "general" pod stages (from its module), with the Ready stage taking POD_READY_DELAY_MS plus up to
   * POD_READY_JITTER_MS: with kwok's default "fast" stages a pod is Ready within milliseconds, so a rolling update or
   * a replaced pod is over before anything can observe it. Node stages stay kwok's defaults.
   */
  private kwokConfig(): string {
    const docs = readdirSync(KWOK_STAGES).filter((f) => f.endsWith('.yaml')).sort().map((f) => {
      const stage = parseAllDocuments(readFileSync(join(KWOK_STAGES, f), 'utf8'))[0]!.toJS() as Obj;
      if (stage.metadata?.name === 'pod-ready') {
        stage.spec.delay = { ...stage.spec.delay, durationMilliseconds: POD_READY_DELAY_MS, jitterDurationMilliseconds: POD_READY_DELAY_MS + POD_READY_JITTER_MS };
      }
      return stringify(stage);
    });
    const file = join(this.dir, 'kwok.yaml');
    writeFileSync(file, docs.join('---\n'));
    return file;
  }

  /** Fake nodes (kwok marks their pods Running and Ready), with labels and taints. */
  async addNodes(nodes: { name: string; labels?: Record<string, string>; taints?: Obj[]; cpu?: string; memory?: string }[]): Promise<void> {
    await this.apply(
      nodes.map((n) => ({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: n.name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok', ...(n.labels ?? {}) },
        },
        spec: { ...(n.taints ? { taints: n.taints } : {}) },
        status: {
          allocatable: { cpu: n.cpu ?? '64', memory: n.memory ?? '256Gi', pods: '110' },
          capacity: { cpu: n.cpu ?? '64', memory: n.memory ?? '256Gi', pods: '110' },
          nodeInfo: { architecture: 'amd64', kubeletVersion: 'fake', operatingSystem: 'linux' },
          phase: 'Running',
        },
      })),
    );
  }

  /** A StorageClass with pre-made hostPath volumes (no provisioner here), `count` of each size. */
  async addStorage(storageClass: string | undefined, sizes: string[], count: number, isDefault = false): Promise<void> {
    const cls = storageClass ?? 'e2e-default';
    const docs: Obj[] = [
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: cls, ...(isDefault ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } : {}) },
        provisioner: 'kubernetes.io/no-provisioner',
        volumeBindingMode: 'Immediate',
        reclaimPolicy: 'Retain',
      },
    ];
    for (const size of sizes) {
      for (let i = 0; i < count; i++) {
        const name = `pv-${cls}-${size.toLowerCase()}-${i}`;
        docs.push({
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name },
          spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], storageClassName: cls, persistentVolumeReclaimPolicy: 'Retain', hostPath: { path: `/tmp/${name}` } },
        });
      }
    }
    await this.apply(docs);
  }

  /**
   * What the seed examples need besides the API: nodes (five for production: nodeSelector workload=streaming,
   * instance type m5.xlarge, a dedicated taint, one broker per host required; six general ones), StorageClasses
   * with pre-made volumes of every size they ask for (no provisioner here), and the Secrets they name (kwok does not
   * mount them; the function reads the CA). `full: false` gives only the general nodes and the standard class.
   */
  async seedInfrastructure(opts: { full: boolean }): Promise<void> {
    await this.addNodes([
      ...(opts.full
        ? [0, 1, 2, 3, 4].map((i) => ({
            name: `streaming-${i}`,
            labels: { workload: 'streaming', 'node.kubernetes.io/instance-type': 'm5.xlarge', 'topology.kubernetes.io/zone': `zone-${i % 3}` },
            taints: [{ key: 'dedicated', value: 'streambus', effect: 'NoSchedule' }],
          }))
        : []),
      ...[0, 1, 2, 3, 4, 5].map((i) => ({ name: `general-${i}`, labels: { 'topology.kubernetes.io/zone': `zone-${i % 3}` } })),
    ]);
    await this.addStorage('standard', ['2Gi', '5Gi', '10Gi'], 14);
    if (!opts.full) return;
    await this.addStorage('fast-ssd', ['50Gi', '100Gi', '200Gi'], 20);
    await this.addStorage('encrypted-ssd', ['20Gi', '50Gi'], 4);
    const secret = (ns: string, name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, data });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await this.apply([
      secret('default', 'streambus-tls-certs', { 'tls.crt': b64('cert'), 'tls.key': b64('key') }),
      secret('default', 'streambus-ca-cert', { 'ca.crt': b64('-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n') }),
      secret('production', 'streambus-tls-certs', { 'tls.crt': b64('cert'), 'tls.key': b64('key') }),
      secret('platform', 'streambus-tls-certs', { 'tls.crt': b64('cert'), 'tls.key': b64('key') }),
      secret('platform', 'streambus-jwt-secret', { secret: b64('jwt') }),
    ]);
  }

  // --------------------------------------------------------------------------- Crossplane
  /** A ServiceAccount's token (TokenRequest), ca.crt and namespace in a folder, as the kubelet mounts them. */
  private async serviceAccountDir(sa: string, namespace = 'crossplane-system'): Promise<string> {
    const token = (await this.k(['create', 'token', sa, '-n', namespace, '--duration=48h'])).trim();
    const d = join(this.dir, 'sa', sa);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'token'), token);
    writeFileSync(join(d, 'ca.crt'), readFileSync(join(this.dir, 'pki', 'ca.crt')));
    writeFileSync(join(d, 'namespace'), namespace);
    return d;
  }

  private async installCrossplane(): Promise<void> {
    const ns = 'crossplane-system';
    await this.apply(['crossplane', 'rbac-manager', 'provider-kubernetes'].map((name) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } })));
    // Crossplane's own ClusterRoles and bindings, from its Helm chart.
    const chart = join(CROSSPLANE_DATA, 'chart');
    const rbac = readdirSync(chart).sort().map((f) => renderChartTemplate(readFileSync(join(chart, f), 'utf8'), ns)).join('\n---\n');
    const rbacDocs = parseAllDocuments(rbac).map((d) => d.toJS() as Obj).filter(Boolean);
    // The chart binds the RBAC manager's role to its ServiceAccount `rbac-manager`.
    await this.apply(rbacDocs);
    const crds = join(CROSSPLANE_DATA, 'crds');
    await this.k(['apply', '--server-side', '-f', crds]);
    await this.crdsEstablished();

    const xp = await this.serviceAccountDir('crossplane');
    const deploymentRuntime = this.options.functionRuntime === 'Deployment';
    if (deploymentRuntime) writeFileSync(this.resolvConf, readFileSync('/etc/resolv.conf', 'utf8'));
    const sa = this.asServiceAccount('crossplane', xp, '127.0.0.1', deploymentRuntime ? this.resolvConf : undefined);
    const env = {
      ...sa.env,
      POD_NAMESPACE: ns,
      CRDS_PATH: crds,
      ENABLE_WEBHOOKS: 'false',
      TLS_CA_SECRET_NAME: 'crossplane-root-ca',
      TLS_CLIENT_SECRET_NAME: 'crossplane-tls-client',
    };
    // `core init`: installs the CRDs, Crossplane's CA and its client certificate (Secrets). A fresh apiserver can refuse
    // the first attempt (`no matches for kind "Lock"`): retried.
    await waitFor('crossplane core init', async () => {
      const r = await run('ip', ['netns', 'exec', this.ns, ...sa.prefix, join(TOOLS_BIN, 'crossplane-core'), 'core', 'init'], { env: { PATH: process.env.PATH, ...env }, timeoutMs: 120_000 });
      if (r.code !== 0) this.timings.initRetries = (this.timings.initRetries ?? 0) + 1;
      return r.code === 0 || undefined;
    }, 180_000, 2000);
    const client = await this.get('secret', 'crossplane-tls-client', ns);
    if (!client) throw new Error('crossplane core init made no crossplane-tls-client Secret');
    const tlsDir = join(this.dir, 'crossplane-tls-client');
    mkdirSync(tlsDir);
    for (const k of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(tlsDir, k), Buffer.from(client.data[k], 'base64'));
    mkdirSync(join(this.dir, 'xpkg-cache'));
    this.spawn('crossplane', this.ns, [...sa.prefix, join(TOOLS_BIN, 'crossplane-core'), 'core', 'start', '--namespace', ns,
      '--enable-webhooks=false', '--package-runtime', deploymentRuntime ? 'Function=Deployment;Provider=External' : 'External', '--tls-client-certs-dir', tlsDir, '--xpkg-cache-dir', join(this.dir, 'xpkg-cache'),
      // Crossplane's XR circuit breaker (default burst 100 watch events, refill 1/s, open 5 min): `tuned` raises it
      // as docs/install.md describes.
      ...(this.options.circuitBreaker === 'tuned' ? ['--circuit-breaker-burst=1000', '--circuit-breaker-refill-rate=20'] : []),
      ...(this.options.crossplaneDebug ? ['--debug'] : [])],
      { ...env, METRICS_PORT: '8082', HEALTH_PROBE_PORT: '8083' });

    // The RBAC manager (its own network namespace: it binds :8080 like provider-kubernetes).
    const rb = this.componentNs('rbac');
    const rbDir = await this.serviceAccountDir('rbac-manager');
    const rsa = this.asServiceAccount('rbac-manager', rbDir, rb.apiserverIp);
    const rbEnv = { ...rsa.env, POD_NAMESPACE: ns };
    const init = await run('ip', ['netns', 'exec', rb.ns, ...rsa.prefix, join(TOOLS_BIN, 'crossplane-core'), 'rbac', 'init'], { env: { PATH: process.env.PATH, ...rbEnv } });
    if (init.code !== 0) throw new Error(`crossplane rbac init: ${init.stderr}`);
    this.spawn('crossplane-rbac-manager', rb.ns, [...rsa.prefix, join(TOOLS_BIN, 'crossplane-core'), 'rbac', 'start', '--provider-clusterrole=crossplane:allowed-provider-permissions'], rbEnv);
    await waitFor('Crossplane to serve its APIs (pkg.crossplane.io Functions)', async () => (await this.kubectl(['get', 'functions.pkg.crossplane.io'])).code === 0, 60_000);
  }

  /**
   * provider-kubernetes, run as its ServiceAccount in a namespace of its own, with its CRDs (conversion: None: the
   * package manager would point it at the provider's webhook Service, which needs cluster DNS), the ClusterRoles the
   * RBAC manager derives for a provider revision (its own API groups for the provider, the managed kinds for
   * Crossplane), and the project's deploy/provider-kubernetes manifests (what it may manage, ProviderConfig).
   */
  private async installProvider(): Promise<void> {
    const crds = readdirSync(PROVIDER_CRDS).filter((f) => f.endsWith('.yaml')).map((f) => {
      const doc = parseAllDocuments(readFileSync(join(PROVIDER_CRDS, f), 'utf8'))[0]!.toJS() as Obj;
      doc.spec.conversion = { strategy: 'None' };
      return doc;
    });
    await this.apply(crds);
    await this.crdsEstablished(crds.map((c) => c.metadata.name as string));
    const groups = ['kubernetes.crossplane.io', 'kubernetes.m.crossplane.io'];
    await this.apply([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'crossplane:provider:provider-kubernetes:system' },
        rules: [
          { apiGroups: groups, resources: ['*'], verbs: ['get', 'list', 'watch', 'update', 'patch', 'create', 'delete'] },
          { apiGroups: [''], resources: ['secrets', 'configmaps', 'events'], verbs: ['*'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['*'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'crossplane:provider:provider-kubernetes:system' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'crossplane:provider:provider-kubernetes:system' },
        subjects: [{ kind: 'ServiceAccount', name: 'provider-kubernetes', namespace: 'crossplane-system' }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'crossplane:provider:provider-kubernetes:aggregate-to-crossplane', labels: { 'rbac.crossplane.io/aggregate-to-crossplane': 'true' } },
        rules: [{ apiGroups: groups, resources: ['*'], verbs: ['*'] }],
      },
    ]);
    await this.apply(readFileSync(join(ROOT, 'deploy/provider-kubernetes/clusterrole.yaml'), 'utf8'));
    await this.apply(readFileSync(join(ROOT, 'deploy/provider-kubernetes/in-cluster.yaml'), 'utf8'));
    const pn = this.componentNs('provider');
    const dir = await this.serviceAccountDir('provider-kubernetes');
    const sa = this.asServiceAccount('provider-kubernetes', dir, pn.apiserverIp);
    const certs = join(this.dir, 'provider-webhook');
    mkdirSync(certs);
    signLeaf(join(this.dir, 'pki'), 'provider-webhook', 'provider-kubernetes', 'ca', 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost');
    for (const [from, to] of [['provider-webhook.crt', 'tls.crt'], ['provider-webhook.key', 'tls.key']] as const) writeFileSync(join(certs, to), readFileSync(join(this.dir, 'pki', from)));
    this.spawn('provider-kubernetes', pn.ns, [...sa.prefix, join(TOOLS_BIN, 'provider-kubernetes'), '--poll=30s', '--enable-watches'],
      { ...sa.env, TLS_SERVER_CERTS_DIR: certs, POD_NAMESPACE: 'crossplane-system' });
    // prometheus-operator CRDs: claims that ask for monitoring compose ServiceMonitors and PrometheusRules.
    await this.k(['apply', '--server-side', '-f', PROMETHEUS_CRDS]);
  }

  // --------------------------------------------------------------------------- the function, as a package
  /**
   * Builds the Function package with `crossplane xpkg build`, pushes it to the local registry, installs it as
   * `name` and plays the External runtime: a serving certificate signed by Crossplane's CA, the function started with
   * it, the FunctionRevision told its endpoint. Returns when the Function is Healthy.
   */
  async installFunction(name: string, tag = 'v0.1.0', opts: FunctionInstallOptions = {}): Promise<void> {
    let file = opts.xpkg;
    if (opts.other && !file) throw new Error(`installFunction ${name}: another function needs its package file`);
    if (!file) {
      const out = join(this.dir, 'xpkg');
      const build = await run('bash', [join(ROOT, 'scripts/build-xpkg.sh'), '-o', out], { timeoutMs: 180_000 });
      if (build.code !== 0) throw new Error(`build-xpkg: ${build.stderr}`);
      file = join(out, 'function-streambus.xpkg');
    }
    const ref = opts.other?.ref ?? `${REGISTRY}/streambus-io/function-streambus:${tag}`;
    const push = await run('ip', ['netns', 'exec', this.ns, join(TOOLS_BIN, 'crossplane'), 'xpkg', 'push', '-f', file, ref], { timeoutMs: 120_000 });
    if (push.code !== 0) throw new Error(`xpkg push: ${push.stderr}${push.stdout}`);
    await this.apply([{ apiVersion: 'pkg.crossplane.io/v1', kind: 'Function', metadata: { name }, spec: { package: ref } }]);
    const rev = await waitFor(`a FunctionRevision of ${name}`, async () => (await this.list('functionrevisions.pkg.crossplane.io', undefined, `pkg.crossplane.io/package=${name}`))[0], 120_000, 1000, () => this.describe('function', name));

    // The runtime's part: Crossplane's CA signs the function's serving certificate.
    const root = await this.get('secret', 'crossplane-root-ca', 'crossplane-system');
    if (!root) throw new Error('no crossplane-root-ca Secret');
    // function-streambus keeps the folders tests restart it from (fn-certs); another function gets its own.
    const suffix = opts.other ? `-${name}` : '';
    const pki = join(this.dir, `fn-pki${suffix}`);
    mkdirSync(pki);
    writeFileSync(join(pki, 'xp-ca.crt'), Buffer.from(root.data['tls.crt'], 'base64'));
    writeFileSync(join(pki, 'xp-ca.key'), Buffer.from(root.data['tls.key'], 'base64'));
    signLeaf(pki, 'fn', name, 'xp-ca', 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1');
    const certs = join(this.dir, `fn-certs${suffix}`);
    mkdirSync(certs);
    writeFileSync(join(certs, 'tls.crt'), readFileSync(join(pki, 'fn.crt')));
    writeFileSync(join(certs, 'tls.key'), readFileSync(join(pki, 'fn.key')));
    writeFileSync(join(certs, 'ca.crt'), readFileSync(join(pki, 'xp-ca.crt')));
    const secretName = `${name}-tls-server`;
    await this.apply([
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretName, namespace: 'crossplane-system' },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': readFileSync(join(certs, 'tls.crt')).toString('base64'), 'tls.key': readFileSync(join(certs, 'tls.key')).toString('base64'), 'ca.crt': readFileSync(join(certs, 'ca.crt')).toString('base64') },
      },
    ]);
    let port = FUNCTION_PORT;
    if (opts.other) {
      port = opts.other.port;
      opts.other.start(certs, port);
    } else if (opts.runImage) {
      // The package's own image (the embedded runtime's layers plus package.yaml), as the Deployment runtime runs
      // it: Crossplane's UID 2000, read-only root, no capabilities, /tls/server, no arguments (0.0.0.0:9443).
      port = 9443;
      const image = unpack(file, join(this.dir, 'fn-image'));
      mkdirSync(join(this.dir, 'logs'), { recursive: true });
      const log = join(this.dir, 'logs', 'function-streambus.log');
      const fd = openSync(log, 'a');
      this.functionContainer = runContainer(image, { uid: 2000, gid: 2000, netns: this.ns, binds: { '/tls/server': certs }, env: ['TLS_SERVER_CERTS_DIR=/tls/server'], logFd: fd });
      closeSync(fd);
      this.logs.set('function-streambus', log);
      const c = this.functionContainer;
      (this.owned.cleanups ??= []).push(() => c.destroy());
    } else {
      this.startFunction(certs);
    }
    await this.waitPort(port, opts.other ? name : 'function-streambus');
    // What the package runtime controller reports on a revision it runs: the TLS Secret, the endpoint, and
    // RuntimeHealthy=True (the Function is Healthy only when both the revision and its runtime are).
    await waitFor(`FunctionRevision ${rev.metadata.name} to take the runtime's status`, async () => {
      const cur = await this.get('functionrevisions.pkg.crossplane.io', rev.metadata.name);
      if (!cur) return undefined;
      const conditions = ((cur.status?.conditions ?? []) as Obj[]).filter((c) => c.type !== 'RuntimeHealthy');
      conditions.push({ type: 'RuntimeHealthy', status: 'True', reason: 'HealthyPackageRevision', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
      const r = await this.kubectl(['patch', 'functionrevision', rev.metadata.name, '--subresource=status', '--type=merge', '-p',
        JSON.stringify({ metadata: { resourceVersion: cur.metadata.resourceVersion }, status: { tlsServerSecretName: secretName, endpoint: `dns:///localhost:${port}`, conditions } })]);
      return r.code === 0 || undefined; // a conflict (Crossplane updated it meanwhile) is retried
    }, 60_000, 500);
    await waitFor(`Function ${name} Healthy`, async () => {
      const f = await this.get('functions.pkg.crossplane.io', name);
      return (f?.status?.conditions as Obj[] | undefined)?.some((c) => c.type === 'Healthy' && c.status === 'True');
    }, 120_000, 1000, () => this.describe('function', name));
    if (!opts.other) this.functionRevision = await this.get('functionrevisions.pkg.crossplane.io', rev.metadata.name);
  }

  /** Starts (or restarts) the function: the built dist/, TLS from `certs` (Crossplane's CA as ca.crt). */
  startFunction(certs = join(this.dir, 'fn-certs')): ChildProcess {
    return this.spawn('function-streambus', this.ns, [process.execPath, join(ROOT, 'dist/src/main.js'), '--address', `127.0.0.1:${FUNCTION_PORT}`,
      '--tls-server-certs-dir', certs, '--metrics-address', '127.0.0.1:18080']);
  }

  /** The XRD, the Compositions and (unless told otherwise) the Direct-mode ClusterRole, as docs/install.md applies them. */
  async installApi(opts: { directModeRbac?: boolean } = {}): Promise<void> {
    await this.apply(readFileSync(join(ROOT, 'apis/xrd.yaml'), 'utf8'));
    await waitFor('the XRD to be Established and Offered', async () => {
      const x = await this.get('compositeresourcedefinitions.apiextensions.crossplane.io', 'xstreambusclusters.streambus.io');
      const c = (x?.status?.conditions ?? []) as Obj[];
      return c.some((y) => y.type === 'Established' && y.status === 'True') && c.some((y) => y.type === 'Offered' && y.status === 'True');
    }, 120_000, 1000, () => this.describe('xrd', 'xstreambusclusters.streambus.io'));
    for (const f of readdirSync(join(ROOT, 'compositions')).filter((x) => x.endsWith('.yaml')).sort()) {
      await this.apply(readFileSync(join(ROOT, 'compositions', f), 'utf8'));
    }
    if (opts.directModeRbac !== false) await this.apply(readFileSync(join(ROOT, 'deploy/rbac/direct-mode-clusterrole.yaml'), 'utf8'));
  }

  // --------------------------------------------------------------------------- Crossplane 2 API and packages (issue 15)
  /**
   * The Crossplane 2 API as docs/install.md applies it without the Configuration: the v2 XRD (namespaced
   * StreamBusCluster XRs, apis/v2/xrd.yaml), compositions/v2/*.yaml and (unless told otherwise) the Direct-mode
   * ClusterRole. A v2 XRD has no claims, so it is never Offered: it is ready when Established.
   */
  async installApiV2(opts: { directModeRbac?: boolean } = {}): Promise<void> {
    await this.apply(readFileSync(join(ROOT, 'apis/v2/xrd.yaml'), 'utf8'));
    await waitFor('the v2 XRD to be Established', async () => {
      const x = await this.get('compositeresourcedefinitions.apiextensions.crossplane.io', 'streambusclusters.streambus.io');
      return ((x?.status?.conditions ?? []) as Obj[]).some((y) => y.type === 'Established' && y.status === 'True');
    }, 120_000, 1000, () => this.describe('xrd', 'streambusclusters.streambus.io'));
    for (const f of readdirSync(join(ROOT, 'compositions/v2')).filter((x) => x.endsWith('.yaml')).sort()) {
      await this.apply(readFileSync(join(ROOT, 'compositions/v2', f), 'utf8'));
    }
    if (opts.directModeRbac !== false) await this.apply(readFileSync(join(ROOT, 'deploy/rbac/direct-mode-clusterrole.yaml'), 'utf8'));
  }

  /** Builds the project's three packages (scripts/build-xpkg.sh) into a folder of this run; returns their paths. */
  async buildPackages(): Promise<{ function: string; configuration: string; configurationV2: string }> {
    const out = join(this.dir, 'xpkg-all');
    const build = await run('bash', [join(ROOT, 'scripts/build-xpkg.sh'), '-o', out], { timeoutMs: 180_000 });
    if (build.code !== 0) throw new Error(`build-xpkg: ${build.stderr}`);
    return { function: join(out, 'function-streambus.xpkg'), configuration: join(out, 'configuration-streambus.xpkg'), configurationV2: join(out, 'configuration-streambus-v2.xpkg') };
  }

  /**
   * provider-kubernetes' package built from its module's package/ folder (crossplane.yaml + CRDs; no runtime image:
   * the provider runs out of band), in a folder of this run. The module comes from the Go module cache
   * (`go mod download`, which the tool build filled).
   */
  async buildProviderPackage(version = 'v1.2.1'): Promise<string> {
    const dl = await run('go', ['mod', 'download', '-json', `github.com/crossplane-contrib/provider-kubernetes@${version}`], { timeoutMs: 300_000 });
    if (dl.code !== 0) throw new Error(`go mod download provider-kubernetes@${version}: ${dl.stderr}${dl.stdout}`);
    const dir = (JSON.parse(dl.stdout) as Obj).Dir as string;
    const out = join(this.dir, 'xpkg-provider');
    mkdirSync(out, { recursive: true });
    const file = join(out, `provider-kubernetes-${version}.xpkg`);
    const b = await run(join(TOOLS_BIN, 'crossplane'), ['xpkg', 'build', '--package-root', join(dir, 'package'), '--examples-root', join(out, 'no-examples'), '-o', file], { timeoutMs: 180_000 });
    if (b.code !== 0) throw new Error(`crossplane xpkg build (provider-kubernetes): ${b.stderr}${b.stdout}`);
    return file;
  }

  /** `crossplane xpkg push` of a package file to the local registry (ref e.g. 127.0.0.1:5000/org/name:tag). */
  async pushPackage(file: string, ref: string): Promise<void> {
    const push = await run('ip', ['netns', 'exec', this.ns, join(TOOLS_BIN, 'crossplane'), 'xpkg', 'push', '-f', file, ref], { timeoutMs: 120_000 });
    if (push.code !== 0) throw new Error(`xpkg push ${ref}: ${push.stderr}${push.stdout}`);
  }

  /** A serving certificate signed by Crossplane's CA (Secret crossplane-root-ca), in a folder: tls.crt, tls.key, ca.crt. */
  private async crossplaneSignedCerts(name: string, cn: string): Promise<string> {
    const root = await this.get('secret', 'crossplane-root-ca', 'crossplane-system');
    if (!root) throw new Error('no crossplane-root-ca Secret');
    const pki = join(this.dir, `pki-${name}`);
    mkdirSync(pki, { recursive: true });
    writeFileSync(join(pki, 'xp-ca.crt'), Buffer.from(root.data['tls.crt'], 'base64'));
    writeFileSync(join(pki, 'xp-ca.key'), Buffer.from(root.data['tls.key'], 'base64'));
    signLeaf(pki, 'leaf', cn, 'xp-ca', 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1');
    const certs = join(this.dir, `certs-${name}`);
    mkdirSync(certs, { recursive: true });
    writeFileSync(join(certs, 'tls.crt'), readFileSync(join(pki, 'leaf.crt')));
    writeFileSync(join(certs, 'tls.key'), readFileSync(join(pki, 'leaf.key')));
    writeFileSync(join(certs, 'ca.crt'), readFileSync(join(pki, 'xp-ca.crt')));
    return certs;
  }

  private async tlsSecret(name: string, certs: string): Promise<void> {
    const b64 = (f: string) => readFileSync(join(certs, f)).toString('base64');
    await this.apply([{ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'crossplane-system' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64('tls.crt'), 'tls.key': b64('tls.key'), 'ca.crt': b64('ca.crt') } }]);
  }

  /** Patches a package revision's status as the package runtime controller does (retrying conflicts), with RuntimeHealthy=True. */
  private async reportRuntime(resource: string, revision: string, status: Obj): Promise<void> {
    await waitFor(`${resource} ${revision} to take the runtime's status`, async () => {
      const cur = await this.get(resource, revision);
      if (!cur) return undefined;
      const conditions = ((cur.status?.conditions ?? []) as Obj[]).filter((c) => c.type !== 'RuntimeHealthy');
      conditions.push({ type: 'RuntimeHealthy', status: 'True', reason: 'HealthyPackageRevision', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
      const r = await this.kubectl(['patch', resource, revision, '--subresource=status', '--type=merge', '-p',
        JSON.stringify({ metadata: { resourceVersion: cur.metadata.resourceVersion }, status: { ...status, conditions } })]);
      return r.code === 0 || undefined;
    }, 60_000, 500);
  }

  /**
   * Plays the External package runtime for a FunctionRevision Crossplane made itself (e.g. for a dependency of a
   * Configuration): serving certificate from Crossplane's CA, the built function started with it on FUNCTION_PORT,
   * the revision told its TLS Secret and endpoint, RuntimeHealthy=True.
   */
  async serveFunctionRevision(revision: string): Promise<void> {
    const certs = await this.crossplaneSignedCerts(`fnrev-${revision}`, revision);
    const secretName = `${revision}-tls-server`;
    await this.tlsSecret(secretName, certs);
    this.startFunction(certs);
    await this.waitPort(FUNCTION_PORT, 'function-streambus');
    await this.reportRuntime('functionrevisions.pkg.crossplane.io', revision, { tlsServerSecretName: secretName, endpoint: `dns:///localhost:${FUNCTION_PORT}` });
  }

  /**
   * Plays the External package runtime for a ProviderRevision (the provider itself is the out-of-band
   * provider-kubernetes this harness started): a TLS server Secret signed by Crossplane's CA (the package manager
   * puts its tls.crt into the conversion webhooks of the provider's CRDs as caBundle), the revision told its name,
   * RuntimeHealthy=True.
   */
  async serveProviderRevision(revision: string): Promise<void> {
    const certs = await this.crossplaneSignedCerts(`provrev-${revision}`, revision);
    const secretName = `${revision}-tls-server`;
    await this.tlsSecret(secretName, certs);
    await this.reportRuntime('providerrevisions.pkg.crossplane.io', revision, { tlsServerSecretName: secretName });
  }

  // --------------------------------------------------------------------------- diagnostics and teardown
  async describe(kind: string, name: string, namespace?: string): Promise<string> {
    const r = await this.kubectl(['get', kind, name, '-o', 'yaml', ...(namespace ? ['-n', namespace] : [])]);
    return (r.stdout || r.stderr).slice(0, 6000);
  }

  /** Every line a process started by spawn has logged so far. */
  logLines(name: string): string[] {
    const f = this.logs.get(name);
    return f && existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  }

  logTail(name: string, lines = 30): string {
    const f = this.logs.get(name);
    if (!f || !existsSync(f)) return `(no log for ${name})`;
    return readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n');
  }

  logTails(lines = 25): string {
    return [...this.logs.keys()].map((n) => `\n----- ${n} (last ${lines} lines)\n${this.logTail(n, lines)}`).join('\n');
  }

  /** The pid of a running process started by spawn (e.g. 'function-streambus', 'crossplane'), if any. */
  pidOf(name: string): number | undefined {
    const p = this.procs.get(name);
    return p?.pid && p.exitCode === null && p.signalCode === null ? p.pid : undefined;
  }

  /** The path of a process's log (<dir>/logs/<name>.log). */
  logPath(name: string): string | undefined {
    return this.logs.get(name);
  }

  /** GET http://127.0.0.1:<port><path> inside the control plane's namespace (e.g. a /metrics endpoint); the body, or '' on failure. */
  async httpGet(port: number, path = '/metrics'): Promise<string> {
    const r = await run('ip', ['netns', 'exec', this.ns, process.execPath, '-e',
      `fetch('http://127.0.0.1:${port}${path}').then((r) => r.text()).then((t) => process.stdout.write(t), () => process.exit(1))`], { timeoutMs: 30_000 });
    return r.code === 0 ? r.stdout : '';
  }

  /** Resident memory of every process of the stack, in MiB, from /proc. */
  memory(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, p] of this.procs) {
      if (!p.pid || p.exitCode !== null) continue;
      try {
        const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
        const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        out[name] = Math.round(kb / 1024);
      } catch {
        /* exited */
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    killAll(this.owned, 'SIGTERM');
    await sleep(500);
    destroySync(this.owned);
  }
}
