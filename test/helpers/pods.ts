/**
 * Runs a rendered StatefulSet's pods the way a node runs them, without Kubernetes or a container runtime.
 *
 * One "node" network namespace holds a private bridge (10.77.0.0/24, gateway .1). Each pod gets its own network
 * namespace with a veth on that bridge (pod i → 10.77.0.(10+i)), the hostname of the pod and an /etc/hosts with
 * its DNS identity `<pod>.<headless>.<ns>.svc.<clusterDomain>` and every peer's (standing in for cluster DNS with
 * publishNotReadyAddresses). Each container runs in its own mount, PID, UTS and IPC namespaces, in a chroot whose
 * root is a read-only tmpfs holding only:
 *  - the host's /usr (read-only) as the image's userland (/bin/sh for the rendered shell command),
 *  - the image's files (e.g. /app/streambus-broker, bound read-only from .tools/bin),
 *  - /etc/hosts, /etc/hostname, /etc/resolv.conf as the kubelet writes them, /proc of the pod's PID namespace,
 *  - every volumeMount: ConfigMap keys and Secret keys (files behind a `..data` symlink, swapped atomically on
 *    update like the kubelet does), fresh emptyDirs, and PVC directories that survive a pod restart; fsGroup owns
 *    them (group, setgid), as the kubelet's volume ownership management does.
 * The container's command and args (after the kubelet's `$(VAR)` expansion) and env (downward API filled in) run
 * unmodified as runAsUser/runAsGroup with fsGroup as supplementary group, no new privileges and no capabilities.
 *
 * Clients, probes and the CLI run in the node namespace (see `NodeAgent`). Nothing here touches the host's own
 * network namespace: every address lives in namespaces this helper creates and deletes. Cleanup (processes,
 * namespaces, links, mounts, directories) runs from `cleanup()`, and from exit/signal handlers on failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  linkSync,
  chmodSync,
  chownSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { IN_CI } from './tools.js';
import { deadRunNamespaces, deleteNamespace, pidAlive } from './netns.js';

type Obj = Record<string, any>;

export const SUBNET = '10.77.0';
export const NODE_IP = `${SUBNET}.1`;

/** What an image provides: its files (path in the image → file on this machine) and its ENTRYPOINT. */
export interface ImageStandIn {
  files: Record<string, string>;
  entrypoint?: string[];
}

export interface PodsOptions {
  /** The rendered manifests (plain, or wrapped in provider-kubernetes Objects). */
  manifests: Obj[];
  /** Per container name: what its image holds. */
  images: Record<string, ImageStandIn>;
  /** Secret contents the test provides, by Secret name. */
  secrets?: Record<string, Record<string, string | Buffer>>;
  clusterDomain?: string;
  /** Skip containers by name (e.g. none). */
  log?: (line: string) => void;
}

/** Returns why this machine cannot run pods (not root, missing commands), or undefined when it can. */
export function podSupport(): string | undefined {
  if (process.platform !== 'linux') return 'pods need Linux namespaces';
  if (process.getuid?.() !== 0) return 'pods need root (network and mount namespaces)';
  for (const c of ['ip', 'unshare', 'setpriv', 'chroot', 'mount']) {
    if (spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0) return `the '${c}' command is missing`;
  }
  const probe = spawnSync('unshare', ['--mount', '--pid', '--fork', '--uts', 'true'], { timeout: 10_000 });
  if (probe.status !== 0) return `unshare --mount --pid --uts failed: ${probe.stderr}`;
  return undefined;
}

/** Throws under CI when pods cannot run; else prints a loud skip and returns false. */
export function requirePods(why: string): boolean {
  const no = podSupport();
  if (!no) return true;
  const msg = `${no}: ${why}`;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  process.stderr.write(`\n!!!!!!!!!! SKIPPED: ${msg} !!!!!!!!!!\n\n`);
  return false;
}

/** Parses a `function-streambus render` YAML stream into plain manifests (Objects unwrapped). */
export function manifestsOf(yamlText: string): Obj[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJSON() as Obj)
    .filter((d) => d && typeof d === 'object')
    .map((d) => (d.kind === 'Object' && d.spec?.forProvider?.manifest ? d.spec.forProvider.manifest : d));
}

// ---------------------------------------------------------------------------------------------------------------
// Global cleanup registry: whatever happens to the test, namespaces and processes go away.
const live = new Set<Pods>();
let handlersInstalled = false;
function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.cleanupSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const p of live) p.cleanupSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Namespaces left by a run whose process is gone (named sbt<pid>-...). */
function reapStale() {
  for (const { ns } of deadRunNamespaces('sbt')) deleteNamespace(ns);
  // The node namespaces' hosts files (/etc/netns/<ns>/) of runs that are gone.
  if (existsSync('/etc/netns'))
    for (const d of readdirSync('/etc/netns')) {
      const m = /^sbt(\d+)-/.exec(d);
      if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) rmSync(join('/etc/netns', d), { recursive: true, force: true });
    }
}

let seq = 0;

export interface RunningContainer {
  name: string;
  proc: ChildProcess;
  /** PID (in the host's PID namespace) of the container's PID 1. */
  pid1?: number;
  exited: Promise<number | null>;
  exitCode?: number | null;
  logFile: string;
}

export interface PodInfo {
  name: string;
  ordinal: number;
  ip: string;
  fqdn: string;
  netns: string;
  containers: RunningContainer[];
  startedAt: number;
  /** The labels the StatefulSet controller gave the pod (template labels, pod-name, pod-index, revision hash). */
  labels: Record<string, string>;
}

/** A rendered Service served in the node namespace by the kube-proxy stand-in (`Pods.serveService`). */
export interface ServedService {
  name: string;
  ip: string;
  fqdn: string;
  ports: { name: string; port: number; target: number }[];
  /** The ordinals behind it at the last sync. */
  endpoints: number[];
  /** Every change of its endpoints, with the time. */
  history: { at: number; endpoints: number[] }[];
  /** Recomputes the endpoints now (also done every few hundred ms). */
  sync: () => Promise<number[]>;
  /** Connections proxied so far, per endpoint address. */
  connections: () => Promise<Record<string, number>>;
  stop: () => void;
}

export class Pods {
  readonly id: string;
  readonly work: string;
  readonly nodeNs: string;
  readonly clusterDomain: string;
  sts!: Obj;
  configMaps = new Map<string, Obj>();
  /** The render's Services, by name (the latest render's). */
  services = new Map<string, Obj>();
  secrets = new Map<string, Record<string, string | Buffer>>();
  readonly images: Record<string, ImageStandIn>;
  readonly pods = new Map<number, PodInfo>();
  private readonly nets: string[] = [];
  private readonly extra = new Set<ChildProcess>();
  private readonly stoppers = new Set<() => void>();
  private setUp = false;
  private readonly log: (line: string) => void;
  agent?: NodeAgent;

  constructor(opts: PodsOptions) {
    installHandlers();
    reapStale();
    seq++;
    this.id = `sbt${process.pid}-${seq}`;
    this.nodeNs = `${this.id}-node`;
    this.work = mkdtempSync(join(tmpdir(), `${this.id}-`));
    chmodSync(this.work, 0o755);
    this.clusterDomain = opts.clusterDomain ?? 'cluster.local';
    this.images = opts.images;
    this.log = opts.log ?? (() => {});
    for (const [k, v] of Object.entries(opts.secrets ?? {})) this.secrets.set(k, v);
    this.apply(opts.manifests);
    live.add(this);
  }

  /** Takes a (new) render: the next pod start uses its StatefulSet template and ConfigMaps. */
  apply(manifests: Obj[]) {
    const sts = manifests.filter((m) => m.kind === 'StatefulSet');
    if (sts.length !== 1) throw new Error(`expected exactly one StatefulSet in the render, found ${sts.length}`);
    this.sts = sts[0]!;
    for (const cm of manifests.filter((m) => m.kind === 'ConfigMap')) this.configMaps.set(cm.metadata.name, cm);
    for (const svc of manifests.filter((m) => m.kind === 'Service')) this.services.set(svc.metadata.name, svc);
  }

  /**
   * The labels the StatefulSet controller gives pod i: the template's labels plus `statefulset.kubernetes.io/pod-name`,
   * `apps.kubernetes.io/pod-index` and `controller-revision-hash` (here a hash of the template it was started from).
   */
  podLabels(i: number): Record<string, string> {
    const running = this.pods.get(i);
    if (running) return running.labels;
    return this.labelsFor(i);
  }

  private labelsFor(i: number): Record<string, string> {
    const hash = createHash('sha256').update(JSON.stringify(this.sts.spec.template)).digest('hex').slice(0, 10);
    return {
      ...(this.sts.spec.template.metadata?.labels ?? {}),
      'statefulset.kubernetes.io/pod-name': this.podName(i),
      'apps.kubernetes.io/pod-index': String(i),
      'controller-revision-hash': `${this.sts.metadata.name}-${hash}`,
    };
  }

  /** The ordinals of the running pods whose labels match a Service's selector (from the render). */
  selectedBy(service: string): number[] {
    const svc = this.services.get(service);
    if (!svc) throw new Error(`no Service ${service} in the render`);
    const sel: Record<string, string> = svc.spec.selector ?? {};
    if (Object.keys(sel).length === 0) throw new Error(`Service ${service} has no selector`);
    return [...this.pods.keys()].filter((i) => Object.entries(sel).every(([k, v]) => this.pods.get(i)!.labels[k] === v)).sort((a, b) => a - b);
  }

  /** The ClusterIP the harness gives a (non-headless) Service of the render: 10.77.0.200 + its index. */
  clusterIp(service: string): string {
    const names = [...this.services.values()].filter((s) => s.spec.clusterIP !== 'None').map((s) => s.metadata.name).sort();
    const k = names.indexOf(service);
    if (k < 0) throw new Error(`no non-headless Service ${service} in the render`);
    return `${SUBNET}.${200 + k}`;
  }

  serviceFqdn(service: string): string {
    return `${service}.${this.namespace}.svc.${this.clusterDomain}`;
  }

  /**
   * Serves a rendered Service in the node namespace, standing in for kube-proxy and the EndpointSlice controller
   * (a stand-in, not the real thing: the real-control-plane tests show the real controllers' EndpointSlices).
   * Every `everyMs` the endpoints are recomputed as the endpoints controller does: the running pods matching the
   * Service's selector (from the render) that are Ready (`ready(i)`, the rendered readiness probes). A TCP proxy on
   * the Service's ClusterIP, one listener per Service port, sends every new connection to a random ready endpoint
   * (as kube-proxy's iptables mode does with `-m statistic --mode random`), and refuses it when there is none.
   * The Service's DNS name resolves to the ClusterIP in the node namespace (see `setup`). Stopped by cleanup.
   */
  async serveService(service: string, ready: (i: number) => Promise<boolean>, everyMs = 300): Promise<ServedService> {
    const svc = this.services.get(service);
    if (!svc) throw new Error(`no Service ${service} in the render`);
    const ip = this.clusterIp(service);
    const ports: { name: string; port: number; target: number }[] = svc.spec.ports.map((p: Obj) => ({ name: p.name, port: p.port, target: this.targetPort(p.targetPort ?? p.port) }));
    for (const p of ports) {
      const r = await this.agent!.call({ op: 'svc-listen', key: `${service}:${p.port}`, host: ip, port: p.port });
      if (!r.ok) throw new Error(`the Service stand-in could not listen on ${ip}:${p.port}: ${r.error}`);
    }
    const served: ServedService = {
      name: service,
      ip,
      fqdn: this.serviceFqdn(service),
      ports,
      endpoints: [],
      history: [],
      sync: async () => {
        const eps: number[] = [];
        for (const i of this.selectedBy(service)) if (await ready(i)) eps.push(i);
        const changed = eps.join(',') !== served.endpoints.join(',');
        served.endpoints = eps;
        if (changed) served.history.push({ at: Date.now(), endpoints: eps });
        for (const p of ports) await this.agent!.call({ op: 'svc-endpoints', key: `${service}:${p.port}`, endpoints: eps.map((i) => `${this.podIp(i)}:${p.target}`) });
        return eps;
      },
      connections: async () => {
        const out: Record<string, number> = {};
        for (const p of ports) {
          const r = await this.agent!.call({ op: 'svc-stats', key: `${service}:${p.port}` });
          for (const [ep, n] of Object.entries(r.stats as Record<string, number>)) out[ep] = (out[ep] ?? 0) + n;
        }
        return out;
      },
      stop: () => {
        clearInterval(timer);
      },
    };
    await served.sync();
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      served.sync().finally(() => (busy = false)).catch(() => {});
    }, everyMs);
    timer.unref();
    this.stoppers.add(() => clearInterval(timer));
    return served;
  }

  /** A Service targetPort (a number, or a container port's name) as the pod's port number. */
  private targetPort(t: number | string): number {
    if (typeof t === 'number') return t;
    for (const c of this.sts.spec.template.spec.containers as Obj[]) for (const p of c.ports ?? []) if (p.name === t) return p.containerPort;
    throw new Error(`no container port named ${t}`);
  }

  get replicas(): number {
    return this.sts.spec.replicas ?? 1;
  }
  get namespace(): string {
    return this.sts.metadata.namespace ?? 'default';
  }
  podName(i: number): string {
    return `${this.sts.metadata.name}-${i}`;
  }
  podIp(i: number): string {
    return `${SUBNET}.${10 + i}`;
  }
  podFqdn(i: number): string {
    return `${this.podName(i)}.${this.sts.spec.serviceName}.${this.namespace}.svc.${this.clusterDomain}`;
  }
  podNs(i: number): string {
    return `${this.id}-p${i}`;
  }

  /** The node namespace, its bridge, and one namespace + veth per pod. */
  async setup(): Promise<void> {
    if (this.setUp) return;
    this.setUp = true;
    const ip = (...a: string[]) => sh('ip', a);
    ip('netns', 'add', this.nodeNs);
    this.nets.push(this.nodeNs);
    ip('-n', this.nodeNs, 'link', 'set', 'lo', 'up');
    ip('-n', this.nodeNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.nodeNs, 'addr', 'add', `${NODE_IP}/24`, 'dev', 'br0');
    ip('-n', this.nodeNs, 'link', 'set', 'br0', 'up');
    for (let i = 0; i < this.replicas; i++) {
      const ns = this.podNs(i);
      ip('netns', 'add', ns);
      this.nets.push(ns);
      ip('-n', this.nodeNs, 'link', 'add', `veth${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', this.nodeNs, 'link', 'set', `veth${i}`, 'master', 'br0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'addr', 'add', `${this.podIp(i)}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'route', 'add', 'default', 'via', NODE_IP);
    }
    // Cluster DNS for clients in the node namespace: `ip netns exec` binds /etc/netns/<ns>/hosts over /etc/hosts, so
    // the CLI, ghostunnel and the agent resolve every pod's DNS name and each non-headless Service's name (to the
    // ClusterIP that serveService listens on). Written before anything runs there; removed by cleanup.
    const nodeEtc = join('/etc/netns', this.nodeNs);
    mkdirSync(nodeEtc, { recursive: true });
    const hosts = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
    for (let i = 0; i < this.replicas; i++) hosts.push(`${this.podIp(i)}\t${this.podFqdn(i)}`);
    for (const svc of this.services.values()) {
      if (svc.spec.clusterIP === 'None') continue;
      const cip = this.clusterIp(svc.metadata.name);
      hosts.push(`${cip}\t${this.serviceFqdn(svc.metadata.name)} ${svc.metadata.name}.${this.namespace}.svc`);
      ip('-n', this.nodeNs, 'addr', 'add', `${cip}/32`, 'dev', 'br0');
    }
    writeFileSync(join(nodeEtc, 'hosts'), `${hosts.join('\n')}\n`);
    this.agent = new NodeAgent(this, this.nodeNs);
    await this.agent.ready;
  }

  private hostsFile(i: number): string {
    const lines = ['# Kubernetes-managed hosts file (function-streambus test harness).', '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
    lines.push(`${this.podIp(i)}\t${this.podFqdn(i)}\t${this.podName(i)}`);
    lines.push('# peers: cluster DNS for the headless Service (publishNotReadyAddresses)');
    for (let k = 0; k < this.replicas; k++) if (k !== i) lines.push(`${this.podIp(k)}\t${this.podFqdn(k)}`);
    return `${lines.join('\n')}\n`;
  }

  private podSecurity(): Obj {
    return this.sts.spec.template.spec.securityContext ?? {};
  }

  /** Writes `files` into dir as the kubelet's atomic writer does: ..<ts>/ + ..data symlink + key symlinks. */
  private atomicWrite(dir: string, files: Record<string, string | Buffer>, mode: number, gid: number | undefined) {
    mkdirSync(dir, { recursive: true });
    const ts = `..${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
    const tsDir = join(dir, ts);
    mkdirSync(tsDir);
    for (const [k, v] of Object.entries(files)) {
      mkdirSync(dirname(join(tsDir, k)), { recursive: true });
      writeFileSync(join(tsDir, k), v);
      chmodSync(join(tsDir, k), mode);
      if (gid !== undefined) chownSync(join(tsDir, k), 0, gid);
    }
    chmodSync(tsDir, 0o755);
    const tmpLink = join(dir, `..data_tmp`);
    rmSync(tmpLink, { force: true });
    symlinkSync(ts, tmpLink);
    const prev = existsSync(join(dir, '..data')) ? readdirSync(dir).filter((n) => n.startsWith('..') && n !== '..data' && n !== '..data_tmp' && n !== ts) : [];
    renameSync(tmpLink, join(dir, '..data'));
    for (const k of Object.keys(files)) {
      const top = k.split('/')[0]!;
      if (!existsSync(join(dir, top))) symlinkSync(join('..data', top), join(dir, top));
    }
    for (const p of prev) rmSync(join(dir, p), { recursive: true, force: true });
  }

  /** Replaces a Secret's contents in every running pod that mounts it (as the kubelet syncs Secret volumes). */
  updateSecret(name: string, data: Record<string, string | Buffer>) {
    this.secrets.set(name, data);
    for (const pod of this.pods.values()) {
      for (const v of this.sts.spec.template.spec.volumes ?? []) {
        if (v.secret?.secretName !== name) continue;
        const dir = join(this.work, pod.name, 'vol', v.name);
        this.atomicWrite(dir, this.secretItems(v.secret, data), v.secret.defaultMode ?? 0o644, this.podSecurity().fsGroup);
      }
    }
  }

  private secretItems(src: Obj, data: Record<string, string | Buffer>): Record<string, string | Buffer> {
    if (!src.items) return data;
    const out: Record<string, string | Buffer> = {};
    for (const it of src.items) {
      if (!(it.key in data)) throw new Error(`key ${it.key} not in Secret ${src.secretName}`);
      out[it.path] = data[it.key]!;
    }
    return out;
  }

  /** Prepares the pod's volumes (PVC dirs are kept across restarts) and returns volume name → host dir. */
  private volumes(i: number): Map<string, string> {
    const pod = this.podName(i);
    const fsGroup: number | undefined = this.podSecurity().fsGroup;
    const out = new Map<string, string>();
    const podDir = join(this.work, pod, 'vol');
    rmSync(podDir, { recursive: true, force: true });
    mkdirSync(podDir, { recursive: true });
    const own = (d: string, mode: number) => {
      if (fsGroup !== undefined) {
        chownSync(d, 0, fsGroup);
        chmodSync(d, mode | 0o2000);
      } else chmodSync(d, mode);
    };
    for (const v of this.sts.spec.template.spec.volumes ?? []) {
      const dir = join(podDir, v.name);
      if (v.configMap) {
        const cm = this.configMaps.get(v.configMap.name);
        if (!cm) throw new Error(`ConfigMap ${v.configMap.name} is not in the render (pod ${pod} would stay ContainerCreating)`);
        const data: Record<string, string> = cm.data ?? {};
        const files = v.configMap.items ? Object.fromEntries(v.configMap.items.map((it: Obj) => [it.path, data[it.key]!])) : data;
        this.atomicWrite(dir, files, v.configMap.defaultMode ?? 0o644, undefined);
      } else if (v.secret) {
        const data = this.secrets.get(v.secret.secretName);
        if (!data) throw new Error(`Secret ${v.secret.secretName} was not provided by the test (pod ${pod} would stay ContainerCreating)`);
        this.atomicWrite(dir, this.secretItems(v.secret, data), v.secret.defaultMode ?? 0o644, fsGroup);
      } else if (v.emptyDir) {
        mkdirSync(dir);
        own(dir, 0o777);
      } else {
        throw new Error(`volume ${v.name}: unsupported source ${Object.keys(v).join(',')}`);
      }
      out.set(v.name, dir);
    }
    for (const t of this.sts.spec.volumeClaimTemplates ?? []) {
      const dir = join(this.work, 'pvc', `${t.metadata.name}-${pod}`);
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        own(dir, 0o775);
      }
      out.set(t.metadata.name, dir);
    }
    return out;
  }

  private env(c: Obj, i: number): Record<string, string> {
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: this.podName(i),
    };
    const field = (p: string): string => {
      switch (p) {
        case 'metadata.name':
          return this.podName(i);
        case 'metadata.namespace':
          return this.namespace;
        case 'status.podIP':
          return this.podIp(i);
        case 'spec.nodeName':
          return 'node';
        case 'status.hostIP':
          return NODE_IP;
        default:
          throw new Error(`downward API field ${p} is not supported by the harness`);
      }
    };
    for (const e of c.env ?? []) {
      if (e.valueFrom?.fieldRef) env[e.name] = field(e.valueFrom.fieldRef.fieldPath);
      else if (e.valueFrom) throw new Error(`env ${e.name}: only fieldRef is supported`);
      else env[e.name] = expand(String(e.value ?? ''), env);
    }
    return env;
  }

  /** Starts every pod at once (podManagementPolicy: Parallel). */
  async startAll(): Promise<void> {
    await this.setup();
    for (let i = 0; i < this.replicas; i++) this.start(i);
  }

  /** Starts pod i from the current render. */
  start(i: number): PodInfo {
    if (this.pods.has(i)) throw new Error(`pod ${this.podName(i)} is already running`);
    const name = this.podName(i);
    const tmpl = this.sts.spec.template.spec;
    const vols = this.volumes(i);
    const podSec = this.podSecurity();
    const etc = join(this.work, name, 'etc');
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'hosts'), this.hostsFile(i));
    writeFileSync(join(etc, 'hostname'), `${name}\n`);
    writeFileSync(join(etc, 'resolv.conf'), `search ${this.namespace}.svc.${this.clusterDomain} svc.${this.clusterDomain} ${this.clusterDomain}\nnameserver ${NODE_IP}\noptions ndots:5\n`);
    writeFileSync(join(etc, 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n');
    writeFileSync(join(etc, 'group'), 'root:x:0:\nnobody:x:65534:\n');
    writeFileSync(join(etc, 'nsswitch.conf'), 'hosts: files dns\n');
    const pod: PodInfo = { name, ordinal: i, ip: this.podIp(i), fqdn: this.podFqdn(i), netns: this.podNs(i), containers: [], startedAt: Date.now(), labels: this.labelsFor(i) };
    for (const c of tmpl.containers as Obj[]) {
      const image = this.images[c.name];
      if (!image) throw new Error(`no image stand-in for container ${c.name} (${c.image})`);
      const sec = { ...podSec, ...(c.securityContext ?? {}) };
      const uid: number = sec.runAsUser ?? 0;
      const gid: number = sec.runAsGroup ?? uid;
      if (sec.runAsNonRoot && uid === 0) throw new Error(`container ${c.name}: runAsNonRoot with UID 0 (the kubelet refuses it)`);
      const groups = [...new Set([gid, ...(podSec.fsGroup !== undefined ? [podSec.fsGroup] : []), ...(podSec.supplementalGroups ?? [])])];
      const env = this.env(c, i);
      const argv = [...(c.command ?? image.entrypoint ?? []), ...(c.args ?? [])].map((a: string) => expand(a, env));
      if (argv.length === 0) throw new Error(`container ${c.name}: no command`);
      const root = join(this.work, name, c.name, 'root');
      mkdirSync(root, { recursive: true });
      // Mounts: [source, target, readOnly, isFile]
      const mounts: [string, string, boolean][] = [];
      // Image files under /usr go into a read-only overlay on the host's /usr (the "image layer"); others are bound.
      const layer = join(this.work, 'images', c.name);
      let usrLayer: string | undefined;
      for (const [path, src] of Object.entries(image.files)) {
        if (path.startsWith('/usr/')) {
          const dst = join(layer, path);
          if (!existsSync(dst)) {
            mkdirSync(dirname(dst), { recursive: true });
            try {
              linkSync(src, dst);
            } catch {
              copyFileSync(src, dst);
            }
          }
          usrLayer = join(layer, 'usr');
        } else mounts.push([src, path, true]);
      }
      const vm = [...(c.volumeMounts ?? [])].sort((a: Obj, b: Obj) => a.mountPath.length - b.mountPath.length);
      for (const m of vm) {
        const src = vols.get(m.name);
        if (!src) throw new Error(`container ${c.name}: volumeMount ${m.name} has no volume`);
        mounts.push([m.subPath ? join(src, m.subPath) : src, m.mountPath, !!m.readOnly]);
      }
      const script = containerScript({
        root,
        etc,
        hostname: name,
        mounts,
        readOnlyRoot: !!sec.readOnlyRootFilesystem,
        usrLayer,
        uid,
        gid,
        groups,
        workingDir: c.workingDir,
        env,
        argv,
      });
      const logFile = join(this.work, name, `${c.name}.log`);
      const out = createWriteStream(logFile, { flags: 'a' });
      const proc = spawn(
        'ip',
        ['netns', 'exec', pod.netns, 'unshare', '--mount', '--uts', '--ipc', '--pid', '--fork', '--kill-child=SIGKILL', '--propagation', 'private', '/bin/sh', '-c', script],
        { stdio: ['ignore', 'pipe', 'pipe'], detached: false },
      );
      proc.stdout!.pipe(out, { end: false });
      proc.stderr!.pipe(out, { end: false });
      const rc: RunningContainer = {
        name: c.name,
        proc,
        logFile,
        exited: new Promise((resolve) =>
          proc.once('exit', (code, signal) => {
            rc.exitCode = code ?? (signal ? 128 : null);
            out.end();
            this.log(`${name}/${c.name} exited ${code ?? signal}`);
            resolve(rc.exitCode);
          }),
        ),
      };
      pod.containers.push(rc);
    }
    this.pods.set(i, pod);
    this.log(`${name} started`);
    return pod;
  }

  private pid1(c: RunningContainer): number | undefined {
    if (c.pid1) return c.pid1;
    const pid = c.proc.pid;
    if (!pid) return undefined;
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      if (kids[0]) c.pid1 = Number(kids[0]);
    } catch {
      /* gone */
    }
    return c.pid1;
  }

  /**
   * Stops pod i: SIGTERM to each container's PID 1 and up to `graceMs` to exit (the kubelet's
   * terminationGracePeriodSeconds), then SIGKILL; `kill: true` sends SIGKILL at once (a crash, or a node loss).
   */
  async stop(i: number, opts: { kill?: boolean; graceMs?: number } = {}): Promise<void> {
    const pod = this.pods.get(i);
    if (!pod) return;
    const grace = opts.graceMs ?? Math.min(30_000, (this.sts.spec.template.spec.terminationGracePeriodSeconds ?? 30) * 1000);
    for (const c of pod.containers) {
      if (c.exitCode !== undefined) continue;
      const p = this.pid1(c);
      try {
        if (p) process.kill(p, opts.kill ? 'SIGKILL' : 'SIGTERM');
        else c.proc.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await Promise.all(
      pod.containers.map(async (c) => {
        const done = await Promise.race([c.exited.then(() => true), sleep(grace).then(() => false)]);
        if (!done) {
          const p = this.pid1(c);
          try {
            if (p) process.kill(p, 'SIGKILL');
            c.proc.kill('SIGKILL');
          } catch {
            /* gone */
          }
          await Promise.race([c.exited, sleep(5000)]);
        }
      }),
    );
    this.pods.delete(i);
    this.log(`${pod.name} stopped${opts.kill ? ' (SIGKILL)' : ''}`);
  }

  /**
   * What the kernel says about a running container's PID 1: its UIDs/GIDs/groups, capabilities, no_new_privs,
   * hostname, and whether its root and each mount point are read-only.
   */
  inspect(i: number, container = 'broker'): { uid: number[]; gid: number[]; groups: number[]; capEff: string; noNewPrivs: boolean; hostname: string; mounts: Record<string, string> } {
    const pod = this.pods.get(i);
    const c = pod?.containers.find((x) => x.name === container);
    const pid = c && this.pid1(c);
    if (!pid) throw new Error(`${this.podName(i)}/${container} is not running`);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k: string) => (new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').trim();
    const nums = (k: string) => field(k).split(/\s+/).filter(Boolean).map(Number);
    const mounts: Record<string, string> = {};
    // mountinfo: id parent major:minor root mountpoint options ... (paths as seen from the process's root)
    for (const l of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
      const f = l.split(' ');
      if (f.length > 5) mounts[f[4]!] = f[5]!.split(',')[0]!;
    }
    const hostname = spawnSync('nsenter', ['-t', String(pid), '-u', 'hostname'], { encoding: 'utf8' }).stdout.trim();
    return { uid: nums('Uid'), gid: nums('Gid'), groups: nums('Groups'), capEff: field('CapEff'), noNewPrivs: field('NoNewPrivs') === '1', hostname, mounts };
  }

  /** The last lines of a container's log. */
  logs(i: number, container = 'broker', lines = 40): string {
    const f = join(this.work, this.podName(i), `${container}.log`);
    if (!existsSync(f)) return '';
    return readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n');
  }

  /** All containers' exit codes so far: a container that exited is a failure the caller may want to report. */
  exited(): string[] {
    const out: string[] = [];
    for (const p of this.pods.values()) for (const c of p.containers) if (c.exitCode !== undefined) out.push(`${p.name}/${c.name} exited ${c.exitCode}`);
    return out;
  }

  /** Runs a long-lived process in the node namespace (e.g. a TLS client tunnel); stopped by cleanup. */
  spawnInNode(cmd: string, args: string[], logName: string): ChildProcess {
    const proc = spawn('ip', ['netns', 'exec', this.nodeNs, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = createWriteStream(join(this.work, `${logName}.log`), { flags: 'a' });
    proc.stdout!.pipe(out);
    proc.stderr!.pipe(out);
    this.extra.add(proc);
    proc.once('exit', () => this.extra.delete(proc));
    return proc;
  }

  nodeLog(logName: string): string {
    const f = join(this.work, `${logName}.log`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  async cleanup(): Promise<void> {
    for (const i of [...this.pods.keys()]) await this.stop(i, { kill: true }).catch(() => {});
    this.cleanupSync();
  }

  /** Synchronous, idempotent: kills what runs in our namespaces, deletes them (and their links) and the work dir. */
  cleanupSync(): void {
    if (!live.has(this)) return;
    live.delete(this);
    for (const stop of this.stoppers) stop();
    this.agent?.close();
    for (const p of this.extra) p.kill('SIGKILL');
    for (const pod of this.pods.values()) {
      for (const c of pod.containers) {
        const p = this.pid1(c);
        try {
          if (p) process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
        c.proc.kill('SIGKILL');
      }
    }
    this.pods.clear();
    for (const ns of [...this.nets].reverse()) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
      for (const p of pids) spawnSync('kill', ['-9', p]);
      spawnSync('ip', ['netns', 'del', ns]);
    }
    this.nets.length = 0;
    rmSync(join('/etc/netns', this.nodeNs), { recursive: true, force: true });
    if (!process.env.SB_KEEP_PODS_WORKDIR) rmSync(this.work, { recursive: true, force: true });
  }

  /** What is left of this harness on the machine (namespaces, processes): empty after cleanup. */
  leftovers(): string[] {
    const out: string[] = [];
    if (existsSync('/run/netns')) for (const n of readdirSync('/run/netns')) if (n.startsWith(`${this.id}-`)) out.push(`netns ${n}`);
    if (existsSync(this.work)) out.push(`dir ${this.work}`);
    if (existsSync(join('/etc/netns', this.nodeNs))) out.push(`dir /etc/netns/${this.nodeNs}`);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(this.id));
    out.push(...mounts.map((l) => `mount ${l}`));
    return out;
  }
}

/** The kubelet's $(VAR) expansion of command, args and env values: $$ escapes, unknown names stay as they are. */
export function expand(s: string, env: Record<string, string>): string {
  let out = '';
  for (let k = 0; k < s.length; k++) {
    const ch = s[k];
    if (ch !== '$' || k + 1 >= s.length) {
      out += ch;
      continue;
    }
    const next = s[k + 1];
    if (next === '$') {
      out += '$';
      k++;
    } else if (next === '(') {
      const close = s.indexOf(')', k + 2);
      if (close < 0) {
        out += s.slice(k);
        break;
      }
      const name = s.slice(k + 2, close);
      if (name in env) out += env[name];
      else out += s.slice(k, close + 1);
      k = close;
    } else out += ch;
  }
  return out;
}

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

interface ContainerScript {
  root: string;
  etc: string;
  hostname: string;
  mounts: [string, string, boolean][];
  readOnlyRoot: boolean;
  usrLayer?: string;
  uid: number;
  gid: number;
  groups: number[];
  workingDir?: string;
  env: Record<string, string>;
  argv: string[];
}

/** The shell run as root inside the container's fresh namespaces: build the root, then exec the container. */
function containerScript(c: ContainerScript): string {
  const R = q(c.root);
  const lines = [
    'set -eu',
    `echo ${q(c.hostname)} > /proc/sys/kernel/hostname`,
    `mount -t tmpfs -o mode=0755,size=16m tmpfs ${R}`,
    `cd ${R}`,
    'mkdir -p usr etc proc dev tmp',
    c.usrLayer ? `mount -t overlay overlay -o ro,lowerdir=${q(c.usrLayer)}:/usr usr` : 'mount --bind /usr usr && mount -o remount,bind,ro usr',
    // The host's merged-/usr layout: /bin → usr/bin etc.
    'for d in bin sbin lib lib64 lib32 libx32; do if [ -L /$d ]; then ln -s "$(readlink /$d)" $d; elif [ -d /$d ]; then mkdir $d && mount --bind /$d $d && mount -o remount,bind,ro $d; fi; done',
    'for n in null zero random urandom; do touch dev/$n; mount --bind /dev/$n dev/$n; done',
    'ln -s /proc/self/fd dev/fd',
    'mount -t proc proc proc',
    `for f in hosts hostname resolv.conf passwd group nsswitch.conf; do cp ${q(c.etc)}/$f etc/$f; done`,
    'chmod 1777 tmp',
  ];
  // Bind every mount first (a nested mount point, e.g. /etc/streambus/jwt inside the ConfigMap volume, is made in
  // the parent volume as the container runtime does), then make the read-only ones read-only.
  for (const [src, target] of c.mounts) {
    const t = q(`${c.root}${target}`);
    lines.push(
      `if [ -d ${q(src)} ]; then mkdir -p ${t}; else mkdir -p "$(dirname ${t})"; [ -e ${t} ] || touch ${t}; fi`,
      `mount --bind ${q(src)} ${t}`,
    );
  }
  for (const [, target, ro] of c.mounts) if (ro) lines.push(`mount -o remount,bind,ro ${q(`${c.root}${target}`)}`);
  if (c.readOnlyRoot) lines.push(`mount -o remount,ro ${R}`);
  const env = Object.entries(c.env).map(([k, v]) => q(`${k}=${v}`));
  lines.push(
    'cd /',
    `exec chroot ${R} /usr/bin/setpriv --reuid=${c.uid} --regid=${c.gid} ${c.groups.length ? `--groups=${c.groups.join(',')}` : '--clear-groups'} ` +
      `--no-new-privs --inh-caps=-all --bounding-set=-all /usr/bin/env -i ${c.workingDir ? `-C ${q(c.workingDir)} ` : ''}${env.join(' ')} ${c.argv.map(q).join(' ')}`,
  );
  return lines.join('\n');
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a value (not undefined) or `ms` pass; then throws with the last reason. */
export async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined>, every = 250): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      if ((e as { fatal?: boolean }).fatal) throw e;
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message ?? last}` : ''}`);
    await sleep(every);
  }
}

// ---------------------------------------------------------------------------------------------------------------
/**
 * A small Node.js process in the node namespace that does what the kubelet and clients do there: TCP connects,
 * HTTP GETs, TLS handshakes and commands (the CLI), answering JSON lines. One process, not one per probe.
 */
const AGENT = String.raw`
const net = require('node:net'), http = require('node:http'), tls = require('node:tls'), cp = require('node:child_process');
const rl = require('node:readline').createInterface({ input: process.stdin });
const reply = (id, v) => process.stdout.write(JSON.stringify({ id, ...v }) + '\n');
const services = {};
rl.on('line', (line) => {
  const r = JSON.parse(line);
  const t = r.timeout || 3000;
  if (r.op === 'tcp') {
    const s = net.connect({ host: r.host, port: r.port });
    const timer = setTimeout(() => { s.destroy(); reply(r.id, { ok: false, error: 'timeout' }); }, t);
    s.once('connect', () => { clearTimeout(timer); s.destroy(); reply(r.id, { ok: true }); });
    s.once('error', (e) => { clearTimeout(timer); reply(r.id, { ok: false, error: e.code || e.message }); });
  } else if (r.op === 'http') {
    const req = http.get(r.url, { timeout: t }, (res) => {
      let body = ''; res.on('data', (b) => { body += b; }); res.on('end', () => reply(r.id, { status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => reply(r.id, { error: e.code || e.message }));
  } else if (r.op === 'tls') {
    const o = { host: r.host, port: r.port, servername: r.servername, ca: r.ca, cert: r.cert, key: r.key, rejectUnauthorized: true };
    const s = tls.connect(o);
    let done = false;
    const fin = (v) => { if (done) return; done = true; clearTimeout(timer); s.destroy(); reply(r.id, v); };
    const timer = setTimeout(() => fin({ ok: false, error: 'timeout' }), t);
    // TLS 1.3: the server checks the client certificate after the client's handshake finished, so a refusal
    // arrives as an alert on the first read; write a byte and wait briefly for it.
    s.once('secureConnect', () => {
      const peer = s.getPeerCertificate();
      s.write('\0');
      setTimeout(() => fin({ ok: true, protocol: s.getProtocol(), peer: peer && peer.subject, serial: peer && peer.serialNumber }), r.settle || 500);
    });
    s.on('data', () => {});
    s.once('error', (e) => fin({ ok: false, error: (e.code ? e.code + ': ' : '') + e.message }));
    s.once('close', () => { if (!done) setTimeout(() => fin({ ok: false, error: 'closed by server' }), 0); });
  } else if (r.op === 'plain') {
    // A plaintext client: sends a request and reports what came back.
    const s = net.connect({ host: r.host, port: r.port });
    const chunks = [];
    const timer = setTimeout(() => { s.destroy(); reply(r.id, { ok: false, error: 'timeout', got: Buffer.concat(chunks).toString('hex') }); }, t);
    s.once('connect', () => s.write(Buffer.from(r.payload, 'hex')));
    s.on('data', (b) => chunks.push(b));
    s.once('error', (e) => { clearTimeout(timer); reply(r.id, { ok: false, error: e.code || e.message, got: Buffer.concat(chunks).toString('hex') }); });
    s.once('close', () => { clearTimeout(timer); reply(r.id, { ok: true, closed: true, got: Buffer.concat(chunks).toString('hex') }); });
  } else if (r.op === 'svc-listen') {
    // kube-proxy stand-in: one listener per Service port on its ClusterIP; each new connection goes to a random
    // endpoint of the current list (svc-endpoints), or is refused (reset) when there is none.
    const svc = { endpoints: [], stats: {} };
    services[r.key] = svc;
    const server = net.createServer((c) => {
      const eps = svc.endpoints;
      if (eps.length === 0) { c.resetAndDestroy ? c.resetAndDestroy() : c.destroy(); return; }
      const ep = eps[Math.floor(Math.random() * eps.length)];
      svc.stats[ep] = (svc.stats[ep] || 0) + 1;
      const [host, port] = [ep.slice(0, ep.lastIndexOf(':')), Number(ep.slice(ep.lastIndexOf(':') + 1))];
      const up = net.connect({ host, port });
      c.pipe(up); up.pipe(c);
      const end = () => { c.destroy(); up.destroy(); };
      c.on('error', end); up.on('error', end); c.on('close', end); up.on('close', end);
    });
    server.once('error', (e) => reply(r.id, { ok: false, error: e.code || e.message }));
    server.listen(r.port, r.host, () => reply(r.id, { ok: true }));
  } else if (r.op === 'svc-endpoints') {
    services[r.key].endpoints = r.endpoints;
    reply(r.id, { ok: true });
  } else if (r.op === 'svc-stats') {
    reply(r.id, { stats: services[r.key].stats });
  } else if (r.op === 'stream') {
    // A long-running client (e.g. a consumer): collects stdout lines until 'want' lines match 'match', or no new
    // matching line came for 'idle' ms after the first, or 'timeout' ms; then SIGKILL (the CLI's consume does not
    // stop at --max-messages and may ignore SIGTERM).
    const child = cp.spawn(r.cmd, r.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const re = new RegExp(r.match);
    const remaining = r.expect ? new Set(r.expect) : undefined;
    const lines = []; let out = '', err = '', matched = 0, idleTimer, done = false;
    const t0 = Date.now();
    const fin = (why) => { if (done) return; done = true; clearTimeout(timer); clearTimeout(idleTimer); try { child.kill('SIGKILL'); } catch {} reply(r.id, { why, lines, stderr: err, ms: Date.now() - t0, exit: child.exitCode }); };
    const timer = setTimeout(() => fin('timeout'), t);
    child.stdout.on('data', (b) => {
      out += b;
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const l = out.slice(0, nl); out = out.slice(nl + 1);
        if (!re.test(l)) continue;
        lines.push(l); matched++;
        if (remaining) { remaining.delete(l.slice(l.indexOf(r.valueAfter) + r.valueAfter.length)); if (remaining.size === 0) return fin('complete'); }
        if (r.want && matched >= r.want) return fin('complete');
        clearTimeout(idleTimer); idleTimer = setTimeout(() => fin('idle'), r.idle || 2000);
      }
    });
    child.stderr.on('data', (b) => { err += b; });
    child.once('exit', () => setTimeout(() => fin('exited'), 50));
    if (r.idle) idleTimer = setTimeout(() => fin('idle'), r.firstIdle || r.idle * 2);
  } else if (r.op === 'exec') {
    cp.execFile(r.cmd, r.args, { timeout: t, encoding: 'utf8' }, (e, stdout, stderr) =>
      reply(r.id, { code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, signal: e && e.signal, stdout, stderr }));
  }
});
`;

export class NodeAgent {
  private proc: ChildProcess;
  private next = 0;
  private waiting = new Map<number, (v: Obj) => void>();
  readonly ready: Promise<void>;

  constructor(pods: Pods, ns: string) {
    const file = join(pods.work, 'agent.cjs');
    writeFileSync(file, AGENT);
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, file], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    this.proc.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const v = JSON.parse(line);
        this.waiting.get(v.id)?.(v);
        this.waiting.delete(v.id);
      }
    });
    this.ready = this.call({ op: 'exec', cmd: 'true', args: [] }).then(() => undefined);
  }

  call(req: Obj): Promise<Obj> {
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node agent did not answer ${JSON.stringify(req).slice(0, 200)}`)), (req.timeout ?? 3000) + 10_000);
      this.waiting.set(id, (v) => {
        clearTimeout(timer);
        resolve(v);
      });
      this.proc.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  async tcpOpen(host: string, port: number, timeout = 2000): Promise<boolean> {
    return (await this.call({ op: 'tcp', host, port, timeout })).ok;
  }
  async get(url: string, timeout = 3000): Promise<{ status?: number; body?: string; error?: string }> {
    return (await this.call({ op: 'http', url, timeout })) as { status?: number; body?: string; error?: string };
  }
  async exec(cmd: string, args: string[], timeout = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return (await this.call({ op: 'exec', cmd, args, timeout })) as { code: number; stdout: string; stderr: string };
  }
  /**
   * Runs a long-lived command (e.g. a consumer) and collects the stdout lines matching `match` until `want` of them
   * came, or every value in `expect.values` came (the text after `expect.after` in a line), or none came for `idleMs`
   * (after the first; `firstIdleMs` before it), or `timeoutMs`; then SIGKILLs it.
   */
  async stream(
    cmd: string,
    args: string[],
    o: { match: string; want?: number; expect?: { values: string[]; after: string }; idleMs?: number; firstIdleMs?: number; timeoutMs: number },
  ): Promise<{ why: string; lines: string[]; stderr: string; ms: number }> {
    const req = { op: 'stream', cmd, args, match: o.match, want: o.want, expect: o.expect?.values, valueAfter: o.expect?.after, idle: o.idleMs, firstIdle: o.firstIdleMs, timeout: o.timeoutMs };
    return (await this.call(req)) as { why: string; lines: string[]; stderr: string; ms: number };
  }
  close() {
    this.proc.kill('SIGKILL');
  }
}
