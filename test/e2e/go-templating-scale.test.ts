/**
 * The scale benchmark's function-go-templating Composition (bench/scale-go-templating.ts) against the real
 * function-go-templating v0.12.2 binary over gRPC, no control plane: its template composes what function-streambus
 * composes for each example and follows the cluster's state as the benchmark needs (readiness and phase from the
 * observed resources), in both modes and both APIs. The control-plane run is `npm run bench:scale -- --function
 * go-templating`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { FunctionRunnerServiceService, RunFunctionRequest, Ready, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { locateGoTemplating } from '../../bench/go-templating.js';
import { healthyObserved, liveAnswer, scaleTemplate } from '../../bench/scale-go-templating.js';
import { claimToXr } from '../../src/cli/claim.js';
import { IN_CI, ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;

const found = locateGoTemplating(ROOT);
/** The pinned binary from ../shared/tools (sha256 checked); missing: skipped loudly, or a failure under CI. */
const binary = ((): string | undefined => {
  if ('path' in found) return found.path;
  if (IN_CI) throw new Error(`CI=true and ${found.problem}`);
  process.stderr.write(`\n!!!!!!!!!! SKIPPED: ${found.problem} !!!!!!!!!!\n\n`);
  return undefined;
})();
const EXAMPLES = ['minimal', 'dev', 'production', 'secure', 'multi-tenant'];
const Client = grpc.makeGenericClientConstructor(FunctionRunnerServiceService, 'FunctionRunnerService');

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** The Secrets the examples name, in namespace `ns` (the CA is what the TLS examples publish). */
const secrets = (ns: string): Obj[] => [
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'streambus-ca-cert', namespace: ns }, data: { 'ca.crt': b64('-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n') } },
];
const manifest = (example: string, ns: string): Obj => {
  const m = parse(readFileSync(join(ROOT, 'examples', example, 'claim.yaml'), 'utf8')) as Obj;
  m.metadata.namespace = ns;
  return m;
};
const composition = (api: 'legacy' | 'v2', mode: 'Object' | 'Direct'): Obj =>
  parse(readFileSync(join(ROOT, api === 'legacy' ? 'compositions' : 'compositions/v2', mode === 'Direct' ? 'composition-direct.yaml' : 'composition.yaml'), 'utf8')) as Obj;

describe.skipIf(!binary)('function-go-templating composes what function-streambus composes, following the cluster (real binary, no control plane)', () => {
  let proc: ChildProcess;
  let client: grpc.Client;
  const port = 19000 + (process.pid % 500);
  beforeAll(async () => {
    proc = spawn(binary!, ['--insecure', '--address', `127.0.0.1:${port}`], { stdio: 'ignore' });
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 20_000, (err) => (err ? reject(err) : resolve())));
  });
  afterAll(() => {
    client?.close();
    proc?.kill();
  });
  const run = (req: RunFunctionRequest): Promise<RunFunctionResponse> =>
    new Promise((resolve, reject) => (client as any).runFunction(req, (err: Error | null, rsp: RunFunctionResponse) => (err ? reject(err) : resolve(rsp))));

  for (const api of ['legacy', 'v2'] as const) {
    for (const mode of ['Direct', 'Object'] as const) {
      it(`${api} API, ${mode} mode: each example's resources, not ready and Creating at first, ready and Running once healthy`, async () => {
        const ns = `gt-${api}-${mode.toLowerCase()}`;
        const c = composition(api, mode);
        const input = c.spec.pipeline[0].input as Obj;
        const manifests = EXAMPLES.map((e) => manifest(e, ns));
        const template = scaleTemplate(manifests, api, input, secrets(ns));
        const goInput = { apiVersion: 'gotemplating.fn.crossplane.io/v1beta1', kind: 'GoTemplate', source: 'Inline', inline: { template } };
        for (const m of manifests) {
          const xr = api === 'legacy' ? claimToXr(m) : m;
          const ours = liveAnswer(xr, input, secrets(ns));
          const keys = Object.keys(ours.composed).sort();
          const request = (observed: Record<string, Obj>) =>
            RunFunctionRequest.fromPartial({
              meta: { tag: 't' },
              observed: { composite: { resource: xr }, resources: Object.fromEntries(Object.entries(observed).map(([k, v]) => [k, { resource: v }])) },
              input: goInput,
            });
          // Nothing observed yet: every resource composed, none ready, phase Creating.
          const first = await run(request({}));
          expect(first.results.filter((r) => r.severity === 1).map((r) => r.message), m.metadata.name).toEqual([]);
          expect(Object.keys(first.desired!.resources).sort(), m.metadata.name).toEqual(keys);
          for (const k of keys) {
            const got = first.desired!.resources[k]!;
            const want = ours.composed[k]!.resource;
            // The same manifest function-streambus renders (the annotations function-go-templating consumes aside).
            const strip = (o: Obj) => ({ ...o, metadata: { ...o.metadata, annotations: Object.fromEntries(Object.entries(o.metadata?.annotations ?? {}).filter(([a]) => !a.startsWith('gotemplating.fn.crossplane.io/'))) } });
            const norm = (o: Obj) => {
              const s = strip(o);
              if (Object.keys(s.metadata.annotations).length === 0) delete s.metadata.annotations;
              return s;
            };
            expect(norm(got.resource as Obj), `${m.metadata.name} ${k}`).toEqual(norm(want));
            expect(got.ready, `${m.metadata.name} ${k}`).toBe(Ready.READY_FALSE);
          }
          expect((first.desired!.composite!.resource as Obj).status.phase, m.metadata.name).toBe('Creating');
          // Every resource exists, but the brokers are not all ready yet: still Creating, the StatefulSet not ready.
          const healthy = healthyObserved(Object.fromEntries(keys.map((k) => [k, ours.composed[k]!.resource])));
          const stsKey = keys.find((k) => (ours.composed[k]!.resource.kind === 'Object' ? ours.composed[k]!.resource.spec.forProvider.manifest.kind : ours.composed[k]!.resource.kind) === 'StatefulSet')!;
          const partial = structuredClone(healthy);
          const sts = partial[stsKey]!.kind === 'Object' ? partial[stsKey]!.status.atProvider.manifest : partial[stsKey]!;
          sts.status.readyReplicas -= 1;
          const mid = await run(request(partial));
          expect(mid.desired!.resources[stsKey]!.ready, m.metadata.name).toBe(Ready.READY_FALSE);
          expect(keys.filter((k) => k !== stsKey).every((k) => mid.desired!.resources[k]!.ready === Ready.READY_TRUE), m.metadata.name).toBe(true);
          expect((mid.desired!.composite!.resource as Obj).status.phase, m.metadata.name).toBe('Creating');
          // Healthy: every resource ready, Running, the ready replicas counted, the rest of the status function-streambus's.
          const last = await run(request(healthy));
          for (const k of keys) expect(last.desired!.resources[k]!.ready, `${m.metadata.name} ${k}`).toBe(Ready.READY_TRUE);
          const status = (last.desired!.composite!.resource as Obj).status as Obj;
          expect(status, m.metadata.name).toEqual({ ...ours.status, phase: 'Running' });
          expect(status.phase).toBe('Running');
        }
      }, 60_000);
    }
  }
});
