/**
 * A real Kubernetes node for the control-plane harness (test/helpers/controlplane.ts), opt-in per test file, beside
 * kwok's fake nodes: kubelet v1.34.1 and kube-proxy (iptables mode) built from k8s.io/kubernetes, containerd 1.6 and
 * runc from Debian, the CNI reference plugins (bridge, host-local, loopback, portmap), and cluster DNS from a real
 * CoreDNS (Service `kube-dns` at 10.0.0.10 in kube-system). Recipe and the two blockers it works around:
 * ../shared/reference/real-node.md.
 *
 * Layout, all per run: the node is a network namespace of the run (`sbcp-<id>-node`, joined to the control plane's
 * by a veth pair; the control plane routes the pod CIDR to it), so its ports, bridge and iptables rules stay away
 * from the host and from other runs. containerd and the kubelet enter only that network namespace (`nsenter --net`):
 * `ip netns exec` remounts /sys and hides the cgroup mounts. containerd's root, state, sockets and runc root, the
 * kubelet's root, certificate, log and pod-log folders, the CNI configuration and IPAM data are under the run's
 * folder; the kubelet's cgroups are under `cgroupRoot: /sbcp-<id>` in every controller. CoreDNS runs out of band in
 * the node's namespace (like the harness runs Crossplane), answering on the node's address; pods reach it through
 * the kube-dns Service, i.e. through kube-proxy's rules.
 *
 * The node registers with the taint `streambus.io/real-node=true:NoSchedule` and the label
 * `streambus.io/real-node=true`: only pods that tolerate the taint and select the label land there.
 *
 * Stopping (and the exit handlers, and the next run's reaper for a run killed outright): processes by PID (the
 * kubelet, kube-proxy, CoreDNS, containerd; then everything left in the node's and its pods' namespaces), the pods'
 * /run/netns/cni-* removed, mounts under the folder unmounted, the cgroup tree removed, the host sysctls the kubelet
 * changes (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops) restored, its /var/log/containers links removed.
 *
 * Images: there is no registry a node here could pull public images from. `importImage` writes a one-layer OCI
 * archive (files copied from this machine) and imports it with `ctr`; pods use `imagePullPolicy: Never`. The pause
 * image is our own (test/pause, built by scripts/install-tools.sh node). Packages pushed to the harness's registry
 * (`127.0.0.1:5000/...`, e.g. the Function package whose image Crossplane's Deployment runtime runs) are pulled from
 * it through a TCP relay on the control plane's end of the node's veth pair (containerd's mirror for that host).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { ControlPlane, REGISTRY, run, signLeaf, waitFor, type ComponentNs } from './controlplane.js';
import { cgroupHierarchies, deleteNamespace, podNamespacesOf, removeCgroupTree } from './netns.js';
import { IN_CI, TOOLS_BIN, toolPath } from './tools.js';

type Obj = Record<string, any>;

export const NODE_TOOLS = ['kubelet', 'kube-proxy', 'coredns', 'streambus-pause'];
const CNI_BIN = '/usr/lib/cni';
const HOST_COMMANDS = ['containerd', 'ctr', 'runc', 'iptables', 'conntrack', 'nsenter', 'tar'];
/** The taint and label of the real node: only pods that tolerate and select it land there. */
export const NODE_TAINT = { key: 'streambus.io/real-node', value: 'true', effect: 'NoSchedule' };
export const NODE_LABEL = { 'streambus.io/real-node': 'true' };
/** Scheduling that puts a pod on the real node. */
export const ON_REAL_NODE = { nodeSelector: NODE_LABEL, tolerations: [{ key: NODE_TAINT.key, operator: 'Equal', value: NODE_TAINT.value, effect: NODE_TAINT.effect }] };
export const DNS_SERVICE_IP = '10.0.0.10';
const HOST_SYSCTLS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops'];

/** True when this machine can run a real node; otherwise says why loudly, and throws under CI=true. */
export function nodeAvailable(): boolean {
  const problems: string[] = [];
  const missing = NODE_TOOLS.filter((t) => !toolPath(t));
  if (missing.length) problems.push(`missing tools in .tools/bin: ${missing.join(', ')}`);
  const cmds = HOST_COMMANDS.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
  if (cmds.length) problems.push(`missing commands: ${cmds.join(', ')}`);
  const cni = ['bridge', 'host-local', 'loopback', 'portmap'].filter((p) => !existsSync(join(CNI_BIN, p)));
  if (cni.length) problems.push(`missing CNI plugins in ${CNI_BIN}: ${cni.join(', ')}`);
  if (!/install ok installed/.test(spawnSync('dpkg-query', ['-W', '-f=${Status}', 'busybox-static'], { encoding: 'utf8' }).stdout ?? '') || !existsSync('/bin/busybox')) problems.push('no static /bin/busybox (Debian busybox-static)');
  if (problems.length === 0) return true;
  const msg = `a real node cannot run (run scripts/install-tools.sh node): ${problems.join('; ')}`;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  process.stderr.write(`\n!!!!!!!!!! SKIPPED: ${msg} !!!!!!!!!!\n\n`);
  return false;
}

/** A file of a test image: copied from `from` on this machine, or `content`, or a symlink to `link`. */
export interface ImageFile {
  path: string;
  from?: string;
  content?: string;
  link?: string;
  mode?: number;
}

export interface NodeImage {
  /** Full reference, e.g. localhost/streambus-e2e/pause:v1. */
  ref: string;
  files: ImageFile[];
  /** Empty folders (mode 1777 for /tmp). */
  dirs?: string[];
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
}

/** busybox's applets the test images link (the shell, DNS and HTTP tools the smoke test uses). */
const BUSYBOX_APPLETS = ['sh', 'cat', 'echo', 'ls', 'mkdir', 'nslookup', 'wget', 'httpd', 'nc', 'sleep', 'seq', 'wc', 'grep', 'date', 'env', 'hostname', 'id', 'true', 'false', 'sort', 'uniq', 'head', 'tail', 'tr', 'test', '[', 'timeout', 'sed', 'tee', 'printf'];

/** busybox (static, from Debian's busybox-static) and its applets, for a test image. */
export function busyboxFiles(): ImageFile[] {
  return [{ path: '/bin/busybox', from: '/bin/busybox', mode: 0o755 }, ...BUSYBOX_APPLETS.map((a) => ({ path: `/bin/${a}`, link: 'busybox' }))];
}

export const PAUSE_IMAGE = 'localhost/streambus-e2e/pause:v1';

export class RealNode {
  readonly name: string;
  readonly net: ComponentNs;
  readonly dir: string;
  readonly podCidr: string;
  readonly cgroupRoot: string;
  /** Milliseconds each start-up phase took. */
  readonly timings: Record<string, number> = {};
  private readonly sock: string;
  private readonly sysctls = new Map<string, string>();
  private readonly procs: ChildProcess[] = [];

  private constructor(readonly cp: ControlPlane, name: string) {
    this.name = name;
    this.net = cp.componentNs('node');
    this.dir = join(cp.dir, 'node');
    mkdirSync(this.dir, { recursive: true });
    this.podCidr = `10.214.${cp.subnet()}.0/24`;
    this.cgroupRoot = `/${cp.ns}`;
    this.sock = join(this.dir, 'containerd.sock');
  }

  /**
   * Starts containerd, CoreDNS, the kubelet and kube-proxy; returns once the node is Ready and DNS answers. Also
   * points Crossplane's resolver at CoreDNS (ControlPlane.useClusterDns; only when Crossplane runs Functions with the
   * Deployment runtime).
   */
  static async start(cp: ControlPlane, name = 'streambus-node'): Promise<RealNode> {
    const node = new RealNode(cp, name);
    cp.onStop(() => node.cleanupSync());
    const phase = async (n: string, f: () => Promise<void> | void) => {
      const t0 = Date.now();
      await f();
      node.timings[n] = Date.now() - t0;
    };
    await phase('node-network+pki', async () => {
      node.network();
      node.pki();
    });
    await phase('containerd', async () => {
      await node.startContainerd();
      await node.importImage({ ref: PAUSE_IMAGE, files: [{ path: '/pause', from: join(TOOLS_BIN, 'streambus-pause'), mode: 0o755 }], entrypoint: ['/pause'] });
    });
    await phase('dns+kube-proxy', async () => {
      await node.startDns();
      cp.useClusterDns(node.net.ip);
      node.startKubeProxy();
    });
    await phase('kubelet', async () => {
      node.startKubelet();
      await waitFor(`node ${name} Ready`, async () => {
        const n = await cp.get('node', name);
        return ((n?.status?.conditions ?? []) as Obj[]).some((c) => c.type === 'Ready' && c.status === 'True');
      }, 180_000, 1000, () => `${cp.logTail('kubelet', 20)}\n${cp.logTail('containerd', 10)}`);
    });
    return node;
  }

  // ------------------------------------------------------------------------------------------- network and PKI
  private ip(...a: string[]): void {
    const r = spawnSync('ip', a, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
  }

  private network(): void {
    // The control plane reaches the pods through the node; the node forwards for its bridge.
    this.ip('-n', this.cp.ns, 'route', 'add', this.podCidr, 'via', this.net.ip);
    this.ip('-n', this.net.ns, 'route', 'add', 'default', 'via', this.net.apiserverIp);
    const r = spawnSync('ip', ['netns', 'exec', this.net.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip_forward in ${this.net.ns}: ${r.stderr}`);
  }

  private kubeconfig(name: string, user: string, group?: string): string {
    const pki = join(this.cp.dir, 'pki');
    signLeaf(pki, `node-${name}`, user, 'ca', 'extendedKeyUsage=clientAuth', group ? `/O=${group}` : '');
    const b64 = (f: string) => readFileSync(join(pki, f)).toString('base64');
    const file = join(this.dir, `${name}.kubeconfig`);
    writeFileSync(file, stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: `https://${this.net.apiserverIp}:6443`, 'certificate-authority-data': b64('ca.crt') } }],
      users: [{ name, user: { 'client-certificate-data': b64(`node-${name}.crt`), 'client-key-data': b64(`node-${name}.key`) } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: name } }],
      'current-context': 'e2e',
    }));
    return file;
  }

  private pki(): void {
    // The kubelet as the Node authorizer expects it; kube-proxy as the built-in system:node-proxier binding names it;
    // CoreDNS under a user of its own (its ClusterRole is applied in startDns).
    this.kubeconfig('kubelet', `system:node:${this.name}`, 'system:nodes');
    this.kubeconfig('kube-proxy', 'system:kube-proxy');
    this.kubeconfig('coredns', 'system:coredns-e2e');
  }

  // ------------------------------------------------------------------------------------------- containerd and images
  /**
   * The node pulls from the harness's registry under the references Crossplane uses (`127.0.0.1:5000/...`, the
   * package source a Function names): that registry listens on the control plane's loopback only, so a small TCP
   * relay in the control plane's namespace listens on its end of the node's veth pair, and containerd is told to
   * use it as the mirror of `127.0.0.1:5000` (plain HTTP).
   */
  private registryRelay(): string {
    const [host, port] = REGISTRY.split(':') as [string, string];
    const relay = [
      'const net = require("net");',
      `net.createServer((c) => { const u = net.connect(${port}, ${JSON.stringify(host)}); c.pipe(u); u.pipe(c);`,
      '  c.on("error", () => u.destroy()); u.on("error", () => c.destroy()); })',
      `  .listen(${port}, ${JSON.stringify(this.net.apiserverIp)}, () => console.log("relaying ${this.net.apiserverIp}:${port} -> ${REGISTRY}"));`,
    ].join('\n');
    this.procs.push(this.cp.spawn('registry-relay', this.cp.ns, [process.execPath, '-e', relay]));
    return `http://${this.net.apiserverIp}:${port}`;
  }

  private async startContainerd(): Promise<void> {
    const d = (...p: string[]) => join(this.dir, ...p);
    const mirror = this.registryRelay();
    for (const f of ['cni', 'cni-ipam', 'containerd-root', 'containerd-state', 'runc', 'opt']) mkdirSync(d(f), { recursive: true });
    // One CNI network of this run: a bridge of its own (named after the run) in the node's namespace.
    writeFileSync(d('cni', '10-streambus-e2e.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: `sbnet-${this.cp.id}`,
      plugins: [
        { type: 'bridge', bridge: `sbbr${process.pid % 100000}`, isGateway: true, ipMasq: true, hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: this.podCidr }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: d('cni-ipam') } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }, null, 2));
    const q = JSON.stringify;
    writeFileSync(d('containerd.toml'), [
      'version = 2',
      `root = ${q(d('containerd-root'))}`,
      `state = ${q(d('containerd-state'))}`,
      'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
      '[grpc]',
      `  address = ${q(this.sock)}`,
      '[ttrpc]',
      `  address = ${q(d('containerd-ttrpc.sock'))}`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${q(d('opt'))}`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = ${q(PAUSE_IMAGE)}`,
      // These machines lack CAP_SYS_RESOURCE: a negative oom_score_adj for pause containers is refused and every
      // sandbox fails (`can't get final child's PID from pipe: EOF`). See real-node.md.
      '  restrict_oom_score_adj = true',
      '  enable_selinux = false',
      '  [plugins."io.containerd.grpc.v1.cri".containerd]',
      '    snapshotter = "overlayfs"',
      '    default_runtime_name = "runc"',
      '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '      runtime_type = "io.containerd.runc.v2"',
      '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
      '        SystemdCgroup = false',
      `        Root = ${q(d('runc'))}`,
      '  [plugins."io.containerd.grpc.v1.cri".cni]',
      `    bin_dir = ${q(CNI_BIN)}`,
      `    conf_dir = ${q(d('cni'))}`,
      '    max_conf_num = 1',
      `  [plugins."io.containerd.grpc.v1.cri".registry.mirrors.${q(REGISTRY)}]`,
      `    endpoint = [${q(mirror)}]`,
      '',
    ].join('\n'));
    this.procs.push(this.cp.spawn('containerd', this.net.ns, ['containerd', '--config', d('containerd.toml'), '--log-level', 'warn'], {}, { netOnly: true }));
    await waitFor('containerd', async () => (await this.ctr(['version'])).code === 0, 60_000, 300, () => this.cp.logTail('containerd', 20));
  }

  /** `ctr` against this node's containerd, in the CRI's namespace. */
  ctr(args: string[], timeoutMs = 120_000) {
    return run('ctr', ['--address', this.sock, '--namespace', 'k8s.io', ...args], { timeoutMs });
  }

  /**
   * Writes `img` as a one-layer OCI image archive (the `io.containerd.image.name` annotation names it) and imports it
   * into the node's containerd; returns its reference. Pods use it with `imagePullPolicy: Never`.
   */
  async importImage(img: NodeImage): Promise<string> {
    const slug = img.ref.replace(/[^a-z0-9]+/gi, '-');
    const stage = join(this.dir, 'images', slug, 'rootfs');
    const layout = join(this.dir, 'images', slug, 'oci');
    rmSync(join(this.dir, 'images', slug), { recursive: true, force: true });
    mkdirSync(stage, { recursive: true });
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    for (const dir of img.dirs ?? []) {
      mkdirSync(join(stage, dir), { recursive: true });
      if (dir === '/tmp') chmodSync(join(stage, dir), 0o1777);
    }
    for (const f of img.files) {
      const to = join(stage, f.path);
      mkdirSync(dirname(to), { recursive: true });
      if (f.link !== undefined) symlinkSync(f.link, to);
      else if (f.from !== undefined) copyFileSync(f.from, to);
      else writeFileSync(to, f.content ?? '');
      if (f.link === undefined) chmodSync(to, f.mode ?? 0o644);
    }
    const layerTar = join(this.dir, 'images', slug, 'layer.tar');
    const tar = await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', stage, '-cf', layerTar, '.']);
    if (tar.code !== 0) throw new Error(`tar (image ${img.ref}): ${tar.stderr}`);
    const blob = (data: Buffer) => {
      const digest = createHash('sha256').update(data).digest('hex');
      writeFileSync(join(layout, 'blobs', 'sha256', digest), data);
      return { digest: `sha256:${digest}`, size: data.length };
    };
    const layer = blob(readFileSync(layerTar));
    const config = blob(Buffer.from(JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { ...(img.entrypoint ? { Entrypoint: img.entrypoint } : {}), ...(img.cmd ? { Cmd: img.cmd } : {}), ...(img.user ? { User: img.user } : {}), Env: ['PATH=/bin:/app'] },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    })));
    const manifest = blob(Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
    })));
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': img.ref, 'org.opencontainers.image.ref.name': img.ref.split(':').pop() } }],
    }));
    const archive = join(this.dir, 'images', `${slug}.tar`);
    const pack = await run('tar', ['-C', layout, '-cf', archive, '.']);
    if (pack.code !== 0) throw new Error(`tar (archive ${img.ref}): ${pack.stderr}`);
    await this.importArchive(archive, img.ref);
    rmSync(join(this.dir, 'images', slug), { recursive: true, force: true });
    return img.ref;
  }

  /** Imports an OCI/Docker image archive (e.g. one scripts/build-images.sh made) and checks `ref` is then present. */
  async importArchive(archive: string, ref: string): Promise<void> {
    const r = await this.ctr(['images', 'import', archive], 300_000);
    if (r.code !== 0) throw new Error(`ctr images import ${archive}: ${r.stderr}${r.stdout}`);
    const ls = await this.ctr(['images', 'ls', '-q']);
    if (!ls.stdout.split('\n').includes(ref)) throw new Error(`after importing ${archive}, ${ref} is not among the node's images:\n${ls.stdout}${ls.stderr}`);
  }

  // ------------------------------------------------------------------------------------------- DNS and kube-proxy
  private async startDns(): Promise<void> {
    await this.cp.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'e2e:coredns' },
        rules: [
          { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'e2e:coredns' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'e2e:coredns' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:coredns-e2e' }],
      },
      // The cluster DNS Service; its endpoint is CoreDNS on the node's address (CoreDNS runs out of band).
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
        spec: { clusterIP: DNS_SERVICE_IP, ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }] },
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'kube-dns-node', namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'e2e.streambus.io' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: [this.net.ip], conditions: { ready: true }, nodeName: this.name }],
        ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }],
      },
    ]);
    const corefile = join(this.dir, 'Corefile');
    writeFileSync(corefile, [
      '.:53 {',
      `  bind ${this.net.ip}`,
      '  errors',
      '  health 127.0.0.1:18181',
      '  ready 127.0.0.1:18182',
      '  kubernetes cluster.local in-addr.arpa ip6.arpa {',
      `    kubeconfig ${join(this.dir, 'coredns.kubeconfig')} e2e`,
      '    pods insecure',
      '    fallthrough in-addr.arpa ip6.arpa',
      '  }',
      '  cache 5',
      '}',
      '',
    ].join('\n'));
    this.procs.push(this.cp.spawn('coredns', this.net.ns, [join(TOOLS_BIN, 'coredns'), '-conf', corefile]));
    await waitFor('CoreDNS ready', async () => (await run('ip', ['netns', 'exec', this.net.ns, 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/18182 && printf "GET /ready HTTP/1.0\\r\\n\\r\\n" >&3 && head -1 <&3'])).stdout.includes('200'),
      90_000, 500, () => this.cp.logTail('coredns', 20));
  }

  private startKubeProxy(): void {
    const cfg = join(this.dir, 'kube-proxy.yaml');
    writeFileSync(cfg, stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig: join(this.dir, 'kube-proxy.kubeconfig') },
      mode: 'iptables',
      clusterCIDR: this.podCidr,
      hostnameOverride: this.name,
      bindAddress: this.net.ip,
      metricsBindAddress: '127.0.0.1:10249',
      healthzBindAddress: '127.0.0.1:10256',
      // It cannot change the conntrack sysctls here (and must not: they are host-wide).
      conntrack: { maxPerCore: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
      nodePortAddresses: [`${this.net.ip}/32`],
    }));
    this.procs.push(this.cp.spawn('kube-proxy', this.net.ns, [join(TOOLS_BIN, 'kube-proxy'), `--config=${cfg}`, '--v=1'], {}, { netOnly: true }));
  }

  // ------------------------------------------------------------------------------------------- the kubelet
  private startKubelet(): void {
    for (const s of HOST_SYSCTLS) {
      try {
        this.sysctls.set(s, readFileSync(`/proc/sys/${s}`, 'utf8').trim());
      } catch {
        /* not readable: nothing to restore */
      }
    }
    // The kubelet wants its cgroup root to exist in every hierarchy (cpuset: with the parent's CPUs and memory nodes).
    for (const h of cgroupHierarchies()) {
      const d = join(h, this.cgroupRoot);
      mkdirSync(d, { recursive: true });
      if (h.endsWith('/cpuset')) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(d, f), readFileSync(join(h, f), 'utf8').trim() || '0');
      }
    }
    const d = (...p: string[]) => join(this.dir, ...p);
    for (const f of ['kubelet', 'kubelet-certs', 'pod-logs']) mkdirSync(d(f), { recursive: true });
    writeFileSync(d('resolv.conf'), 'nameserver 127.0.0.1\noptions ndots:1\n');
    const cfg = d('kubelet.yaml');
    writeFileSync(cfg, stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: this.net.ip,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: join(this.cp.dir, 'pki', 'ca.crt') } },
      authorization: { mode: 'AlwaysAllow' },
      cgroupDriver: 'cgroupfs',
      cgroupRoot: this.cgroupRoot,
      failSwapOn: false,
      containerRuntimeEndpoint: `unix://${this.sock}`,
      podLogsDir: d('pod-logs'),
      podCIDR: this.podCidr,
      clusterDNS: [DNS_SERVICE_IP],
      clusterDomain: 'cluster.local',
      resolvConf: d('resolv.conf'),
      registerWithTaints: [NODE_TAINT],
      // Images imported locally must never be garbage-collected; the shared disk must not trigger evictions.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%', 'imagefs.inodesFree': '1%' },
      serializeImagePulls: false,
      nodeStatusUpdateFrequency: '5s',
      syncFrequency: '10s',
      failCgroupV1: false,
    }));
    const labels = Object.entries(NODE_LABEL).map(([k, v]) => `${k}=${v}`).join(',');
    this.procs.push(this.cp.spawn('kubelet', this.net.ns, [join(TOOLS_BIN, 'kubelet'), `--config=${cfg}`, `--kubeconfig=${d('kubelet.kubeconfig')}`,
      `--root-dir=${d('kubelet')}`, `--cert-dir=${d('kubelet-certs')}`, `--hostname-override=${this.name}`, `--node-ip=${this.net.ip}`,
      `--node-labels=${labels}`, '--v=1'], {}, { netOnly: true }));
  }

  // ------------------------------------------------------------------------------------------- teardown
  /** Synchronous (runs from the exit handlers too): see the file's comment. */
  private cleanupSync(): void {
    for (const p of this.procs.slice().reverse()) {
      if (p.pid && p.exitCode === null && p.signalCode === null) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    for (const ns of podNamespacesOf(this.cgroupRoot)) deleteNamespace(ns);
    deleteNamespace(this.net.ns); // containerd's shims
    removeCgroupTree(this.cgroupRoot);
    for (const [s, v] of this.sysctls) {
      try {
        if (readFileSync(`/proc/sys/${s}`, 'utf8').trim() !== v) writeFileSync(`/proc/sys/${s}`, v);
      } catch {
        /* best effort */
      }
    }
    try {
      for (const f of readdirSync('/var/log/containers')) {
        const p = join('/var/log/containers', f);
        if (lstatSync(p).isSymbolicLink() && readlinkSync(p).startsWith(this.dir)) rmSync(p, { force: true });
      }
    } catch {
      /* no such folder */
    }
  }

  /**
   * A StorageClass (no provisioner, WaitForFirstConsumer) with `count` pre-made local PersistentVolumes of each size on
   * this node: folders under the node's own folder (the kubelet applies the pods' fsGroup to local volumes).
   */
  async addLocalVolumes(storageClass: string, sizes: string[], count: number): Promise<void> {
    const docs: Obj[] = [{
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: storageClass },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Retain',
    }];
    for (const size of sizes) {
      for (let i = 0; i < count; i++) {
        const name = `local-${storageClass}-${size.toLowerCase()}-${i}`;
        const path = join(this.dir, 'volumes', name);
        mkdirSync(path, { recursive: true });
        docs.push({
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name },
          spec: {
            capacity: { storage: size },
            accessModes: ['ReadWriteOnce'],
            storageClassName: storageClass,
            persistentVolumeReclaimPolicy: 'Retain',
            local: { path },
            nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [this.name] }] }] } },
          },
        });
      }
    }
    await this.cp.apply(docs);
  }

  /**
   * Makes this node's Released local volumes (of addLocalVolumes: their claims deleted, reclaim policy Retain)
   * Available again and empty, as an administrator recycles a Retain volume by hand: its folder emptied, its
   * spec.claimRef removed. Returns their names.
   */
  async recycleVolumes(): Promise<string[]> {
    const root = join(this.dir, 'volumes');
    const released = (await this.cp.list('persistentvolumes')).filter((pv) => pv.status?.phase === 'Released' && String(pv.spec?.local?.path ?? '').startsWith(`${root}/`));
    for (const pv of released) {
      const path = pv.spec.local.path as string;
      for (const entry of readdirSync(path)) rmSync(join(path, entry), { recursive: true, force: true });
      await this.cp.k(['patch', 'persistentvolume', pv.metadata.name, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/claimRef' }])]);
    }
    return released.map((pv) => pv.metadata.name as string);
  }

  /** `kubectl get nodes,pods -o wide` (all namespaces), for the report. */
  async overview(): Promise<string> {
    const r = await this.cp.kubectl(['get', 'nodes,pods', '-A', '-o', 'wide']);
    return r.stdout || r.stderr;
  }
}
