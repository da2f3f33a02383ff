/**
 * The data path as an application uses it, in the broker-pods harness (test/helpers/pods.ts): render with status,
 * the client Service, TLS client tunnels, and the real CLI producing and consuming. Used by test/e2e/datapath.test.ts
 * and bench/datapath.mts. The CLI (`streambus-cli` v1.0.1) produces one message per process (`-m`, or the first
 * line of stdin) and its `consume` does not stop at `--max-messages`: consumers are stopped by the node agent.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { makePki } from './certs.js';
import { testSecrets, waitForQuorum } from './brokers.js';
import { manifestsOf, Pods, waitFor } from './pods.js';
import { ROOT, toolPath } from './tools.js';

type Obj = Record<string, any>;
const run = promisify(execFile);
export const TOPIC = 'orders';

/** `function-streambus render -s`: the XR (with status) and the composed resources (Objects unwrapped). */
export async function renderWithStatus(file: string): Promise<{ xr: Obj; manifests: Obj[] }> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'render', '-q', '-s', file], { cwd: ROOT, maxBuffer: 32 << 20, timeout: 60_000 });
  const docs = parseAllDocuments(stdout).map((d) => d.toJSON() as Obj).filter(Boolean);
  const xr = docs.find((d) => d.kind === 'XStreamBusCluster' || d.kind === 'StreamBusCluster');
  if (!xr) throw new Error('render -s printed no XR');
  return { xr, manifests: manifestsOf(stdout).filter((m) => m !== xr) };
}

export async function renderClaimWithStatus(claim: Obj): Promise<{ xr: Obj; manifests: Obj[] }> {
  const dir = mkdtempSync(join(tmpdir(), `sb-dp${process.pid}-`));
  try {
    const f = join(dir, 'claim.yaml');
    writeFileSync(f, stringify(claim));
    return await renderWithStatus(f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The client Service: the one non-headless Service of the render with a `client` port. */
export function clientService(manifests: Obj[]): Obj {
  const svcs = manifests.filter((m) => m.kind === 'Service' && m.spec.clusterIP !== 'None' && (m.spec.ports ?? []).some((p: Obj) => p.name === 'client'));
  if (svcs.length !== 1) throw new Error(`expected one client Service, found ${svcs.map((s) => s.metadata.name).join(', ') || 'none'}`);
  return svcs[0]!;
}

/** A test PKI whose server certificate names every pod and the client Service, and the Secrets the render mounts. */
export function pkiFor(sts: Obj, svcFqdn: string) {
  const fqdns = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}.${sts.metadata.namespace}.svc.cluster.local`);
  const pki = makePki([...fqdns, svcFqdn].map((f) => `DNS:${f}`));
  const read = (f: string) => readFileSync(join(pki.dir, f));
  const secrets = testSecrets(sts, { serverCert: read('server.crt'), serverKey: read('server.key'), ca: pki.ca });
  const tls = sts.spec.template.spec.containers.some((c: Obj) => c.name === 'tls-proxy') ? { cert: join(pki.dir, 'client.crt'), key: join(pki.dir, 'client.key'), cacert: join(pki.dir, 'ca.crt') } : undefined;
  return { secrets, tls };
}

/**
 * The address an application's CLI is given for `target` (host:port, comma-separated list allowed): the target
 * itself, or for TLS a ghostunnel client tunnel per address on the node's loopback, verifying the dialled name and
 * presenting the client certificate (the CLI speaks plain TCP).
 */
export class Addresses {
  private next = 41000;
  private readonly tunnels = new Map<string, string>();
  constructor(
    private readonly pods: Pods,
    private readonly tls?: { cert: string; key: string; cacert: string },
  ) {}
  async of(target: string): Promise<string> {
    if (!this.tls) return target;
    const out: string[] = [];
    for (const t of target.split(',')) {
      let a = this.tunnels.get(t);
      if (!a) {
        const port = this.next++;
        this.pods.spawnInNode(toolPath('ghostunnel')!, ['client', `--listen=127.0.0.1:${port}`, `--target=${t}`, `--cert=${this.tls.cert}`, `--key=${this.tls.key}`, `--cacert=${this.tls.cacert}`], `tunnel-${port}`);
        await waitFor(`the TLS client tunnel to ${t}`, 15_000, async () => ((await this.pods.agent!.tcpOpen('127.0.0.1', port)) ? true : undefined));
        a = `127.0.0.1:${port}`;
        this.tunnels.set(t, a);
      }
      out.push(a);
    }
    return out.join(',');
  }
}

export interface Produced {
  acked: string[];
  failed: { payload: string; why: string }[];
}

export async function produce(pods: Pods, cliBin: string, addr: string, tag: string, n: number): Promise<Produced> {
  const out: Produced = { acked: [], failed: [] };
  for (let k = 1; k <= n; k++) {
    const payload = `${tag}-${k}-${Math.random().toString(36).slice(2, 8)}`;
    const r = await pods.agent!.exec(cliBin, ['-b', addr, 'produce', TOPIC, '-m', payload], 15_000);
    if (r.code === 0 && /produced successfully/i.test(r.stdout)) out.acked.push(payload);
    else out.failed.push({ payload, why: `${r.code}: ${(r.stdout + r.stderr).trim().split('\n').slice(-1)[0]}` });
  }
  return out;
}

/** A fresh consumer from the earliest offset: the values it reads (stops once it read every `expected`, or idles). */
export async function consume(pods: Pods, cliBin: string, addr: string, expected: string[]): Promise<{ values: string[]; why: string; error?: string; ms: number }> {
  const after = ', Value: ';
  const r = await pods.agent!.stream(cliBin, ['-b', addr, 'consume', TOPIC, '-o', 'earliest'], {
    match: '^Offset: \\d+, Key: .*, Value: ',
    expect: expected.length ? { values: expected, after } : undefined,
    idleMs: 1500,
    firstIdleMs: 4000,
    timeoutMs: 30_000,
  });
  const values = r.lines.map((l) => l.slice(l.indexOf(after) + after.length));
  return { values, why: r.why, error: r.stderr.trim().split('\n').slice(-1)[0] || undefined, ms: r.ms };
}

export function missing(values: string[], acked: string[]): string[] {
  const seen = new Set(values);
  return acked.filter((v) => !seen.has(v));
}

/** Boots the render's pods with the real broker (and ghostunnel sidecar) and waits for quorum. */
export async function bootPods(
  manifests: Obj[],
  secrets: Record<string, Record<string, string | Buffer>>,
  boundMs: number,
  opts: { log?: (l: string) => void; created?: (pods: Pods) => void } = {},
) {
  const pods = new Pods({
    manifests,
    secrets,
    images: {
      broker: { files: { '/app/streambus-broker': toolPath('streambus-broker')! } },
      'tls-proxy': { files: { '/usr/bin/ghostunnel': toolPath('ghostunnel')! }, entrypoint: ['/usr/bin/ghostunnel'] },
    },
    log: opts.log,
  });
  opts.created?.(pods);
  await pods.setup();
  const t0 = Date.now();
  await pods.startAll();
  const { quorumMs } = await waitForQuorum(pods, t0, boundMs);
  return { pods, quorumMs };
}

