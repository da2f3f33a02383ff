/**
 * Parity between the function and the API server, both ways.
 *
 *  - Walks the generated XRD (apis/xrd.yaml) and checks that every rule the function applies that a structural
 *    schema can express is there: a pattern (or enum) on every string the function constrains, quantity patterns on
 *    every int-or-string, label-value patterns on label maps, bounded maps under CEL, CEL for the resource rules.
 *  - Evaluates the XRD's pattern and CEL rules (CEL with @bufbuild/cel, plus Kubernetes' quantity library:
 *    isQuantity, quantity, compareTo, isInteger) on cases Kubernetes refuses, and checks the function refuses the
 *    same cases, naming the field.
 */
import { describe, expect, it } from 'vitest';
import { celFunc, celMethod, CelScalar, run } from '@bufbuild/cel';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { z } from 'zod';
import { StreamBusClusterSpec } from '../../src/api/schema.js';
import { parseQuantity } from '../../src/k8s/quantity.js';
import { runFunction } from '../../src/function/handler.js';
import { EXAMPLES, exampleXr, loadYaml, request } from '../helpers/fixtures.js';

type Obj = Record<string, any>;

const xrd = loadYaml('apis/xrd.yaml') as Obj;
const spec = xrd.spec.versions[0].schema.openAPIV3Schema.properties.spec as Obj;

// ----------------------------------------------------------------------------------------- Kubernetes' CEL quantity library
/** A quantity travels as a string "q:<value>" (enough for comparisons; the test needs no other operation). */
const QUANTITY = /^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
const qv = (s: string) => Number(s.slice(2));
const K8S_FUNCS = [
  celFunc('isQuantity', [CelScalar.STRING], CelScalar.BOOL, (s) => QUANTITY.test(s)),
  celFunc('quantity', [CelScalar.STRING], CelScalar.STRING, (s) => `q:${parseQuantity(s)}`),
  celMethod('compareTo', CelScalar.STRING, [CelScalar.STRING], CelScalar.INT, function (o) {
    return BigInt(Math.sign(qv(this) - qv(o)));
  }),
  celMethod('isInteger', CelScalar.STRING, [], CelScalar.BOOL, function () {
    return Number.isInteger(qv(this));
  }),
];
function cel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cel);
  if (v && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, cel(x)]));
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return v;
}
const evaluate = (rule: string, self: unknown) => run(rule, { self: cel(self) } as never, { funcs: K8S_FUNCS });

// ----------------------------------------------------------------------------------------- walking the XRD
interface Node {
  path: string;
  schema: Obj;
}
function walk(n: Obj, path: string, out: Node[] = []): Node[] {
  out.push({ path, schema: n });
  for (const [k, v] of Object.entries<Obj>(n.properties ?? {})) walk(v, `${path}.${k}`, out);
  if (n.items) walk(n.items, `${path}[]`, out);
  if (n.additionalProperties && typeof n.additionalProperties === 'object') walk(n.additionalProperties, `${path}{}`, out);
  return out;
}
const nodes = walk(spec, 'spec');
const at = (path: string) => nodes.find((n) => n.path === path)!.schema;

/** Strings the function leaves free (any text Kubernetes accepts there), each bounded in length. */
const FREE_TEXT = new Set([
  'spec.podAnnotations{}', // annotation values: any text; the total size is checked by the function
  'spec.security.sasl', // (none today)
]);

describe('the XRD carries every rule of the function it can express', () => {
  it('every constrained string has a pattern or an enum; the rest are bounded free text', () => {
    const strings = nodes.filter((n) => n.schema.type === 'string');
    expect(strings.length).toBeGreaterThan(20);
    const loose = strings.filter((n) => !n.schema.pattern && !n.schema.enum && !FREE_TEXT.has(n.path));
    expect(loose.map((n) => n.path)).toEqual([]);
  });

  it('every int-or-string quantity carries the quantity pattern and a length bound', () => {
    const q = nodes.filter((n) => n.schema['x-kubernetes-int-or-string']);
    expect(q.map((n) => n.path)).toEqual(['spec.resources.requests{}', 'spec.resources.limits{}']);
    for (const n of q) {
      expect(n.schema.pattern, n.path).toBe(QUANTITY.source);
      expect(n.schema.maxLength, n.path).toBe(64);
      expect(n.schema.anyOf, n.path).toEqual([{ type: 'integer' }, { type: 'string' }]);
    }
  });

  it('label maps and toleration values carry the label-value pattern (ASCII, ≤ 63)', () => {
    for (const p of ['spec.podLabels{}', 'spec.nodeSelector{}', 'spec.tolerations[].value']) {
      expect(new RegExp(at(p).pattern).test('équipe'), p).toBe(false);
      expect(new RegExp(at(p).pattern).test('team-a'), p).toBe(true);
      expect(at(p).maxLength, p).toBe(63);
    }
  });

  it('every map that CEL iterates is bounded (maxProperties), so the API server accepts the rules\' cost', () => {
    for (const n of nodes) {
      const rules: { rule: string }[] = n.schema['x-kubernetes-validations'] ?? [];
      if (n.schema.additionalProperties && rules.some((r) => /self\.all\(/.test(r.rule))) expect(n.schema.maxProperties, n.path).toBeGreaterThan(0);
    }
  });

  it('every pattern compiles in RE2 syntax terms (no \\u escapes, no lookbehind) and in JavaScript', () => {
    for (const n of nodes.filter((x) => x.schema.pattern)) {
      expect(n.schema.pattern, n.path).not.toMatch(/\\u|\(\?<[=!]|\(\?=|\(\?!/);
      expect(() => new RegExp(n.schema.pattern), n.path).not.toThrow();
    }
  });

  it('every zod regex on the spec is in the XRD (zod → JSON Schema carries them all)', () => {
    const json = z.toJSONSchema(StreamBusClusterSpec, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Obj;
    const patterns = new Set<string>();
    const collect = (v: unknown) => {
      if (!v || typeof v !== 'object') return;
      for (const [k, x] of Object.entries(v as Obj)) {
        if (k === 'pattern' && typeof x === 'string') patterns.add(x);
        else collect(x);
      }
    };
    collect(json);
    const inXrd = new Set(nodes.map((n) => n.schema.pattern).filter(Boolean));
    expect([...patterns].filter((p) => !inXrd.has(p))).toEqual([]);
  });
});

// ----------------------------------------------------------------------------------------- both sides refuse the same
const resourceRules = (at('spec.resources')['x-kubernetes-validations'] ?? []) as { rule: string; message: string }[];
const mapRules = (at('spec.resources.requests')['x-kubernetes-validations'] ?? []) as { rule: string; message: string }[];

function apiServerRefuses(resources: Obj): string[] {
  const out: string[] = [];
  for (const kind of ['requests', 'limits']) {
    const m = resources[kind] ?? {};
    for (const [k, v] of Object.entries(m)) {
      const s = at(`spec.resources.${kind}{}`);
      if (typeof v === 'string' && (!new RegExp(s.pattern).test(v) || v.length > s.maxLength)) out.push(`${kind}.${k}: pattern`);
      if (typeof v === 'number' && !Number.isInteger(v)) out.push(`${kind}.${k}: integer`);
    }
    if (out.length) continue;
    for (const r of mapRules) if (resources[kind] && evaluate(r.rule, resources[kind]) !== true) out.push(`${kind}: ${r.message}`);
  }
  if (out.length === 0) for (const r of resourceRules) if (evaluate(r.rule, resources) !== true) out.push(r.message);
  return out;
}

function functionRefuses(resources: Obj): string | undefined {
  const x = structuredClone(exampleXr('minimal')) as Obj;
  x.spec.resources = resources;
  const rsp = runFunction(request(x));
  return rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
}

describe('the API server (XRD) and the function refuse the same resources', () => {
  it.each<[string, Obj, string | undefined]>([
    ['memory: 1GB', { limits: { memory: '1GB' } }, 'spec.resources.limits.memory'],
    ['cpu: 0.5 as a number', { requests: { cpu: 0.5 } }, 'spec.resources.requests.cpu'],
    ['request above limit', { requests: { cpu: '4' }, limits: { cpu: '1' } }, 'spec.resources.requests.cpu'],
    ['request above limit, written differently', { requests: { memory: '2Gi' }, limits: { memory: '1024Mi' } }, 'spec.resources.requests.memory'],
    ['fractional extended resource', { requests: { 'nvidia.com/gpu': '500m' }, limits: { 'nvidia.com/gpu': '500m' } }, 'spec.resources.requests["nvidia.com/gpu"]'],
    ['overcommitted extended resource', { requests: { 'nvidia.com/gpu': '1' } }, 'spec.resources.limits["nvidia.com/gpu"]'],
    ['unknown resource name', { requests: { foo: '1' } }, 'spec.resources.requests.foo'],
    ['a resource named constructor', { requests: { constructor: '1' } }, 'spec.resources.requests.constructor'],
    ['a kubernetes.io resource', { requests: { 'kubernetes.io/foo': '1' } }, 'spec.resources.requests["kubernetes.io/foo"]'],
    ['valid: whole GPUs, equal', { requests: { 'nvidia.com/gpu': 2, cpu: '500m' }, limits: { 'nvidia.com/gpu': '2', cpu: 1 } }, undefined],
    ['valid: hugepages, equal', { requests: { 'hugepages-2Mi': '1Gi', memory: '1Gi' }, limits: { 'hugepages-2Mi': '1Gi', memory: '2Gi' } }, undefined],
    ['valid: equal written differently', { requests: { memory: '1Gi' }, limits: { memory: '1024Mi' } }, undefined],
  ])('%s', (_name, resources, field) => {
    const api = apiServerRefuses(resources);
    const fn = functionRefuses(resources);
    if (field === undefined) {
      expect(api).toEqual([]);
      expect(fn).toBeUndefined();
    } else {
      expect(api.length, 'the API server refuses it').toBeGreaterThan(0);
      expect(fn, 'the function refuses it').toBeDefined();
      expect(fn!).toContain(field);
    }
  });

  for (const ex of EXAMPLES) {
    it(`both accept the ${ex} example's resources`, () => {
      const r = exampleXr(ex).spec.resources ?? {};
      expect(apiServerRefuses(r)).toEqual([]);
      expect(functionRefuses(r)).toBeUndefined();
    });
  }
});
