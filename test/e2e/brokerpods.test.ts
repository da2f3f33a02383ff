/**
 * The rendered cluster of every seed example, run as pods with the real StreamBus v1.0.1 broker (issue 13, part 1).
 *
 * Each example's claim is rendered with `function-streambus render`; its StatefulSet's pods run as test/helpers/
 * pods.ts runs them (own network namespace on a private bridge, DNS identity in /etc/hosts, the ConfigMap and
 * volumes at their mountPaths, read-only root, runAsUser/fsGroup, command/args/env unmodified). Then, each wait
 * bounded: every client port open (opened only at quorum), exactly one leader, the rendered probes answer, a CLI
 * round trip; one broker killed and restarted from the same render; a rolling restart (highest ordinal first)
 * onto a render with a new config hash, during which a majority stays ready. A broken render (a peer or the
 * broker id removed) must fail these checks. Timings are printed and kept in .tmp/brokerpods-timings.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EXAMPLES } from '../helpers/fixtures.js';
import { makePki, requireOpenssl } from '../helpers/certs.js';
import {
  Clients,
  brokerPorts,
  cliRoundTrip,
  podReady,
  testSecrets,
  leaders,
  probeFailures,
  readClaim,
  renderClaim,
  renderClaimObject,
  statefulSetOf,
  waitForQuorum,
} from '../helpers/brokers.js';
import { Pods, requirePods, sleep, waitFor } from '../helpers/pods.js';
import { requireTool, ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;

const broker = requireTool('streambus-broker', 'the pod tests run the real broker');
const cliBin = requireTool('streambus-cli', 'the pod tests make CLI round trips');
const ghostunnel = requireTool('ghostunnel', 'the TLS examples run the ghostunnel sidecar and client tunnels');
const openssl = requireOpenssl();
const canRun = requirePods('the broker pod tests run each pod in its own namespaces');
const enabled = !!broker && !!cliBin && !!ghostunnel && !!openssl && canRun;

const BOOT_MS = 90_000;
const RECOVER_MS = 90_000;
const CONFIG_HASH = 'streambus.io/config-hash';
const timings: Record<string, Obj> = {};
let current: Pods | undefined;

afterEach(async () => {
  await current?.cleanup();
  if (current) expect(current.leftovers()).toEqual([]);
  current = undefined;
});
afterAll(() => {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  writeFileSync(join(ROOT, '.tmp', 'brokerpods-timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
  process.stderr.write(`broker pods timings: ${JSON.stringify(timings)}\n`);
});

/** What the images hold: the broker image's binary, and ghostunnel's (its image's ENTRYPOINT). */
export function brokerImages(): Record<string, { files: Record<string, string>; entrypoint?: string[] }> {
  return {
    broker: { files: { '/app/streambus-broker': broker! } },
    'tls-proxy': { files: { '/usr/bin/ghostunnel': ghostunnel! }, entrypoint: ['/usr/bin/ghostunnel'] },
  };
}

/** Secrets for the render (a test PKI whose server certificate names every pod) and the matching clients. */
function pkiFor(sts: Obj) {
  const fqdns = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}.${sts.metadata.namespace}.svc.cluster.local`);
  const pki = makePki(fqdns.map((f) => `DNS:${f}`));
  const read = (f: string) => readFileSync(join(pki.dir, f));
  const secrets = testSecrets(sts, { serverCert: read('server.crt'), serverKey: read('server.key'), ca: pki.ca });
  const tls = sts.spec.template.spec.containers.some((c: Obj) => c.name === 'tls-proxy')
    ? { ghostunnel: ghostunnel!, cert: join(pki.dir, 'client.crt'), key: join(pki.dir, 'client.key'), cacert: join(pki.dir, 'ca.crt') }
    : undefined;
  return { pki, secrets, tls };
}

function claimPath(ex: string) {
  return join(ROOT, 'examples', ex, 'claim.yaml');
}

/** The same claim with another log level: a different broker.yaml, so a new config hash. */
function withNewLogLevel(claim: Obj): Obj {
  const c = structuredClone(claim);
  if (c.spec.observability?.logging?.level) c.spec.observability.logging.level = c.spec.observability.logging.level === 'warn' ? 'info' : 'warn';
  else c.spec.config.logLevel = c.spec.config.logLevel === 'warn' ? 'info' : 'warn';
  return c;
}

async function boot(manifests: Obj[], bound = BOOT_MS, secrets: Record<string, Record<string, string | Buffer>> = {}) {
  const pods = new Pods({ manifests, images: brokerImages(), secrets, log: (l) => process.stderr.write(`  [pods] ${l}\n`) });
  current = pods;
  await pods.setup();
  const t0 = Date.now();
  await pods.startAll();
  const r = await waitForQuorum(pods, t0, bound);
  return { pods, ...r };
}

describe.skipIf(!enabled)('the rendered StatefulSet, run as pods with the real broker', () => {
  for (const ex of EXAMPLES) {
    it(`${ex}: quorum, one leader, probes, CLI; a broker killed and back; a rolling restart keeps quorum`, async () => {
      const claim = readClaim(readFileSync(claimPath(ex), 'utf8'));
      const manifests = await renderClaim(claimPath(ex));
      const sts = statefulSetOf(manifests);
      const n: number = sts.spec.replicas;
      const majority = Math.floor(n / 2) + 1;
      const { secrets, tls } = pkiFor(sts);
      const { pods, quorumMs, leader } = await boot(manifests, BOOT_MS, secrets);
      const t: Obj = { replicas: n, tls: !!tls, quorumMs };
      timings[ex] = t;
      const clients = new Clients(pods, tls);

      // The pods run as the render says: UID/GID 1000 with fsGroup, no capabilities, read-only root, writable volumes.
      const podSec = sts.spec.template.spec.securityContext;
      const seen = pods.inspect(0);
      expect(seen.uid).toEqual([podSec.runAsUser, podSec.runAsUser, podSec.runAsUser, podSec.runAsUser]);
      expect(seen.gid[0]).toBe(podSec.runAsGroup);
      expect(seen.groups).toContain(podSec.fsGroup);
      expect(seen.capEff).toBe('0000000000000000');
      expect(seen.noNewPrivs).toBe(true);
      expect(seen.hostname).toBe(pods.podName(0));
      expect(seen.mounts).toMatchObject({ '/': 'ro', '/etc/streambus': 'ro', '/app/streambus-broker': 'ro', '/data': 'rw', '/raft': 'rw', '/tmp': 'rw' });
      if (tls) {
        const proxy = pods.inspect(0, 'tls-proxy');
        expect(proxy.uid[0]).toBe(podSec.runAsUser);
        expect(proxy.capEff).toBe('0000000000000000');
        expect(proxy.mounts).toMatchObject({ '/': 'ro', '/usr': 'ro', '/etc/streambus/tls': 'ro' });
        expect(proxy.mounts['/data']).toBeUndefined();
      }

      // Probes and a CLI round trip on every broker (topics are per broker: broker-contract.md §8).
      for (let i = 0; i < n; i++) expect(await probeFailures(pods, i), pods.podName(i)).toEqual([]);
      for (let i = 0; i < n; i++) await cliRoundTrip(pods, cliBin!, await clients.addr(i), `boot-${i}`);

      // A crash: SIGKILL one broker (the leader, the hardest case), restart it from the same render.
      const victim = leader;
      const k0 = Date.now();
      await pods.stop(victim, { kill: true });
      if (n >= 3) {
        const l = await waitFor('a leader among the surviving brokers', RECOVER_MS, async () => {
          const ls = await leaders(pods);
          return ls.length === 1 ? ls : undefined;
        });
        t.reelectedMs = Date.now() - k0;
        expect(l).not.toContain(victim);
      }
      pods.start(victim);
      await waitForQuorum(pods, k0, RECOVER_MS);
      t.recoveryMs = Date.now() - k0;
      expect(await probeFailures(pods, victim)).toEqual([]);
      // The restarted broker answers again.
      const afterRestart = await cliRoundTrip(pods, cliBin!, await clients.addr(victim), 'after-restart');
      t.topicKeptAcrossRestart = afterRestart.includes(`boot-${victim}`);

      // Rolling restart onto a new render (new config hash), in StatefulSet order: highest ordinal first, each pod
      // Ready (client port open) before the next goes. A monitor samples readiness and leadership all along.
      const next = await renderClaimObject(withNewLogLevel(claim));
      const nextSts = statefulSetOf(next);
      expect(nextSts.spec.template.metadata.annotations[CONFIG_HASH]).not.toBe(sts.spec.template.metadata.annotations[CONFIG_HASH]);
      pods.apply(next);
      const samples: { at: number; ready: number; leaders: number }[] = [];
      let monitoring = true;
      const monitor = (async () => {
        while (monitoring) {
          const ordinals = Array.from({ length: n }, (_, i) => i);
          const ready = (await Promise.all(ordinals.map((i) => (pods.pods.has(i) ? podReady(pods, i) : false)))).filter(Boolean).length;
          samples.push({ at: Date.now(), ready, leaders: (await leaders(pods)).length });
          await sleep(200);
        }
      })();
      const r0 = Date.now();
      const steps: number[] = [];
      try {
        for (let i = n - 1; i >= 0; i--) {
          const s0 = Date.now();
          await pods.stop(i);
          pods.start(i);
          await waitFor(`${pods.podName(i)} Ready again on the new render`, RECOVER_MS, async () => {
            if (pods.exited().length) throw Object.assign(new Error(`${pods.exited()}: ${pods.logs(i)}`), { fatal: true });
            return (await podReady(pods, i)) ? true : undefined;
          });
          steps.push(Date.now() - s0);
        }
        await waitForQuorum(pods, r0, RECOVER_MS);
      } finally {
        monitoring = false;
        await monitor;
      }
      t.rollingMs = Date.now() - r0;
      t.rollingStepsMs = steps;
      const minReady = Math.min(...samples.map((s) => s.ready));
      t.rollingMinReady = minReady;
      // Longest stretch without a leader (a restarted leader's election), from the samples.
      let gap = 0;
      let since: number | undefined;
      for (const s of samples) {
        if (s.leaders === 0) since ??= s.at;
        else if (since !== undefined) {
          gap = Math.max(gap, s.at - since);
          since = undefined;
        }
      }
      t.rollingLongestLeaderlessMs = gap;
      if (n >= 3) {
        expect(minReady, `ready brokers during the rolling restart (samples: ${samples.length})`).toBeGreaterThanOrEqual(majority);
        expect(samples.filter((s) => s.leaders > 1)).toEqual([]);
      }
      for (let i = 0; i < n; i++) expect(await probeFailures(pods, i), pods.podName(i)).toEqual([]);
      await cliRoundTrip(pods, cliBin!, await clients.addr(0), 'after-rolling');
      process.stderr.write(`${ex}: ${JSON.stringify(t)}\n`);
    });
  }

  it('cleans up on failure: a test process killed by SIGTERM leaves no namespace, link, mount or process', async () => {
    const manifests = await renderClaim(claimPath('minimal'));
    const dir = mkdtempSync(join(tmpdir(), 'sb-cleanup-'));
    writeFileSync(join(dir, 'manifests.json'), JSON.stringify(manifests));
    const script = join(dir, 'run.mts');
    writeFileSync(
      script,
      [
        `import { readFileSync } from 'node:fs';`,
        `import { Pods } from ${JSON.stringify(join(ROOT, 'test/helpers/pods.ts'))};`,
        `const pods = new Pods({ manifests: JSON.parse(readFileSync(${JSON.stringify(join(dir, 'manifests.json'))}, 'utf8')), images: { broker: { files: { '/app/streambus-broker': ${JSON.stringify(broker)} } } } });`,
        `await pods.startAll();`,
        `console.log(JSON.stringify({ id: pods.id, work: pods.work }));`,
        `setInterval(() => {}, 1000);`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const info = await new Promise<{ id: string; work: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the child did not start its pods')), 60_000);
      child.stdout!.once('data', (b: Buffer) => {
        clearTimeout(timer);
        resolve(JSON.parse(b.toString()));
      });
      child.once('exit', (c) => reject(new Error(`the child exited with ${c} before its pods started`)));
    });
    const netns = () => (existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`${info.id}-`)) : []);
    expect(netns().length).toBe(4); // the node and 3 pods
    await sleep(2000); // the brokers are running
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? s)));
    expect(code).toBe(143);
    expect(netns()).toEqual([]);
    expect(existsSync(info.work)).toBe(false);
    const ps = spawnSync('sh', ['-c', `ps -eo args | grep -F ${JSON.stringify(info.work)} | grep -v grep || true`], { encoding: 'utf8' }).stdout.trim();
    expect(ps).toBe('');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(info.id);
  });

  it('fails when the render is broken: a peer removed from broker.yaml, or the broker id removed from the command', async () => {
    const manifests = await renderClaim(claimPath('minimal'));
    // 1. The last peer removed: that broker's own id is not in cluster.peers.
    const noPeer = structuredClone(manifests);
    const cm = noPeer.find((m) => m.kind === 'ConfigMap')!;
    const cfg = JSON.parse((cm.data['broker.yaml'] as string).replace(/^#.*\n/, ''));
    cfg.cluster.peers = cfg.cluster.peers.slice(0, -1);
    cm.data['broker.yaml'] = JSON.stringify(cfg);
    const e1 = await boot(noPeer, 30_000).then(
      () => undefined,
      (e: Error) => e,
    );
    await current?.cleanup();
    current = undefined;
    expect(e1?.message).toMatch(/timed out after 30000 ms waiting for every client port open/);
    expect(e1?.message).toMatch(/still closed on streambus-minimal-2$/);
    timings['broken: peer removed'] = { failedWith: e1!.message };

    // 2. No --broker-id: server.broker_id is unset.
    const noId = structuredClone(manifests);
    const c = statefulSetOf(noId).spec.template.spec.containers[0];
    c.args = [c.args[0].replace(/ --broker-id=.*$/, '')];
    const e2 = await boot(noId, 30_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(e2?.message).toMatch(/exited 1/);
    expect(e2?.message).toMatch(/broker_id/);
    timings['broken: broker id removed'] = { failedWith: e2!.message };
  });
});
