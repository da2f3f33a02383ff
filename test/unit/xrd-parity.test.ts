/**
 * Parity between the function and the API server, both ways.
 *
 *  - Walks the generated XRD (apis/xrd.yaml) and checks that every rule the function applies that a structural
 *    schema can express is there: a pattern (or enum) on every string the function constrains, quantity patterns on
 *    every int-or-string, label-value patterns on label maps, bounded maps under CEL, CEL for the resource rules.
 *  - Evaluates the XRD's pattern and CEL rules on cases Kubernetes refuses, and checks the function refuses the
 *    same cases, naming the field. The CEL rules are evaluated by Kubernetes' own CEL environment (test/celcheck,
 *    k8s.io/apiserver v0.34.1, quantity library included), never by the project's own quantity parser; the XRD's
 *    quantity pattern is checked against Kubernetes' isQuantity() on the same strings.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { z } from 'zod';
import { StreamBusClusterSpec } from '../../src/api/schema.js';
import { runFunction } from '../../src/function/handler.js';
import { EXAMPLES, exampleXr, loadYaml, request } from '../helpers/fixtures.js';
import { requireTool } from '../helpers/tools.js';

type Obj = Record<string, any>;

const xrd = loadYaml('apis/xrd.yaml') as Obj;
const spec = xrd.spec.versions[0].schema.openAPIV3Schema.properties.spec as Obj;

// ----------------------------------------------------------------------------------------- Kubernetes' own CEL
/** Kubernetes' quantity syntax (apimachinery's resource.ParseQuantity), as the XRD's pattern must spell it. */
const QUANTITY = /^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
/**
 * The oracle: test/celcheck, Kubernetes' own CEL environment (k8s.io/apiserver v0.34.1: quantity(), isQuantity(),
 * compareTo(), isInteger() as kube-apiserver v1.34.1 evaluates CRD rules). Nothing of the project's own quantity
 * code is on this side of the comparison.
 */
const celcheck = requireTool('streambus-celcheck', 'the XRD\'s CEL rules are evaluated by Kubernetes\' own CEL library (test/celcheck)');
const oracleCache = new Map<string, unknown>();
function evaluate(rule: string, self: unknown): unknown {
  const line = JSON.stringify({ rule, self });
  if (oracleCache.has(line)) return oracleCache.get(line);
  const r = spawnSync(celcheck!, [], { input: `${line}\n`, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`streambus-celcheck exited ${r.status}: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { result?: unknown; error?: string };
  // A rule that does not compile or errors is a rule the API server refuses to store or evaluate: the test fails.
  if (out.error !== undefined) throw new Error(`Kubernetes CEL: ${out.error} (rule ${rule})`);
  oracleCache.set(line, out.result);
  return out.result;
}

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

describe.skipIf(!celcheck)('the XRD\'s quantity pattern against Kubernetes\' own isQuantity()', () => {
  it('accepts only what Kubernetes accepts; refuses beyond it only negative values and a bare suffix', () => {
    const pattern = new RegExp(at('spec.resources.requests{}').pattern);
    const samples = ['1', '0.5', '.5', '1.', '500m', '1Gi', '1024Mi', '1e3', '1E-3', '+1', '1GB', '1gi', '-1', '-1Gi', '1 Gi', '', 'Gi', 'k', '1.5.5', '1ki', '1Ki', '9999999999999999999999999999999999999G'];
    const both = samples.map((q) => ({ q, xrd: pattern.test(q), kubernetes: evaluate('isQuantity(self)', q) }));
    expect(both.filter((b) => b.xrd && !b.kubernetes)).toEqual([]);
    // Stricter than resource.ParseQuantity, on purpose: a negative request or limit is refused by pod validation
    // anyway, and a bare suffix ("Gi", which ParseQuantity reads as 0) is a typo, not a size.
    expect(both.filter((b) => !b.xrd && b.kubernetes).map((b) => b.q)).toEqual(['-1', '-1Gi', 'Gi', 'k']);
  });
});

describe.skipIf(!celcheck)('the API server (XRD) and the function refuse the same resources', () => {
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
