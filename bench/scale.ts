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
 * `--api legacy` (the default) applies claims of the legacy XRD (apis/xrd.yaml, compositions/); `--api v2` applies
 * the same manifests as namespaced XRs of the Crossplane 2 XRD (apis/v2/xrd.yaml, compositions/v2/), measured the
 * same way (the XR is what is watched for Synced, Ready and phase Running).
 *
 * The harness has no storage driver, so the volumes come from a stand-in provisioner in this file. `--provisioner
 * ahead` (the default) renders each claim of a batch in-process (the CLI's renderXr, the Composition of the mode and
 * API) before the batch is applied, and creates a PersistentVolume for every PersistentVolumeClaim its StatefulSet
 * will make (`<template>-<statefulset>-<ordinal>` in the claim's namespace, the template's class, size and access
 * modes), pre-bound to it by `claimRef` (name and namespace), in parallel chunks of `kubectl create`: the PV
 * controller binds each claim as soon as it exists. A claim nobody foresaw still gets a volume from the reactive
 * loop. `--provisioner reactive` is the old stand-in alone: a loop that lists the pending claims every 1.5 s and
 * creates a volume for each (through a loaded apiserver about one a second). Per batch the run reports how long the
 * volumes took: creating them ahead, and from each claim's creation to its being seen Bound.
 *
 * `--function go-templating` composes the same claims with the real function-go-templating v0.12.2 instead (its
 * Function package and Composition from bench/scale-go-templating.ts: a Go template that composes what
 * function-streambus composes for each example and follows readiness and phase from the observed resources), so
 * the two functions' CPU, calls and times are measured by the same harness. RunFunction calls are Crossplane's own
 * count (`run_function_request_total` of the Function), for either function.
 *
 * The steady-state window (`--steady SECONDS`, the issue's ten minutes by default) starts 15 s after the last batch
 * ended; it is a true steady state when every cluster was Ready with phase Running at its start and at its end, and
 * the result says when it was not (the last batch hit its limit).
 *
 * Figures, never gates: the machine is shared and loaded.
 *
 * Run: `npm run bench:scale -- [--batches 1,20,100] [--api legacy|v2] [--mode Object|Direct] [--breaker
 * default|tuned] [--provisioner ahead|reactive] [--function streambus|go-templating] [--steady 600] [--roll] [--debug] [--timeout 900] [--out FILE]
 * [--json FILE]`. `--debug` runs Crossplane with --debug and attributes the composed-resource watch events to the
 * composed resources (by composition key).
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { CROSSPLANE_VERSION, ControlPlane, REGISTRY, run, waitFor } from '../test/helpers/controlplane.js';
import { claimToXr } from '../src/cli/claim.js';
import { renderXr } from '../src/cli/render.js';
import { GO_TEMPLATING_VERSION, locateGoTemplating } from './go-templating.js';
import { GO_TEMPLATING_COMPOSITION, GO_TEMPLATING_FUNCTION, GO_TEMPLATING_PORT, buildGoTemplatingPackage, goTemplatingComposition } from './scale-go-templating.js';

type Obj = Record<string, any>;

export const EXAMPLES = ['minimal', 'dev', 'production', 'secure', 'multi-tenant'];
const ROOT = join(import.meta.dirname, '..');
const TICKS = 100; // USER_HZ

export type Api = 'legacy' | 'v2';
export type Mode = 'Object' | 'Direct';
export type Provisioner = 'ahead' | 'reactive';
/** Which function composes: function-streambus, or function-go-templating with bench/scale-go-templating.ts's template. */
export type Fn = 'streambus' | 'go-templating';
/** The process each function runs as (the control plane's name for it). */
export const FN_PROCESS: Record<Fn, string> = { streambus: 'function-streambus', 'go-templating': GO_TEMPLATING_FUNCTION };

/** What each API applies and watches: the resource the user applies, the XR, the XRD, the Compositions. */
export const APIS: Record<Api, { claims: string; xrs: string; xrd: string; compositions: Record<Mode, string>; label: string }> = {
  legacy: {
    claims: 'streambusclusters.streambus.io',
    xrs: 'xstreambusclusters.streambus.io',
    xrd: 'xstreambusclusters.streambus.io',
    compositions: { Object: 'compositions/composition.yaml', Direct: 'compositions/composition-direct.yaml' },
    label: 'legacy API (claims)',
  },
  v2: {
    // The namespaced XR is what the user applies: no claim in between.
    claims: 'streambusclusters.streambus.io',
    xrs: 'streambusclusters.streambus.io',
    xrd: 'streambusclusters.streambus.io',
    compositions: { Object: 'compositions/v2/composition.yaml', Direct: 'compositions/v2/composition-direct.yaml' },
    label: 'Crossplane 2 API (namespaced XRs)',
  },
};

export interface ScaleOptions {
  batches: number[];
  /** Default legacy. */
  api?: Api;
  mode: Mode;
  breaker: 'default' | 'tuned';
  /** Default ahead. */
  provisioner?: Provisioner;
  /** Default streambus. */
  fn?: Fn;
  steadySeconds: number;
  roll: boolean;
  debug: boolean;
  readyTimeoutMs: number;
  /** kube-controller-manager's --kube-api-qps (its PV controller binds the claims); unset: its default, 20. */
  kcmQps?: number;
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
  volumes: VolumeFigures;
  attribution?: Record<string, number>;
}

/** How the batch's volumes came: made ahead (how many, how long), and each claim's creation → Bound as polled. */
export interface VolumeFigures {
  provisioner: Provisioner;
  /** PersistentVolumes created before the batch was applied (ahead), and how long their creation took. */
  madeAhead: number;
  madeAheadSeconds?: number;
  /** PersistentVolumes the reactive loop made for the batch's claims (all of them with `reactive`). */
  madeReactively: number;
  /** PersistentVolumeClaims the batch's StatefulSets will make (the in-process render), seen, and seen Bound. */
  planned: number;
  pvcs: number;
  bound: number;
  /** From the apply to the last claim of the batch seen Bound (when all were). */
  allBoundSeconds?: number;
  /** Per claim: its creationTimestamp (1 s resolution) to the poll that first saw it Bound, in seconds. */
  bindLagSeconds: number[];
}

export interface SteadyResult {
  seconds: number;
  clusters: number;
  /** Clusters Ready with phase Running when the window started and when it ended. */
  runningAtStart: number;
  runningAtEnd: number;
  /** Every cluster Ready and Running at both ends of the window (otherwise the last batch hit its limit). */
  steady: boolean;
  callsPerClusterPerMinute: number;
  breakerEventsPerClusterPerMinute: number;
  cpuSeconds: Record<string, number>;
  cpuPercentOfOneCore: Record<string, number>;
  /** The issue's figure: percent of one core per 100 clusters (each process's percent × 100 / clusters). */
  cpuPercentPer100Clusters: Record<string, number>;
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

const PROCS = ['function-streambus', GO_TEMPLATING_FUNCTION, 'crossplane', 'provider-kubernetes', 'kube-apiserver'] as const;

interface Snapshot {
  at: number;
  calls: number;
  breakerEvents: number;
  breakerOpens: number;
  cpu: Record<string, number>;
}

/**
 * Selects the label sets of Crossplane's circuit-breaker metrics that belong to the XR controller of one XRD
 * (`controller="composite/<xrd>"`): the XRD's name as a whole token, so `streambusclusters.streambus.io` (v2) does not
 * match `xstreambusclusters.streambus.io` (legacy).
 */
export function breakerFilter(xrd: string): RegExp {
  const esc = xrd.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^a-z0-9.-])${esc}([^a-z0-9.-]|$)`);
}

/**
 * Selects the label sets of Crossplane's RunFunction request counter that belong to one Function (its name label:
 * `function_name` in Crossplane 2.2, `name` before).
 */
export function functionFilter(name: string): RegExp {
  return new RegExp(`(^|[{,])(function_name|name)="${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`);
}

/** Each RunFunction call Crossplane sent to the Function `fnName`, by Crossplane's own counter (either function). */
async function snapshot(cp: ControlPlane, xr: RegExp, fnName: string): Promise<Snapshot> {
  const xp = await cp.httpGet(8082);
  return {
    at: Date.now(),
    calls: metricSum(xp, '\\w*run_function_request_total', functionFilter(fnName)),
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

/** A PersistentVolumeClaim a StatefulSet will create: `<template>-<statefulset>-<ordinal>` in its namespace. */
export interface PlannedClaim {
  namespace: string;
  name: string;
  storageClassName?: string;
  storage: string;
  accessModes: string[];
}

/**
 * The PersistentVolumeClaims the StatefulSets among composed resources will create, one per volume claim template
 * and ordinal (raw StatefulSets of Direct mode, or wrapped in a provider-kubernetes Object's
 * spec.forProvider.manifest in Object mode). `namespace` replaces the StatefulSet's own (the claim's namespace).
 */
export function plannedClaims(composed: Obj[], namespace?: string): PlannedClaim[] {
  const out: PlannedClaim[] = [];
  for (const d of composed) {
    const sts: Obj | undefined = d?.kind === 'StatefulSet' ? d : d?.kind === 'Object' && d.spec?.forProvider?.manifest?.kind === 'StatefulSet' ? d.spec.forProvider.manifest : undefined;
    if (!sts) continue;
    const replicas = typeof sts.spec?.replicas === 'number' ? sts.spec.replicas : 1;
    const ns = namespace ?? sts.metadata?.namespace ?? 'default';
    for (const t of (sts.spec?.volumeClaimTemplates ?? []) as Obj[]) {
      for (let i = 0; i < replicas; i++) {
        out.push({
          namespace: ns,
          name: `${t.metadata.name}-${sts.metadata.name}-${i}`,
          ...(t.spec?.storageClassName !== undefined ? { storageClassName: t.spec.storageClassName as string } : {}),
          storage: t.spec?.resources?.requests?.storage ?? '1Gi',
          accessModes: t.spec?.accessModes ?? ['ReadWriteOnce'],
        });
      }
    }
  }
  return out;
}

/**
 * A hostPath PersistentVolume for a planned claim, pre-bound to it by claimRef (namespace and name, no uid: the
 * claim does not exist yet). The PV controller binds the claim to it when the StatefulSet creates the claim, as long
 * as class, size and access modes match.
 */
export function persistentVolumeFor(c: PlannedClaim): Obj {
  const name = `pv-${c.namespace}-${c.name}`.slice(0, 253);
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: { 'bench.streambus.io/provisioner': 'ahead' } },
    spec: {
      capacity: { storage: c.storage },
      accessModes: c.accessModes,
      storageClassName: c.storageClassName ?? '',
      persistentVolumeReclaimPolicy: 'Retain',
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: c.namespace, name: c.name },
      hostPath: { path: `/tmp/${name}` },
    },
  };
}

/** `xs` in chunks of `n`. */
export function chunks<T>(xs: T[], n: number): T[][] {
  return Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
}

/** The claims a manifest of a batch will make, by rendering it in-process with the Composition of its API and mode. */
export function planClaims(doc: Obj, api: Api, mode: Mode): PlannedClaim[] {
  const composition = parse(readFileSync(join(ROOT, APIS[api].compositions[mode]), 'utf8')) as Obj;
  const xr = api === 'legacy' ? claimToXr(doc) : doc;
  const out = renderXr({ xr, composition });
  if (out.fatal) throw new Error(`render of ${doc.metadata.namespace}/${doc.metadata.name}: ${out.fatal.message}`);
  return plannedClaims(out.composed as Obj[], doc.metadata.namespace);
}

/**
 * Creates the PersistentVolumes ahead, in parallel chunks of `kubectl create` (cheaper than server-side apply; a
 * volume that already exists counts as made). Returns the seconds it took.
 */
async function createVolumes(cp: ControlPlane, pvs: Obj[]): Promise<number> {
  const t0 = Date.now();
  const parts = chunks(pvs, 50);
  let next = 0;
  const worker = async () => {
    while (next < parts.length) {
      const part = parts[next++]!;
      const r = await cp.kubectl(['create', '-f', '-'], part.map((d) => stringify(d)).join('---\n'), 300_000);
      if (r.code !== 0) {
        const other = r.stderr.split('\n').filter((l) => l.trim() && !/AlreadyExists|already exists/.test(l));
        if (other.length) throw new Error(`kubectl create of ${part.length} PersistentVolumes: ${other.slice(0, 3).join('; ')}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, parts.length) }, worker));
  return (Date.now() - t0) / 1000;
}

/**
 * The reactive stand-in provisioner: every 1.5 s, a PersistentVolume pre-bound (with uid) to every pending
 * PersistentVolumeClaim, except those `skip` says have one made ahead. `made` collects the claims it made one for.
 */
function startProvisioner(cp: ControlPlane, skip: (id: string) => boolean, made: Set<string>): () => Promise<void> {
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      try {
        const pvcs = await cp.list('pvc');
        const pvs: Obj[] = [];
        for (const c of pvcs) {
          const id = `${c.metadata.namespace}/${c.metadata.name}`;
          if (c.status?.phase !== 'Pending' || c.spec.volumeName || made.has(id) || skip(id)) continue;
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

const compositionName = (api: Api, mode: Mode): string => (parse(readFileSync(join(ROOT, APIS[api].compositions[mode]), 'utf8')) as Obj).metadata.name;

/**
 * An example's manifest in namespace `ns`: a claim (legacy API) or a namespaced XR (v2); Direct mode selects the
 * Direct Composition (a claim's spec.compositionRef, a v2 XR's spec.crossplane.compositionRef), Object mode leaves
 * the XRD's default.
 */
export function claimDoc(example: string, ns: string, mode: Mode, api: Api = 'legacy', composition?: string): Obj {
  const c = parse(readFileSync(join(ROOT, 'examples', example, 'claim.yaml'), 'utf8')) as Obj;
  c.metadata.namespace = ns;
  if (mode === 'Direct' || composition) {
    const ref = { name: composition ?? compositionName(api, 'Direct') };
    if (api === 'legacy') c.spec.compositionRef = ref;
    else c.spec.crossplane = { ...(c.spec.crossplane ?? {}), compositionRef: ref };
  }
  return c;
}

const functionName = (api: Api): string => (parse(readFileSync(join(ROOT, APIS[api].compositions.Object), 'utf8')) as Obj).spec.pipeline[0].functionRef.name;

/** Percent of one core per 100 clusters. */
export function per100Clusters(percentOfOneCore: number, clusters: number): number {
  return clusters > 0 ? round((percentOfOneCore * 100) / clusters, 2) : 0;
}

/** Ready=True with phase Running. */
const running = (o: Obj): boolean => cond(o, 'Ready')?.status === 'True' && o.status?.phase === 'Running';

export async function runScale(opts: ScaleOptions): Promise<ScaleResult> {
  const log = opts.log;
  const apiName: Api = opts.api ?? 'legacy';
  const provisioner: Provisioner = opts.provisioner ?? 'ahead';
  const fn: Fn = opts.fn ?? 'streambus';
  const api = APIS[apiName];
  const filter = breakerFilter(api.xrd);
  const startedAt = new Date().toISOString();
  const machine = `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`;
  // function-go-templating: the pinned binary, checked before a control plane is started for it.
  const goTemplating = fn === 'go-templating' ? locateGoTemplating(ROOT) : undefined;
  if (goTemplating && 'problem' in goTemplating) throw new Error(goTemplating.problem);
  const t0 = Date.now();
  const cp = await ControlPlane.start({ circuitBreaker: opts.breaker, crossplaneDebug: opts.debug, ...(opts.kcmQps ? { controllerManagerQps: opts.kcmQps } : {}) });
  let stopProvisioner: (() => Promise<void>) | undefined;
  try {
    await cp.installFunction(functionName(apiName));
    if (apiName === 'legacy') await cp.installApi({ directModeRbac: true });
    else await cp.installApiV2({ directModeRbac: true });
    await seed(cp);
    // The Function RunFunction calls are counted for, and the Composition the manifests select (none: the XRD's
    // default in Object mode, the Direct Composition in Direct mode).
    let fnName = functionName(apiName);
    let composition: string | undefined;
    if (goTemplating && 'path' in goTemplating) {
      const bin = goTemplating.path;
      const dir = join(cp.dir, 'go-templating');
      const xpkg = await buildGoTemplatingPackage(join(ROOT, '.tools/bin/crossplane'), dir, (cmd, args) => run(cmd, args, { timeoutMs: 180_000 }));
      await cp.installFunction(GO_TEMPLATING_FUNCTION, GO_TEMPLATING_VERSION, {
        xpkg,
        other: {
          ref: `${REGISTRY}/crossplane-contrib/function-go-templating:${GO_TEMPLATING_VERSION}`,
          port: GO_TEMPLATING_PORT,
          start: (certs, port) => cp.spawn(GO_TEMPLATING_FUNCTION, cp.ns, [bin, '--address', `127.0.0.1:${port}`, '--tls-certs-dir', certs]),
        },
      });
      // The examples' manifests in a placeholder namespace: the template reads each cluster's namespace from its XR.
      const manifests = EXAMPLES.map((e) => claimDoc(e, 'sbscalens', opts.mode, apiName));
      const ours = parse(readFileSync(join(ROOT, api.compositions[opts.mode]), 'utf8')) as Obj;
      await cp.apply([goTemplatingComposition(ours, apiName, manifests, namespaceDocs('sbscalens').filter((d) => d.kind === 'Secret'))]);
      fnName = GO_TEMPLATING_FUNCTION;
      composition = GO_TEMPLATING_COMPOSITION;
    }
    const premade = new Set<string>();
    const madeReactively = new Set<string>();
    stopProvisioner = startProvisioner(cp, (id) => premade.has(id), madeReactively);
    const bootSeconds = round((Date.now() - t0) / 1000);
    log(`control plane up in ${bootSeconds} s (${FN_PROCESS[fn]}, ${api.label}, ${opts.breaker} circuit breaker, ${opts.mode} mode, ${provisioner} provisioner)`);

    const batches: BatchResult[] = [];
    let error: string | undefined;
    const all: { ns: string; name: string }[] = [];
    let logOffset = 0;
    try {
    for (const [bi, n] of opts.batches.entries()) {
      const claims = Array.from({ length: n }, (_, i) => {
        const example = EXAMPLES[i % EXAMPLES.length]!;
        const ns = `b${bi}-${String(i).padStart(3, '0')}-${example}`;
        return { ns, example, doc: claimDoc(example, ns, opts.mode, apiName, composition) };
      });
      await cp.apply(claims.flatMap((c) => namespaceDocs(c.ns)));
      // The volumes ahead: rendered in-process, created before the apply (not on the measured path; timed apart).
      // (function-streambus's Composition of the mode: function-go-templating's composes the same StatefulSets.)
      const planned = claims.flatMap((c) => planClaims(c.doc, apiName, opts.mode));
      let madeAheadSeconds: number | undefined;
      let madeAhead = 0;
      if (provisioner === 'ahead') {
        madeAheadSeconds = round(await createVolumes(cp, planned.map(persistentVolumeFor)), 2);
        for (const p of planned) premade.add(`${p.namespace}/${p.name}`);
        madeAhead = planned.length;
        log(`batch ${bi}: ${planned.length} PersistentVolumes created ahead in ${madeAheadSeconds} s`);
      }
      const reactiveBefore = new Set(madeReactively);
      const before = await snapshot(cp, filter, fnName);
      if (opts.debug) logOffset = attribution(cp, 0, new Set()).end;
      const start = Date.now();
      // All at once: one `kubectl apply` per 10 claims, in parallel (a loaded apiserver takes minutes for 100).
      await Promise.all(chunks(claims, 10).map(async (chunk) => {
        const r = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=e2e', '-f', '-'], chunk.map((c) => stringify(c.doc)).join('---\n'), 600_000);
        if (r.code !== 0) throw new Error(`kubectl apply of ${chunk.length} ${apiName === 'legacy' ? 'claims' : 'XRs'}: ${r.stderr}`);
      }));
      log(`batch ${bi}: ${n} ${apiName === 'legacy' ? 'claims' : 'namespaced XRs'} applied`);
      const times = new Map<string, ClaimTimes>(claims.map((c) => [c.ns, { name: `${c.ns}/${c.doc.metadata.name}`, example: c.example }]));
      const responsiveFalse: Record<string, string> = {};
      const xrNames = new Set<string>();
      const pvcs = new Map<string, { created: number; bound?: number }>();
      const deadline = start + opts.readyTimeoutMs;
      let allReadyAt: number | undefined;
      let allBoundAt: number | undefined;
      let lastXrs: Obj[] = [];
      for (;;) {
        const now = Date.now();
        // A slow apiserver: the next round. The v2 XR is the applied object itself.
        const [got, xrs, pvcList] = await Promise.all([
          cp.list(api.claims),
          apiName === 'legacy' ? cp.list(api.xrs) : Promise.resolve(undefined),
          cp.list('pvc'),
        ]).catch(() => [[], [], []] as (Obj[] | undefined)[]);
        const xrList = xrs ?? got ?? [];
        for (const c of got ?? []) {
          const t = times.get(c.metadata.namespace);
          if (!t) continue;
          const s = (now - start) / 1000;
          if (t.synced === undefined && cond(c, 'Synced')?.status === 'True') t.synced = s;
          if (t.ready === undefined && cond(c, 'Ready')?.status === 'True') t.ready = s;
          if (t.running === undefined && c.status?.phase === 'Running') t.running = s;
          if (apiName === 'legacy' && c.spec?.resourceRef?.name) xrNames.add(c.spec.resourceRef.name);
          if (apiName === 'v2') xrNames.add(c.metadata.name);
        }
        if (xrList.length) lastXrs = xrList;
        for (const x of xrList) {
          const key = apiName === 'legacy' ? x.metadata.labels?.['crossplane.io/claim-namespace'] : x.metadata.namespace;
          const r = cond(x, 'Responsive');
          const id = apiName === 'legacy' ? x.metadata.name : `${x.metadata.namespace}/${x.metadata.name}`;
          if (r?.status === 'False' && times.has(key) && !responsiveFalse[id]) responsiveFalse[id] = `${r.reason}: ${r.message}`;
        }
        for (const p of pvcList ?? []) {
          if (!times.has(p.metadata.namespace)) continue;
          const id = `${p.metadata.namespace}/${p.metadata.name}`;
          const v = pvcs.get(id) ?? { created: Date.parse(p.metadata.creationTimestamp) };
          if (v.bound === undefined && p.status?.phase === 'Bound') v.bound = now;
          pvcs.set(id, v);
        }
        if (allBoundAt === undefined && [...pvcs.values()].filter((v) => v.bound !== undefined).length >= planned.length) allBoundAt = now;
        const pending = [...times.values()].filter((t) => t.ready === undefined || t.running === undefined);
        if (pending.length === 0) {
          allReadyAt = now;
          break;
        }
        if (now > deadline) break;
        await sleep(n > 50 ? 3000 : 1500);
      }
      const after = await snapshot(cp, filter, fnName);
      const attr = opts.debug ? attribution(cp, logOffset, xrNames) : undefined;
      // Nothing dropped: the composed resources each XR of the batch holds, by example (distinct counts).
      const composed: Record<string, Record<string, number>> = {};
      for (const x of lastXrs) {
        const t = times.get(apiName === 'legacy' ? x.metadata.labels?.['crossplane.io/claim-namespace'] : x.metadata.namespace);
        if (!t) continue;
        const k = String((apiName === 'legacy' ? x.spec?.resourceRefs : x.spec?.crossplane?.resourceRefs)?.length ?? 0);
        composed[t.example] = { ...(composed[t.example] ?? {}), [k]: (composed[t.example]?.[k] ?? 0) + 1 };
      }
      const notReady = [...times.values()].filter((t) => t.ready === undefined || t.running === undefined).map((t) => t.name);
      all.push(...claims.map((c) => ({ ns: c.ns, name: c.doc.metadata.name as string })));
      const inBatch = (id: string) => times.has(id.split('/')[0]!);
      const volumes: VolumeFigures = {
        provisioner,
        madeAhead,
        ...(madeAheadSeconds !== undefined ? { madeAheadSeconds } : {}),
        planned: planned.length,
        madeReactively: [...madeReactively].filter((id) => !reactiveBefore.has(id) && inBatch(id)).length,
        pvcs: pvcs.size,
        bound: [...pvcs.values()].filter((v) => v.bound !== undefined).length,
        ...(allBoundAt !== undefined ? { allBoundSeconds: round((allBoundAt - start) / 1000) } : {}),
        bindLagSeconds: [...pvcs.values()].filter((v) => v.bound !== undefined).map((v) => round(Math.max(0, v.bound! - v.created) / 1000)),
      };
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
        volumes,
        ...(attr ? { attribution: attr.counts } : {}),
      };
      batches.push(b);
      log(`batch ${bi}: ${n - notReady.length}/${n} Ready+Running${b.allReadySeconds ? ` in ${b.allReadySeconds} s` : ''}; breaker events/claim ${b.breakerEventsPerClaim}, opens ${b.breakerOpens}, Responsive=False on ${Object.keys(responsiveFalse).length}`);
      log(`batch ${bi}: volumes: ${volumeLine(volumes)}`);
    }
    } catch (err) {
      // A later batch failing (e.g. a loaded apiserver refusing) keeps the figures of the earlier ones.
      error = err instanceof Error ? err.message : String(err);
      log(`batches stopped: ${error}`);
    }

    let steady: SteadyResult | undefined;
    if (opts.steadySeconds > 0 && all.length > 0) {
      await sleep(15_000); // let the last statuses settle
      const mine = new Set(all.map((c) => `${c.ns}/${c.name}`));
      const countRunning = async () => (await cp.list(api.claims).catch(() => [] as Obj[])).filter((c) => mine.has(`${c.metadata.namespace}/${c.metadata.name}`) && running(c)).length;
      const runningAtStart = await countRunning();
      if (runningAtStart < all.length) log(`steady-state window starts with ${all.length - runningAtStart} of ${all.length} clusters not Ready+Running (the batch limit passed): not a true steady state`);
      const a = await snapshot(cp, filter, fnName);
      await sleep(opts.steadySeconds * 1000);
      const b = await snapshot(cp, filter, fnName);
      const runningAtEnd = await countRunning();
      const secs = (b.at - a.at) / 1000;
      const cpu = cpuDelta(a, b);
      const pct = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round((100 * v) / secs, 2)]));
      steady = {
        seconds: round(secs),
        clusters: all.length,
        runningAtStart,
        runningAtEnd,
        steady: runningAtStart === all.length && runningAtEnd === all.length,
        callsPerClusterPerMinute: round(((b.calls - a.calls) / all.length) * (60 / secs), 2),
        breakerEventsPerClusterPerMinute: round(((b.breakerEvents - a.breakerEvents) / all.length) * (60 / secs), 2),
        cpuSeconds: cpu,
        cpuPercentOfOneCore: pct,
        cpuPercentPer100Clusters: Object.fromEntries(Object.entries(pct).map(([k, v]) => [k, per100Clusters(v, all.length)])),
      };
      log(`steady ${steady.seconds} s with ${all.length} clusters (${steady.steady ? 'all Ready+Running throughout' : `Ready+Running ${runningAtStart} at the start, ${runningAtEnd} at the end`}): ${steady.callsPerClusterPerMinute} calls/cluster/min, CPU % ${JSON.stringify(steady.cpuPercentOfOneCore)}, per 100 clusters ${JSON.stringify(steady.cpuPercentPer100Clusters)}`);
    }

    let roll: RollResult | undefined;
    if (opts.roll && all[0] && !error) {
      try {
      const { ns, name } = all[0];
      const claim = await cp.get(api.claims, name, ns);
      const xr = apiName === 'legacy' ? (claim?.spec?.resourceRef?.name as string) : name;
      const getXr = () => (apiName === 'legacy' ? cp.get(api.xrs, xr) : cp.get(api.xrs, name, ns));
      const a = await snapshot(cp, filter, fnName);
      const off = opts.debug ? attribution(cp, 0, new Set()).end : 0;
      const start = Date.now();
      const phases: string[] = [];
      let responsive: string | undefined;
      await cp.k(['patch', api.claims, name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { image: { tag: 'v1.0.1' } } })]);
      await waitFor('the roll to finish (phase Updating seen, then Running)', async () => {
        const [c, x] = await Promise.all([cp.get(api.claims, name, ns), getXr()]);
        const p = String(c?.status?.phase);
        if (phases[phases.length - 1] !== p) phases.push(p);
        const r = cond(x, 'Responsive');
        if (r?.status === 'False' && !responsive) responsive = `${r.reason}: ${r.message}`;
        return phases.includes('Updating') && p === 'Running' && cond(c, 'Ready')?.status === 'True';
      }, 600_000, 500);
      const b = await snapshot(cp, filter, fnName);
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
      options: { batches: opts.batches, api: apiName, fn, mode: opts.mode, breaker: opts.breaker, provisioner, steadySeconds: opts.steadySeconds, roll: opts.roll, debug: opts.debug, readyTimeoutMs: opts.readyTimeoutMs, ...(opts.kcmQps ? { kcmQps: opts.kcmQps } : {}) },
      startedAt,
      machine,
      bootSeconds,
      batches,
      ...(steady ? { steady } : {}),
      ...(roll ? { roll } : {}),
      ...(error ? { error } : {}),
      functionPeakRssMiB: peakRssMiB(cp.pidOf(FN_PROCESS[fn])),
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

/** p50 / p95 / max of the defined values, or n/a. */
export function ppm(xs: (number | undefined)[]): string {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length ? `${percentile(v, 50)} / ${percentile(v, 95)} / ${Math.max(...v)}` : 'n/a';
}

/** A batch's volume figures in one line. */
export function volumeLine(v: VolumeFigures): string {
  const ahead = v.provisioner === 'ahead' ? `${v.madeAhead} PersistentVolumes created ahead in ${v.madeAheadSeconds ?? '?'} s, ${v.madeReactively} made reactively; ` : `${v.madeReactively} PersistentVolumes made reactively; `;
  return `${ahead}${v.bound} of ${v.planned} planned claims seen Bound (${v.pvcs} seen)${v.allBoundSeconds !== undefined ? `, the last ${v.allBoundSeconds} s after the apply` : ''}; creation→Bound p50/p95/max ${ppm(v.bindLagSeconds)} s`;
}

/** The result as markdown: one table per run. */
export function markdown(r: ScaleResult): string {
  const o = r.options;
  const api = APIS[o.api ?? 'legacy'];
  const unit = (o.api ?? 'legacy') === 'legacy' ? 'claim' : 'XR';
  const fnProc = FN_PROCESS[o.fn ?? 'streambus'];
  // The other function's process is not running: its zero CPU is left out.
  const measured = (k: string) => k === fnProc || !Object.values(FN_PROCESS).includes(k);
  const lines = [
    `### ${fnProc}${o.fn === 'go-templating' ? ` ${GO_TEMPLATING_VERSION} (bench/scale-go-templating.ts's template)` : ''}, ${o.mode} mode, ${api.label}, Crossplane ${o.breaker === 'default' ? 'default circuit breaker (burst 100, refill 1/s)' : 'tuned circuit breaker (burst 1000, refill 20/s)'}, volumes ${(o.provisioner ?? 'ahead') === 'ahead' ? 'made ahead' : 'made reactively'}${o.kcmQps ? `, kube-controller-manager at ${o.kcmQps} API calls/s (default 20)` : ''}`,
    '',
    `${r.startedAt}; ${r.machine}; control plane up in ${r.bootSeconds} s.`,
    '',
    `| batch | clusters in flight | all Ready+Running | apply→Synced p50/p95/max s | apply→Ready p50/p95/max s | apply→Running p50/p95/max s | RunFunction calls per ${unit} until Ready | breaker events per ${unit} | breaker opens | XRs with Responsive=False | CPU s until Ready (function / Crossplane / provider / apiserver) |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const b of r.batches) {
    const c = b.cpuSecondsUntilReady;
    lines.push(`| ${b.claims} | ${b.clustersInFlight} | ${b.claims - b.notReady.length}/${b.claims}${b.allReadySeconds ? ` in ${b.allReadySeconds} s` : ''} | ${ppm(b.times.map((t) => t.synced))} | ${ppm(b.times.map((t) => t.ready))} | ${ppm(b.times.map((t) => t.running))} | ${b.callsPerClaimUntilReady} | ${b.breakerEventsPerClaim} | ${b.breakerOpens} | ${Object.keys(b.responsiveFalse).length} | ${c[fnProc]} / ${c.crossplane} / ${c['provider-kubernetes']} / ${c['kube-apiserver']} |`);
  }
  for (const b of r.batches) if (b.volumes) lines.push('', `Batch of ${b.claims}, volumes: ${volumeLine(b.volumes)}.`);
  if (r.steady) {
    const s = r.steady;
    const state = s.steady
      ? `every cluster Ready with phase Running at its start and end`
      : `**not a steady state**: Ready+Running ${s.runningAtStart} of ${s.clusters} at its start, ${s.runningAtEnd} at its end (the batch limit passed)`;
    lines.push('', `Steady-state window of ${s.seconds} s with ${s.clusters} clusters (${state}): ${s.callsPerClusterPerMinute} RunFunction calls per cluster per minute, ${s.breakerEventsPerClusterPerMinute} breaker events per cluster per minute; CPU seconds (percent of one core; per 100 clusters): ${Object.entries(s.cpuSeconds).filter(([k]) => measured(k)).map(([k, v]) => `${k} ${v} (${s.cpuPercentOfOneCore[k]} %; ${s.cpuPercentPer100Clusters?.[k] ?? '?'} %)`).join(', ')}.`);
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
  lines.push('', `${fnProc} peak RSS ${r.functionPeakRssMiB} MiB (VmHWM); RSS at the end (MiB): ${JSON.stringify(r.rssMiB)}.`);
  return lines.join('\n');
}

/**
 * The two functions side by side, from two runs of the same options one after the other (`--function both`): the
 * function's CPU seconds per claim until each batch was Ready, per RunFunction call, and in the steady state (percent
 * of one core per 100 clusters); the ratio is function-go-templating's figure over function-streambus's.
 */
export function comparison(ours: ScaleResult, theirs: ScaleResult): string {
  const a = FN_PROCESS.streambus;
  const b = FN_PROCESS['go-templating'];
  const ratio = (x: number, y: number) => (x > 0 ? `${round(y / x, 2)}×` : 'n/a');
  const ms = (cpu: number, calls: number) => (calls > 0 ? round((1000 * cpu) / calls, 2) : 0);
  const lines = [
    `### ${a} against ${b} ${GO_TEMPLATING_VERSION}: the function's CPU for the same claims`,
    '',
    `Two runs one after the other with the same options (${ours.options.mode} mode, ${APIS[ours.options.api ?? 'legacy'].label}, ${ours.options.breaker === 'default' ? "Crossplane's default flags" : 'raised circuit-breaker flags'}), ${a} started ${ours.startedAt}, ${b} ${theirs.startedAt}. "×" is ${b}'s figure over ${a}'s.`,
    '',
    `| batch | all Ready+Running (${a} / ${b}) | apply→Ready p95 s | RunFunction calls per claim until Ready | function CPU s per claim until Ready | ratio | function CPU ms per call |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  ours.batches.forEach((x, i) => {
    const y = theirs.batches[i];
    if (!y) return;
    const cx = x.cpuSecondsUntilReady[a] ?? 0;
    const cy = y.cpuSecondsUntilReady[b] ?? 0;
    const p95 = (r: BatchResult) => percentile(r.times.map((t) => t.ready).filter((t): t is number => t !== undefined), 95) ?? 'n/a';
    lines.push(`| ${x.claims} | ${x.claims - x.notReady.length}/${x.claims} in ${x.allReadySeconds ?? '?'} s / ${y.claims - y.notReady.length}/${y.claims} in ${y.allReadySeconds ?? '?'} s | ${p95(x)} / ${p95(y)} | ${x.callsPerClaimUntilReady} / ${y.callsPerClaimUntilReady} | ${round(cx / x.claims, 3)} / ${round(cy / y.claims, 3)} | ${ratio(cx, cy)} | ${ms(cx, x.callsPerClaimUntilReady * x.claims)} / ${ms(cy, y.callsPerClaimUntilReady * y.claims)} |`);
  });
  if (ours.steady && theirs.steady) {
    const x = ours.steady;
    const y = theirs.steady;
    const px = x.cpuPercentPer100Clusters[a] ?? 0;
    const py = y.cpuPercentPer100Clusters[b] ?? 0;
    lines.push('', `Steady state (${x.seconds} s with ${x.clusters} clusters / ${y.seconds} s with ${y.clusters}${x.steady && y.steady ? ', every cluster Running in both' : ', **not every cluster Running in both**'}): RunFunction calls per cluster per minute ${x.callsPerClusterPerMinute} / ${y.callsPerClusterPerMinute}; function CPU ${px} % / ${py} % of one core per 100 clusters (${ratio(px, py)}); per call ${ms(x.cpuSeconds[a] ?? 0, (x.callsPerClusterPerMinute * x.clusters * x.seconds) / 60)} / ${ms(y.cpuSeconds[b] ?? 0, (y.callsPerClusterPerMinute * y.clusters * y.seconds) / 60)} ms.`);
  }
  const total = (r: ScaleResult, p: string) => r.batches.reduce((n, x) => n + (x.cpuSecondsUntilReady[p] ?? 0), 0) + (r.steady?.cpuSeconds[p] ?? 0);
  lines.push('', `The function's CPU over the whole run (every batch until Ready, then the steady state): ${round(total(ours, a), 2)} s / ${round(total(theirs, b), 2)} s (${ratio(total(ours, a), total(theirs, b))}).`);
  return lines.join('\n');
}

const oneOf = <T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T => {
  if (v === undefined || !(allowed as readonly string[]).includes(v)) throw new Error(`--${flag} must be one of ${allowed.join(', ')} (got ${v})`);
  return v as T;
};

/** The command line as options (without log); throws on an unknown value instead of falling back silently. */
export function parseCli(argv: string[]): Omit<ScaleOptions, 'log'> & { out?: string; json?: string; both?: boolean; goFirst?: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      batches: { type: 'string', default: '1,20,100' },
      api: { type: 'string', default: 'legacy' },
      mode: { type: 'string', default: 'Object' },
      breaker: { type: 'string', default: 'default' },
      provisioner: { type: 'string', default: 'ahead' },
      function: { type: 'string', default: 'streambus' },
      'go-first': { type: 'boolean', default: false },
      steady: { type: 'string', default: '600' },
      roll: { type: 'boolean', default: false },
      debug: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '900' },
      'kcm-qps': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const batches = values.batches!.split(',').map(Number);
  if (batches.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--batches must be positive integers, e.g. 1,20,100 (got ${values.batches})`);
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a number of seconds (got ${v})`);
    return n;
  };
  const positive = (flag: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive whole number (got ${v})`);
    return n;
  };
  return {
    batches,
    api: oneOf('api', values.api === 'namespaced' ? 'v2' : values.api, ['legacy', 'v2'] as const),
    mode: oneOf('mode', values.mode, ['Object', 'Direct'] as const),
    breaker: oneOf('breaker', values.breaker, ['default', 'tuned'] as const),
    provisioner: oneOf('provisioner', values.provisioner, ['ahead', 'reactive'] as const),
    ...(values.function === 'both'
      ? { fn: 'streambus' as const, both: true, ...(values['go-first'] ? { goFirst: true } : {}) }
      : { fn: oneOf('function', values.function === 'function-go-templating' ? 'go-templating' : values.function === 'function-streambus' ? 'streambus' : values.function, ['streambus', 'go-templating', 'both'] as const) as Fn }),
    steadySeconds: num('steady', values.steady),
    roll: !!values.roll,
    debug: !!values.debug,
    readyTimeoutMs: num('timeout', values.timeout) * 1000,
    ...(values['kcm-qps'] !== undefined ? { kcmQps: positive('kcm-qps', values['kcm-qps']) } : {}),
    ...(values.out ? { out: values.out } : {}),
    ...(values.json ? { json: values.json } : {}),
  };
}

async function main(): Promise<void> {
  const { out, json, both, goFirst, ...opts } = parseCli(process.argv.slice(2));
  if (goFirst && !both) throw new Error('--go-first orders the two runs of --function both');
  const log = (s: string) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
  // With --function both, the same claims with the other function on a fresh control plane right after
  // (function-streambus first, or function-go-templating first with --go-first).
  const order: Fn[] = both ? (goFirst ? ['go-templating', 'streambus'] : ['streambus', 'go-templating']) : [opts.fn ?? 'streambus'];
  const results: ScaleResult[] = [];
  let md = '';
  for (const fn of order) {
    const r = await runScale({ ...opts, fn, log });
    results.push(r);
    const part = `${md ? '\n' : ''}${markdown(r)}`;
    process.stdout.write(`${part}\n`);
    md += part;
  }
  if (both) {
    const ours = results[order.indexOf('streambus')]!;
    const theirs = results[order.indexOf('go-templating')]!;
    const more = `\n\n${comparison(ours, theirs)}`;
    process.stdout.write(`${more}\n`);
    md += more;
  }
  const r = results[0]!;
  if (json) writeFileSync(json, JSON.stringify(both ? results : r, null, 2));
  if (out) writeFileSync(out, `${existsSync(out) ? readFileSync(out, 'utf8') : ''}\n${md}\n`);
  process.stderr.write(`Crossplane ${CROSSPLANE_VERSION}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(() => process.exit(0), (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
