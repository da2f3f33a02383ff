/**
 * `npm run bench:scale`: many claims at once on the real control plane of test/helpers/controlplane.ts (real
 * kube-apiserver, Crossplane v2.2.1, provider-kubernetes v1.2.1, the function installed from its package; kwok nodes
 * whose pods become Ready 3-8 s after they are scheduled).
 *
 * Batches of claims (e.g. 1, then 20, then 100; the five examples in turn, each claim in a namespace of its own) are
 * applied at once with one `kubectl apply`; the batches accumulate (the 100 are applied while the earlier 21 keep
 * running). Per batch it reports, per claim, the time from apply to Synced=True, Ready=True and phase Running (p50, p95,
 * max); RunFunction calls per claim until the batch is Ready; Crossplane's XR circuit-breaker events (each watch
 * event Crossplane maps to an XR: an update counts twice, old and new object) and opens per claim; which XRs showed
 * `Responsive=False` (WatchCircuitOpen). Then a steady-state window: RunFunction calls per cluster per minute and the
 * CPU seconds of the function, Crossplane and provider-kubernetes, with the function's peak RSS. `--roll` then rolls
 * the first claim's brokers (an image change) and reports the same breaker figures for the roll.
 *
 * The volumes come from a stand-in provisioner in this file (a PersistentVolume made for each pending claim): the
 * harness has no storage driver. Figures, never gates: the machine is shared and loaded.
 *
 * Run: `npm run bench:scale -- [--batches 1,20,100] [--mode Object|Direct] [--breaker default|tuned] [--steady 120]
 * [--roll] [--debug] [--out FILE]`. `--debug` runs Crossplane with --debug and attributes the composed-resource
 * watch events to the composed resources (by composition key).
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { CROSSPLANE_VERSION, ControlPlane, waitFor } from '../test/helpers/controlplane.js';

type Obj = Record<string, any>;

export const EXAMPLES = ['minimal', 'dev', 'production', 'secure', 'multi-tenant'];
const ROOT = join(import.meta.dirname, '..');
const CLAIMS = 'streambusclusters.streambus.io';
const XRS = 'xstreambusclusters.streambus.io';
const TICKS = 100; // USER_HZ

export interface ScaleOptions {
  batches: number[];
  mode: 'Object' | 'Direct';
  breaker: 'default' | 'tuned';
  steadySeconds: number;
  roll: boolean;
  debug: boolean;
  readyTimeoutMs: number;
  log: (s: string) => void;
}

export interface ClaimTimes {
  name: string;
  example: string;
  synced?: number;
  ready?: number;
  running?: number;
}

export interface BatchResult {
  claims: number;
  clustersInFlight: number;
  times: ClaimTimes[];
  allReadySeconds?: number;
  notReady: string[];
  callsPerClaimUntilReady: number;
  breakerEventsPerClaim: number;
  breakerOpens: number;
  responsiveFalse: Record<string, string>;
  /** By example: how many XRs hold how many composed resources (spec.resourceRefs), e.g. { minimal: { '6': 20 } }. */
  composedPerXr: Record<string, Record<string, number>>;
  cpuSecondsUntilReady: Record<string, number>;
  attribution?: Record<string, number>;
}

export interface SteadyResult {
  seconds: number;
  clusters: number;
  callsPerClusterPerMinute: number;
  breakerEventsPerClusterPerMinute: number;
  cpuSeconds: Record<string, number>;
  cpuPercentOfOneCore: Record<string, number>;
}

export interface RollResult {
  claim: string;
  seconds: number;
  phases: string[];
  breakerEvents: number;
  breakerOpens: number;
  responsiveFalse?: string;
  attribution?: Record<string, number>;
}

export interface ScaleResult {
  options: Omit<ScaleOptions, 'log'>;
  startedAt: string;
  machine: string;
  bootSeconds: number;
  batches: BatchResult[];
  steady?: SteadyResult;
  roll?: RollResult;
  /** Why the batches stopped early, if they did (the figures of the batches before stand). */
  error?: string;
  functionPeakRssMiB: number;
  rssMiB: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cond = (o: Obj | undefined, type: string): Obj | undefined => ((o?.status?.conditions ?? []) as Obj[]).find((c) => c.type === type);
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

export function percentile(xs: number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** Sum of every sample of a Prometheus metric (all label sets) in a text exposition. */
export function metricSum(text: string, name: string, labelFilter?: RegExp): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = new RegExp(`^${name}(\\{[^}]*\\})?\\s+(\\S+)`).exec(line);
    if (!m) continue;
    if (labelFilter && !labelFilter.test(m[1] ?? '')) continue;
    sum += Number(m[2]);
  }
  return sum;
}

/** utime+stime of a process, in seconds (0 when gone). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return 0;
  }
}

function peakRssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

const PROCS = ['function-streambus', 'crossplane', 'provider-kubernetes', 'kube-apiserver'] as const;

interface Snapshot {
  at: number;
  calls: number;
  breakerEvents: number;
  breakerOpens: number;
  cpu: Record<string, number>;
}

async function snapshot(cp: ControlPlane): Promise<Snapshot> {
  const [fn, xp] = await Promise.all([cp.httpGet(18080), cp.httpGet(8082)]);
  const xr = /xstreambusclusters/;
  return {
    at: Date.now(),
    calls: metricSum(fn, 'function_streambus_run_function_calls_total'),
    breakerEvents: metricSum(xp, '\\w*circuit_breaker_events_total', xr),
    breakerOpens: metricSum(xp, '\\w*circuit_breaker_opens_total', xr),
    cpu: Object.fromEntries(PROCS.map((p) => [p, cpuSeconds(cp.pidOf(p))])),
  };
}

const cpuDelta = (a: Snapshot, b: Snapshot) => Object.fromEntries(PROCS.map((p) => [p, round((b.cpu[p] ?? 0) - (a.cpu[p] ?? 0), 2)]));

/** Composed-resource watch events Crossplane mapped to an XR (its --debug log), by composition key, since byte `from`. */
function attribution(cp: ControlPlane, from: number, xrNames: Set<string>): { counts: Record<string, number>; end: number } {
  const f = cp.logPath('crossplane');
  if (!f || !existsSync(f)) return { counts: {}, end: from };
  const buf = readFileSync(f);
  const text = buf.subarray(from).toString('utf8');
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.includes('Mapping composite resource because composed resource changed')) continue;
    const xr = /"name":\s*"([^"]+)"/.exec(line)?.[1] ?? /\bname=(\S+)/.exec(line)?.[1];
    if (xr && xrNames.size && !xrNames.has(xr)) continue;
    const gvk = /"cdGVK":\s*"([^"]+)"/.exec(line)?.[1] ?? '';
    const cd = /"cdName":\s*"([^"]+)"/.exec(line)?.[1] ?? /cdName=(\S+)/.exec(line)?.[1] ?? '?';
    const key = xr && cd.startsWith(`${xr}-`) ? cd.slice(xr.length + 1) : cd;
    const kind = gvk.split(', Kind=')[1] ?? gvk;
    const k = `${kind} ${key}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return { counts, end: buf.length };
}

/** The stand-in volume provisioner: a PersistentVolume pre-bound to every pending PersistentVolumeClaim. */
function startProvisioner(cp: ControlPlane): () => Promise<void> {
  let stop = false;
  const made = new Set<string>();
  const loop = (async () => {
    while (!stop) {
      try {
        const pvcs = await cp.list('pvc');
        const pvs: Obj[] = [];
        for (const c of pvcs) {
          const id = `${c.metadata.namespace}/${c.metadata.name}`;
          if (c.status?.phase !== 'Pending' || c.spec.volumeName || made.has(id)) continue;
          const name = `pv-${c.metadata.uid}`;
          pvs.push({
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name },
            spec: {
              capacity: { storage: c.spec.resources?.requests?.storage ?? '1Gi' },
              accessModes: c.spec.accessModes ?? ['ReadWriteOnce'],
              storageClassName: c.spec.storageClassName ?? 'standard',
              persistentVolumeReclaimPolicy: 'Retain',
              claimRef: { namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid },
              hostPath: { path: `/tmp/${name}` },
            },
          });
        }
        // In chunks, with a long timeout (a loaded apiserver), each PVC marked done only once its volume exists.
        for (let i = 0; i < pvs.length; i += 50) {
          const chunk = pvs.slice(i, i + 50);
          const r = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=e2e', '-f', '-'], chunk.map((d) => stringify(d)).join('---\n'), 300_000);
          if (r.code === 0) for (const d of chunk) made.add(`${d.spec.claimRef.namespace}/${d.spec.claimRef.name}`);
        }
      } catch {
        /* the next round retries */
      }
      await sleep(1500);
    }
  })();
  return async () => {
    stop = true;
    await loop;
  };
}

async function seed(cp: ControlPlane): Promise<void> {
  const big = { cpu: '512', memory: '4Ti' };
  await cp.addNodes([
    ...[0, 1, 2, 3, 4].map((i) => ({
      name: `streaming-${i}`,
      labels: { workload: 'streaming', 'node.kubernetes.io/instance-type': 'm5.xlarge', 'topology.kubernetes.io/zone': `zone-${i % 3}` },
      taints: [{ key: 'dedicated', value: 'streambus', effect: 'NoSchedule' }],
      ...big,
    })),
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ name: `general-${i}`, labels: { 'topology.kubernetes.io/zone': `zone-${i % 3}` }, ...big })),
  ]);
  await cp.apply(['standard', 'fast-ssd', 'encrypted-ssd'].map((name) => ({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner: 'kubernetes.io/no-provisioner',
    volumeBindingMode: 'Immediate',
    reclaimPolicy: 'Retain',
  })));
}

/** A namespace per claim with the Secrets the examples name (kwok mounts nothing; the function reads the CA). */
function namespaceDocs(ns: string): Obj[] {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const secret = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, data });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    secret('streambus-tls-certs', { 'tls.crt': b64('cert'), 'tls.key': b64('key') }),
    secret('streambus-ca-cert', { 'ca.crt': b64('-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n') }),
    secret('streambus-jwt-secret', { secret: b64('jwt') }),
  ];
}

function claimDoc(example: string, ns: string, mode: ScaleOptions['mode']): Obj {
  const c = parse(readFileSync(join(ROOT, 'examples', example, 'claim.yaml'), 'utf8')) as Obj;
  c.metadata.namespace = ns;
  if (mode === 'Direct') c.spec.compositionRef = { name: 'streambus-cluster-direct' };
  return c;
}

const functionName = (): string => (parse(readFileSync(join(ROOT, 'compositions/composition.yaml'), 'utf8')) as Obj).spec.pipeline[0].functionRef.name;

export async function runScale(opts: ScaleOptions): Promise<ScaleResult> {
  const log = opts.log;
  const startedAt = new Date().toISOString();
  const machine = `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`;
  const t0 = Date.now();
  const cp = await ControlPlane.start({ circuitBreaker: opts.breaker, crossplaneDebug: opts.debug });
  let stopProvisioner: (() => Promise<void>) | undefined;
  try {
    await cp.installFunction(functionName());
    await cp.installApi({ directModeRbac: true });
    await seed(cp);
    stopProvisioner = startProvisioner(cp);
    const bootSeconds = round((Date.now() - t0) / 1000);
    log(`control plane up in ${bootSeconds} s (${opts.breaker} circuit breaker, ${opts.mode} mode)`);

    const batches: BatchResult[] = [];
    let error: string | undefined;
    const all: { ns: string; name: string }[] = [];
    let logOffset = 0;
    try {
    for (const [bi, n] of opts.batches.entries()) {
      const claims = Array.from({ length: n }, (_, i) => {
        const example = EXAMPLES[i % EXAMPLES.length]!;
        const ns = `b${bi}-${String(i).padStart(3, '0')}-${example}`;
        return { ns, example, doc: claimDoc(example, ns, opts.mode) };
      });
      await cp.apply(claims.flatMap((c) => namespaceDocs(c.ns)));
      const before = await snapshot(cp);
      if (opts.debug) logOffset = attribution(cp, 0, new Set()).end;
      const start = Date.now();
      // All at once: one `kubectl apply` per 10 claims, in parallel (a loaded apiserver takes minutes for 100).
      const chunks = Array.from({ length: Math.ceil(n / 10) }, (_, i) => claims.slice(i * 10, i * 10 + 10));
      await Promise.all(chunks.map(async (chunk) => {
        const r = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=e2e', '-f', '-'], chunk.map((c) => stringify(c.doc)).join('---\n'), 600_000);
        if (r.code !== 0) throw new Error(`kubectl apply of ${chunk.length} claims: ${r.stderr}`);
      }));
      log(`batch ${bi}: ${n} claims applied`);
      const times = new Map<string, ClaimTimes>(claims.map((c) => [c.ns, { name: `${c.ns}/${c.doc.metadata.name}`, example: c.example }]));
      const responsiveFalse: Record<string, string> = {};
      const xrNames = new Set<string>();
      const deadline = start + opts.readyTimeoutMs;
      let allReadyAt: number | undefined;
      let lastXrs: Obj[] = [];
      for (;;) {
        const now = Date.now();
        const [got, xrs] = await Promise.all([cp.list(CLAIMS), cp.list(XRS)]).catch(() => [[], []] as Obj[][]); // a slow apiserver: next round
        for (const c of got) {
          const t = times.get(c.metadata.namespace);
          if (!t) continue;
          const s = (now - start) / 1000;
          if (t.synced === undefined && cond(c, 'Synced')?.status === 'True') t.synced = s;
          if (t.ready === undefined && cond(c, 'Ready')?.status === 'True') t.ready = s;
          if (t.running === undefined && c.status?.phase === 'Running') t.running = s;
          if (c.spec?.resourceRef?.name) xrNames.add(c.spec.resourceRef.name);
        }
        if (xrs.length) lastXrs = xrs;
        for (const x of xrs) {
          const r = cond(x, 'Responsive');
          if (r?.status === 'False' && xrNames.has(x.metadata.name) && !responsiveFalse[x.metadata.name]) responsiveFalse[x.metadata.name] = `${r.reason}: ${r.message}`;
        }
        const pending = [...times.values()].filter((t) => t.ready === undefined || t.running === undefined);
        if (pending.length === 0) {
          allReadyAt = now;
          break;
        }
        if (now > deadline) break;
        await sleep(n > 50 ? 3000 : 1500);
      }
      const after = await snapshot(cp);
      const attr = opts.debug ? attribution(cp, logOffset, xrNames) : undefined;
      // Nothing dropped: the composed resources each XR of the batch holds, by example (distinct counts).
      const composed: Record<string, Record<string, number>> = {};
      for (const x of lastXrs) {
        const t = times.get(x.metadata.labels?.['crossplane.io/claim-namespace']);
        if (!t) continue;
        const k = String((x.spec?.resourceRefs ?? []).length);
        composed[t.example] = { ...(composed[t.example] ?? {}), [k]: (composed[t.example]?.[k] ?? 0) + 1 };
      }
      const notReady = [...times.values()].filter((t) => t.ready === undefined || t.running === undefined).map((t) => t.name);
      all.push(...claims.map((c) => ({ ns: c.ns, name: c.doc.metadata.name as string })));
      const b: BatchResult = {
        claims: n,
        clustersInFlight: all.length,
        times: [...times.values()],
        ...(allReadyAt ? { allReadySeconds: round((allReadyAt - start) / 1000) } : {}),
        notReady,
        callsPerClaimUntilReady: round((after.calls - before.calls) / n),
        breakerEventsPerClaim: round((after.breakerEvents - before.breakerEvents) / n),
        breakerOpens: after.breakerOpens - before.breakerOpens,
        responsiveFalse,
        composedPerXr: composed,
        cpuSecondsUntilReady: cpuDelta(before, after),
        ...(attr ? { attribution: attr.counts } : {}),
      };
      batches.push(b);
      log(`batch ${bi}: ${n - notReady.length}/${n} Ready+Running${b.allReadySeconds ? ` in ${b.allReadySeconds} s` : ''}; breaker events/claim ${b.breakerEventsPerClaim}, opens ${b.breakerOpens}, Responsive=False on ${Object.keys(responsiveFalse).length}`);
    }
    } catch (err) {
      // A later batch failing (e.g. a loaded apiserver refusing) keeps the figures of the earlier ones.
      error = err instanceof Error ? err.message : String(err);
      log(`batches stopped: ${error}`);
    }

    let steady: SteadyResult | undefined;
    if (opts.steadySeconds > 0 && all.length > 0) {
      await sleep(15_000); // let the last statuses settle
      const a = await snapshot(cp);
      await sleep(opts.steadySeconds * 1000);
      const b = await snapshot(cp);
      const secs = (b.at - a.at) / 1000;
      const cpu = cpuDelta(a, b);
      steady = {
        seconds: round(secs),
        clusters: all.length,
        callsPerClusterPerMinute: round(((b.calls - a.calls) / all.length) * (60 / secs), 2),
        breakerEventsPerClusterPerMinute: round(((b.breakerEvents - a.breakerEvents) / all.length) * (60 / secs), 2),
        cpuSeconds: cpu,
        cpuPercentOfOneCore: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round((100 * v) / secs, 2)])),
      };
      log(`steady ${steady.seconds} s with ${all.length} clusters: ${steady.callsPerClusterPerMinute} calls/cluster/min, CPU % ${JSON.stringify(steady.cpuPercentOfOneCore)}`);
    }

    let roll: RollResult | undefined;
    if (opts.roll && all[0] && !error) {
      try {
      const { ns, name } = all[0];
      const claim = await cp.get(CLAIMS, name, ns);
      const xr = claim?.spec?.resourceRef?.name as string;
      const a = await snapshot(cp);
      const off = opts.debug ? attribution(cp, 0, new Set()).end : 0;
      const start = Date.now();
      const phases: string[] = [];
      let responsive: string | undefined;
      await cp.k(['patch', CLAIMS, name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { image: { tag: 'v1.0.1' } } })]);
      await waitFor('the roll to finish (phase Updating seen, then Running)', async () => {
        const [c, x] = await Promise.all([cp.get(CLAIMS, name, ns), cp.get(XRS, xr)]);
        const p = String(c?.status?.phase);
        if (phases[phases.length - 1] !== p) phases.push(p);
        const r = cond(x, 'Responsive');
        if (r?.status === 'False' && !responsive) responsive = `${r.reason}: ${r.message}`;
        return phases.includes('Updating') && p === 'Running' && cond(c, 'Ready')?.status === 'True';
      }, 600_000, 500);
      const b = await snapshot(cp);
      roll = {
        claim: `${ns}/${name}`,
        seconds: round((Date.now() - start) / 1000),
        phases,
        breakerEvents: b.breakerEvents - a.breakerEvents,
        breakerOpens: b.breakerOpens - a.breakerOpens,
        ...(responsive ? { responsiveFalse: responsive } : {}),
        ...(opts.debug ? { attribution: attribution(cp, off, new Set([xr])).counts } : {}),
      };
      log(`roll of ${roll.claim}: ${roll.seconds} s, phases ${phases.join(' → ')}, breaker events ${roll.breakerEvents}, opens ${roll.breakerOpens}${responsive ? `, ${responsive}` : ''}`);
      } catch (err) {
        error = `the roll: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
        log(error);
      }
    }

    return {
      options: { batches: opts.batches, mode: opts.mode, breaker: opts.breaker, steadySeconds: opts.steadySeconds, roll: opts.roll, debug: opts.debug, readyTimeoutMs: opts.readyTimeoutMs },
      startedAt,
      machine,
      bootSeconds,
      batches,
      ...(steady ? { steady } : {}),
      ...(roll ? { roll } : {}),
      ...(error ? { error } : {}),
      functionPeakRssMiB: peakRssMiB(cp.pidOf('function-streambus')),
      rssMiB: cp.memory(),
    };
  } catch (err) {
    process.stderr.write(cp.logTails(30));
    throw err;
  } finally {
    await stopProvisioner?.();
    await cp.stop();
  }
}

/** The result as markdown: one table per run. */
export function markdown(r: ScaleResult): string {
  const o = r.options;
  const lines = [
    `### ${o.mode} mode, legacy API (claims), Crossplane ${o.breaker === 'default' ? 'default circuit breaker (burst 100, refill 1/s)' : 'tuned circuit breaker (burst 1000, refill 20/s)'}`,
    '',
    `${r.startedAt}; ${r.machine}; control plane up in ${r.bootSeconds} s.`,
    '',
    '| batch | clusters in flight | all Ready+Running | apply→Synced p50/p95/max s | apply→Ready p50/p95/max s | apply→Running p50/p95/max s | RunFunction calls per claim until Ready | breaker events per claim | breaker opens | XRs with Responsive=False | CPU s until Ready (function / Crossplane / provider / apiserver) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const ppm = (xs: (number | undefined)[]) => {
    const v = xs.filter((x): x is number => x !== undefined);
    return v.length ? `${percentile(v, 50)} / ${percentile(v, 95)} / ${Math.max(...v)}` : 'n/a';
  };
  for (const b of r.batches) {
    const c = b.cpuSecondsUntilReady;
    lines.push(`| ${b.claims} | ${b.clustersInFlight} | ${b.claims - b.notReady.length}/${b.claims}${b.allReadySeconds ? ` in ${b.allReadySeconds} s` : ''} | ${ppm(b.times.map((t) => t.synced))} | ${ppm(b.times.map((t) => t.ready))} | ${ppm(b.times.map((t) => t.running))} | ${b.callsPerClaimUntilReady} | ${b.breakerEventsPerClaim} | ${b.breakerOpens} | ${Object.keys(b.responsiveFalse).length} | ${c['function-streambus']} / ${c.crossplane} / ${c['provider-kubernetes']} / ${c['kube-apiserver']} |`);
  }
  if (r.steady) {
    const s = r.steady;
    lines.push('', `Steady state over ${s.seconds} s with ${s.clusters} clusters: ${s.callsPerClusterPerMinute} RunFunction calls per cluster per minute, ${s.breakerEventsPerClusterPerMinute} breaker events per cluster per minute; CPU seconds (percent of one core): ${Object.entries(s.cpuSeconds).map(([k, v]) => `${k} ${v} (${s.cpuPercentOfOneCore[k]} %)`).join(', ')}.`);
  }
  if (r.roll) {
    const x = r.roll;
    lines.push('', `Rolling update of ${x.claim} (image tag change): ${x.seconds} s, phases ${x.phases.join(' → ')}, ${x.breakerEvents} breaker events, ${x.breakerOpens} opens${x.responsiveFalse ? `, XR ${x.responsiveFalse}` : ', the XR stayed Responsive'}.`);
    if (x.attribution) lines.push('', `Roll watch events by composed resource: ${Object.entries(x.attribution).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  }
  for (const b of r.batches) {
    if (b.attribution) lines.push('', `Batch of ${b.claims}: composed-resource watch events (Crossplane --debug; each update counts twice) by composed resource: ${Object.entries(b.attribution).sort((a, c) => c[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
    lines.push('', `Batch of ${b.claims}: composed resources per XR (count: XRs): ${Object.entries(b.composedPerXr).map(([ex, c]) => `${ex} ${Object.entries(c).map(([k, v]) => `${k}: ${v}`).join(', ')}`).join('; ')}.`);
    const rf = Object.entries(b.responsiveFalse);
    if (rf.length) lines.push('', `Batch of ${b.claims}: Responsive=False on ${rf.length} XRs, e.g. ${rf[0]![0]}: ${rf[0]![1]}`);
    if (b.notReady.length) lines.push('', `Batch of ${b.claims}: not Ready+Running within ${o.readyTimeoutMs / 1000} s: ${b.notReady.slice(0, 10).join(', ')}${b.notReady.length > 10 ? ' …' : ''}`);
  }
  if (r.error) lines.push('', `The batches stopped early: ${r.error}`);
  lines.push('', `Function peak RSS ${r.functionPeakRssMiB} MiB (VmHWM); RSS at the end (MiB): ${JSON.stringify(r.rssMiB)}.`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      batches: { type: 'string', default: '1,20,100' },
      mode: { type: 'string', default: 'Object' },
      breaker: { type: 'string', default: 'default' },
      steady: { type: 'string', default: '120' },
      roll: { type: 'boolean', default: false },
      debug: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '900' },
      out: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const r = await runScale({
    batches: values.batches!.split(',').map(Number),
    mode: values.mode === 'Direct' ? 'Direct' : 'Object',
    breaker: values.breaker === 'tuned' ? 'tuned' : 'default',
    steadySeconds: Number(values.steady),
    roll: !!values.roll,
    debug: !!values.debug,
    readyTimeoutMs: Number(values.timeout) * 1000,
    log: (s) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${s}\n`),
  });
  const md = markdown(r);
  process.stdout.write(`${md}\n`);
  if (values.json) writeFileSync(values.json, JSON.stringify(r, null, 2));
  if (values.out) writeFileSync(values.out, `${existsSync(values.out) ? readFileSync(values.out, 'utf8') : ''}\n${md}\n`);
  process.stderr.write(`Crossplane ${CROSSPLANE_VERSION}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(() => process.exit(0), (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
