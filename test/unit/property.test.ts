/**
 * Property-based tests over generated VALID specs and inputs (test/helpers/arbitraries.ts): runFunction never
 * throws and never refuses them, its output is byte-identical for the same input, every composed manifest
 * validates against its Kubernetes schema, every name and label is one Kubernetes accepts, and the desired
 * state of earlier steps survives.
 *
 * PROPERTY_RUNS sets the number of generated cases (default 500: a few seconds on 2 cores); PROPERTY_SEED replays a run.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ready, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { configureCaches, runFunction } from '../../src/function/handler.js';
import { qualifiedNameProblem } from '../../src/function/guard.js';
import { validXrAndInput } from '../helpers/arbitraries.js';
import { request } from '../helpers/fixtures.js';
import { validateManifest } from '../helpers/k8s.js';

type Obj = Record<string, any>;

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);
const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : undefined;
const params = { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const EARLIER: Record<string, Obj> = { 'earlier-step': { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-an-earlier-step', namespace: 'x' } } };

function problems(m: Obj): string[] {
  const out: string[] = [];
  const check = (ok: boolean, what: string) => ok || out.push(what);
  const subdomain = (v: unknown, what: string) => check(typeof v === 'string' && v.length <= 253 && DNS1123_SUBDOMAIN.test(v), `${what} ${JSON.stringify(v)} is not a DNS-1123 subdomain`);
  const labels = (l: Obj | undefined, what: string) => {
    for (const [k, v] of Object.entries(l ?? {})) {
      check(!qualifiedNameProblem(k), `${what} key ${JSON.stringify(k)}`);
      check(typeof v === 'string' && v.length <= 63 && LABEL_VALUE.test(v), `${what}[${k}] value ${JSON.stringify(v)}`);
    }
  };
  const annotations = (a: Obj | undefined, what: string) => {
    for (const k of Object.keys(a ?? {})) check(!qualifiedNameProblem(k), `${what} key ${JSON.stringify(k)}`);
  };

  subdomain(m.metadata?.name, `${m.kind} name`);
  check(typeof m.metadata?.namespace === 'string' && m.metadata.namespace.length <= 63 && DNS1123_LABEL.test(m.metadata.namespace), `${m.kind} namespace`);
  labels(m.metadata?.labels, `${m.kind} labels`);
  if (m.kind === 'Service') {
    check(m.metadata.name.length <= 63 && DNS1035_LABEL.test(m.metadata.name), `Service name ${m.metadata.name} is not a DNS-1035 label`);
    for (const p of m.spec.ports) check(IANA_SVC_NAME.test(p.name) && p.name.length <= 15, `Service port name ${p.name}`);
    check(new Set(m.spec.ports.map((p: Obj) => `${p.port}/${p.protocol}`)).size === m.spec.ports.length, 'Service ports must be unique');
    labels(m.spec.selector, 'Service selector');
  }
  if (m.kind === 'StatefulSet') {
    const name: string = m.metadata.name;
    // Pods are <name>-<ordinal> (DNS-1123 labels: they are hostnames) and carry controller-revision-hash: <name>-<10 chars>.
    check(`${name}-${m.spec.replicas - 1}`.length <= 63 && DNS1123_LABEL.test(name), `pod names of ${name}`);
    check(`${name}-0123456789`.length <= 63, `controller-revision-hash of ${name}`);
    const t = m.spec.template;
    labels(t.metadata.labels, 'pod labels');
    annotations(t.metadata.annotations, 'pod annotations');
    labels(m.spec.selector.matchLabels, 'selector');
    for (const [k, v] of Object.entries(m.spec.selector.matchLabels)) check(t.metadata.labels[k] === v, `selector ${k} must match the pod labels`);
    for (const c of t.spec.containers) {
      check(DNS1123_LABEL.test(c.name), `container name ${c.name}`);
      for (const p of c.ports ?? []) check(IANA_SVC_NAME.test(p.name) && p.name.length <= 15, `container port name ${p.name}`);
      check(new Set((c.ports ?? []).map((p: Obj) => p.containerPort)).size === (c.ports ?? []).length, 'container ports must be unique');
    }
    for (const v of t.spec.volumes ?? []) check(DNS1123_LABEL.test(v.name), `volume name ${v.name}`);
    for (const pvc of m.spec.volumeClaimTemplates ?? []) {
      check(DNS1123_LABEL.test(pvc.metadata.name), `claim template ${pvc.metadata.name}`);
      subdomain(`${pvc.metadata.name}-${name}-${m.spec.replicas - 1}`, 'PVC name');
      labels(pvc.metadata.labels, 'claim template labels');
    }
  }
  return out;
}

describe(`RunFunction over ${RUNS} generated valid XRs`, () => {
  it('never throws or refuses, is byte-for-byte deterministic, keeps earlier steps, and composes valid Kubernetes objects', () => {
    const kinds = new Map<string, number>();
    let objectMode = 0;
    fc.assert(
      fc.property(validXrAndInput, ({ xr, input }) => {
        const req = request(xr, { input, desired: EARLIER, tag: 'prop' });
        const twin = request(structuredClone(xr), { input: structuredClone(input), desired: structuredClone(EARLIER), tag: 'prop' });
        const rsp = runFunction(req);
        const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
        if (fatal.length) throw new Error(`refused a valid spec: ${fatal[0]!.message}`);

        // Same input (an independent deep copy of it): byte-identical protobuf.
        const a = Buffer.from(RunFunctionResponse.encode(rsp).finish());
        // The twin runs with the render cache off, so it is computed afresh (a cache hit would return the very same
        // objects and prove nothing); cached and uncached answers must be byte-identical.
        configureCaches(0);
        let b: Buffer;
        try {
          b = Buffer.from(RunFunctionResponse.encode(runFunction(twin)).finish());
        } finally {
          configureCaches(512);
        }
        if (!a.equals(b)) throw new Error('not deterministic: two runs on the same input differ');

        const res = rsp.desired!.resources;
        expect(res['earlier-step']!.resource).toEqual(EARLIER['earlier-step']);
        const mode = String((input.spec as Obj)?.mode ?? 'Object');
        if (mode === 'Object') objectMode++;
        for (const [key, r] of Object.entries(res)) {
          if (key === 'earlier-step') continue;
          expect(r.ready, key).not.toBe(Ready.READY_UNSPECIFIED);
          const o = r.resource as Obj;
          let m = o;
          if (mode === 'Object') {
            expect(o.apiVersion).toBe('kubernetes.crossplane.io/v1alpha2');
            expect(o.kind).toBe('Object');
            const name = o.metadata.name as string;
            if (!(name.length <= 253 && DNS1123_SUBDOMAIN.test(name))) throw new Error(`Object name ${name}`);
            m = o.spec.forProvider.manifest;
          }
          kinds.set(String(m.kind), (kinds.get(String(m.kind)) ?? 0) + 1);
          validateManifest(m);
          const p = problems(m);
          if (p.length) throw new Error(`${key}: ${p.join('; ')}`);
        }
      }),
      params,
    );
    console.log(`property: ${RUNS} valid XRs (${objectMode} in Object mode); composed ${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}`);
  }, 120_000 + RUNS * 100);

  it('the guard and the schema agree with the generator: nothing generated is refused by either', () => {
    fc.assert(
      fc.property(validXrAndInput, ({ xr, input }) => {
        const rsp = runFunction(request(xr, { input }));
        return !rsp.results.some((r) => r.severity === Severity.SEVERITY_FATAL);
      }),
      { ...params, numRuns: Math.max(50, Math.floor(RUNS / 10)) },
    );
  }, 60_000 + RUNS * 10);
});
