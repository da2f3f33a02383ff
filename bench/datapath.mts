/**
 * `npm run bench:datapath`: what an application gets through the client address of a rendered cluster, plaintext
 * vs through the TLS sidecar, measured the same way in one run (issue 20).
 *
 * Both variants are the secure example (3 brokers), rendered with `function-streambus render`: as it is (TLS: the
 * ghostunnel sidecar in every pod, mutual TLS; the client goes through a ghostunnel client tunnel with a client
 * certificate), and with `security.tls` and `security.authentication` off (plaintext; nothing else changes). Each runs
 * as pods in the broker-pods harness (test/helpers/pods.ts: the real StreamBus v1.0.1 broker, the real sidecar) with
 * the client Service served by the kube-proxy stand-in, and the real CLI as the client, in the node namespace:
 *  - produce: M messages one after another, then M by 4 producers in parallel (messages/s). The CLI produces one
 *    message per process (`-m`, or the first line of stdin), so every message is a new process and a new connection
 *    (and, with TLS, a new handshake): this is what an application using the CLI gets, not the broker's ceiling;
 *  - consume: a fresh consumer from the earliest offset until it has read all of them (messages/s; median of 3), which
 *    is one connection streaming many messages.
 * Every message produced must be read back (else exit 1). `--short` (npm test: a smoke, no timing gate) uses M=40,
 * the full run M=300; `--out FILE` writes the results as markdown. Needs root (network namespaces) and the tools
 * (.tools/bin: streambus-broker, streambus-cli, ghostunnel); without them it says so loudly and exits 0, or fails
 * under CI=true. Run with `node --import tsx bench/datapath.mts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { podReady, statefulSetOf } from '../test/helpers/brokers.js';
import { Addresses, bootPods, clientService, consume, missing, pkiFor, produce, renderClaimWithStatus, TOPIC } from '../test/helpers/datapath.js';
import { podSupport, type Pods } from '../test/helpers/pods.js';
import { IN_CI, ROOT, toolPath } from '../test/helpers/tools.js';

type Obj = Record<string, any>;
const { values: args } = parseArgs({ options: { short: { type: 'boolean', default: false }, out: { type: 'string' } } });
const M = args.short ? 40 : 300;
const PARALLEL = 4;

const missingTools = ['streambus-broker', 'streambus-cli', 'ghostunnel'].filter((t) => !toolPath(t));
const noPods = podSupport();
if (missingTools.length || noPods) {
  const why = missingTools.length ? `${missingTools.join(', ')} not in .tools/bin` : noPods;
  if (IN_CI) {
    process.stderr.write(`CI=true and the data-path benchmark cannot run: ${why}\n`);
    process.exit(1);
  }
  process.stderr.write(`\n!!!!!!!!!! SKIPPED: the data-path benchmark cannot run: ${why} !!!!!!!!!!\n\n`);
  process.exit(0);
}
const cli = toolPath('streambus-cli')!;

interface Figures {
  variant: string;
  produceSerialPerS: number;
  produceParallelPerS: number;
  consumePerS: number;
  consumeRunsMs: number[];
  quorumMs: number;
}

async function measure(variant: string, claim: Obj): Promise<Figures> {
  const { manifests } = await renderClaimWithStatus(claim);
  const sts = statefulSetOf(manifests);
  const svc = clientService(manifests);
  const svcFqdn = `${svc.metadata.name}.${sts.metadata.namespace ?? 'default'}.svc.cluster.local`;
  const { secrets, tls } = pkiFor(sts, svcFqdn);
  if (variant === 'tls' && !tls) throw new Error('the TLS variant renders no sidecar');
  if (variant === 'plaintext' && tls) throw new Error('the plaintext variant renders a sidecar');
  let pods: Pods | undefined;
  try {
    const booted = await bootPods(manifests, secrets, 120_000, { created: (p) => (pods = p) });
    const p = booted.pods;
    await p.serveService(svc.metadata.name, (i) => podReady(p, i));
    const addr = await new Addresses(p, tls).of(`${svcFqdn}:${svc.spec.ports.find((x: Obj) => x.name === 'client').port}`);
    const c = await p.agent!.exec(cli, ['-b', addr, 'topic', 'create', TOPIC, '-p', '1', '-r', '1'], 15_000);
    if (c.code !== 0) throw new Error(`topic create: ${c.stdout}${c.stderr}`);
    await produce(p, cli, addr, 'warmup', 3);

    let t0 = performance.now();
    const serial = await produce(p, cli, addr, `${variant}-serial`, M);
    const serialS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const par = await Promise.all(Array.from({ length: PARALLEL }, (_, k) => produce(p, cli, addr, `${variant}-par${k}`, Math.ceil(M / PARALLEL))));
    const parS = (performance.now() - t0) / 1000;
    const acked = [...serial.acked, ...par.flatMap((x) => x.acked)];
    const failed = serial.failed.length + par.reduce((a, x) => a + x.failed.length, 0);
    if (failed) throw new Error(`${variant}: ${failed} produce(s) failed, e.g. ${JSON.stringify(serial.failed[0] ?? par.find((x) => x.failed.length)?.failed[0])}`);

    const runs: number[] = [];
    let total = 0;
    for (let r = 0; r < 3; r++) {
      const got = await consume(p, cli, addr, acked);
      const miss = missing(got.values, acked);
      if (miss.length) throw new Error(`${variant}: a consumer missed ${miss.length} of ${acked.length} messages (${got.why})`);
      runs.push(got.ms);
      total = got.values.length;
    }
    const median = [...runs].sort((a, b) => a - b)[1]!;
    return {
      variant,
      produceSerialPerS: M / serialS,
      produceParallelPerS: (PARALLEL * Math.ceil(M / PARALLEL)) / parS,
      consumePerS: total / (median / 1000),
      consumeRunsMs: runs,
      quorumMs: booted.quorumMs,
    };
  } finally {
    await pods?.cleanup();
  }
}

const claim = parse(readFileSync(join(ROOT, 'examples/secure/claim.yaml'), 'utf8')) as Obj;
const plain = structuredClone(claim);
plain.spec.security.tls = { enabled: false };
plain.spec.security.authentication = { enabled: false };
const load0 = loadavg()[0]!;
const t0 = Date.now();
const rows = [await measure('plaintext', plain), await measure('tls', claim)];
const [p, t] = rows as [Figures, Figures];
const f = (x: number) => x.toFixed(1);
const r = (a: number, b: number) => (a / b).toFixed(2);
const lines = [
  `## Data path: messages/s through the client Service, plaintext vs the TLS sidecar${args.short ? ' (--short)' : ''}`,
  '',
  `secure example, 3 brokers, StreamBus v1.0.1 broker and CLI (one process per produced message), ${M} messages per`,
  `measure; ${cpus().length} cores, load average ${load0.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end; ${new Date().toISOString()}; ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
  '',
  '| | plaintext | TLS sidecar (mTLS, client tunnel) | TLS / plaintext |',
  '|---|---|---|---|',
  `| produce, 1 producer (msg/s) | ${f(p.produceSerialPerS)} | ${f(t.produceSerialPerS)} | ${r(t.produceSerialPerS, p.produceSerialPerS)} |`,
  `| produce, ${PARALLEL} producers (msg/s) | ${f(p.produceParallelPerS)} | ${f(t.produceParallelPerS)} | ${r(t.produceParallelPerS, p.produceParallelPerS)} |`,
  `| consume, 1 fresh consumer (msg/s, median of 3) | ${f(p.consumePerS)} | ${f(t.consumePerS)} | ${r(t.consumePerS, p.consumePerS)} |`,
  `| consumer runs (ms) | ${p.consumeRunsMs.join(', ')} | ${t.consumeRunsMs.join(', ')} | |`,
  '',
  'Every produced message is a new CLI process and connection; with TLS, a new mutual-TLS handshake through two',
  'ghostunnel hops (the client tunnel, then the sidecar): that, not the bytes, is the TLS cost a CLI producer pays.',
  'A consumer run is one connection; it ends when it has read every message (or idles 1.5 s after its last one), and',
  "includes the CLI process's start and its first fetch: for small M that dominates. Machine load makes single runs",
  'noisy (two full runs 40 s apart gave TLS/plaintext 0.45 and 0.22 for one producer); read the ratios, not the rates.',
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);
if (args.out) writeFileSync(args.out, `${lines.join('\n')}\n`);
