/**
 * The XRD's CEL rules (x-kubernetes-validations), evaluated with a real CEL evaluator (@bufbuild/cel) the way the
 * API server evaluates them: on the defaulted object, integers as CEL ints. Every rule must accept every example
 * and refuse the cases its zod twin refuses, so the API server and the function agree.
 */
import { describe, expect, it } from 'vitest';
import { run } from '@bufbuild/cel';
import { StreamBusClusterSpec } from '../../src/api/schema.js';
import { EXAMPLES, exampleXr, loadYaml } from '../helpers/fixtures.js';

type Obj = Record<string, any>;

/** JSON → CEL input: objects as maps, integers as int (bigint), like the API server's structural values. */
function cel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cel);
  if (v && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, cel(x)]));
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return v;
}

const xrd = loadYaml('apis/xrd.yaml') as Obj;
const specSchema = xrd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
const specRules: { rule: string; message: string }[] = specSchema['x-kubernetes-validations'];
const tolerationRules: { rule: string; message: string }[] = specSchema.properties.tolerations.items['x-kubernetes-validations'];

/** The spec as the API server sees it: defaults applied (zod applies the same defaults as the XRD). */
const defaulted = (spec: unknown) => JSON.parse(JSON.stringify(StreamBusClusterSpec.parse(spec)));
/** The same, without the function's own cross-field checks (to evaluate CEL on an invalid spec). */
const withDefaults = (spec: Obj) => {
  const base = defaulted({});
  return { ...base, ...spec, config: { ...base.config, ...(spec.config ?? {}) } };
};
const evaluate = (rule: string, self: unknown) => run(rule, { self: cel(self) } as never);

describe('XRD CEL rules', () => {
  it('exist for every cross-field rule', () => {
    expect(specRules.map((r) => r.message.split(':')[0])).toEqual([
      'security.tls.certSecretName',
      'security.tls.clientAuthRequired',
      'security.authentication.jwtSecretName',
      'multiTenancy.tenantOverrides',
      'config.httpPort',
      'observability.tracing.endpoint',
    ]);
  });

  for (const ex of EXAMPLES) {
    it(`accept the ${ex} example`, () => {
      const self = defaulted(exampleXr(ex).spec);
      for (const r of specRules) expect(evaluate(r.rule, self), r.message).toBe(true);
      for (const t of self.tolerations ?? []) for (const r of tolerationRules) expect(evaluate(r.rule, t), r.message).toBe(true);
    });
  }

  it.each<[string, Obj]>([
    ['security.tls.certSecretName', { security: { tls: { enabled: true, clientAuthRequired: false } } }],
    ['security.tls.clientAuthRequired', { security: { tls: { enabled: false, clientAuthRequired: true } } }],
    ['security.authentication.jwtSecretName', { security: { authentication: { enabled: true, method: 'jwt' } } }],
    ['multiTenancy.tenantOverrides', { multiTenancy: { enabled: true, tenantOverrides: [{ tenantId: 'a', quotas: {} }, { tenantId: 'a', quotas: {} }] } }],
    ['config.httpPort', { config: { port: 8081, httpPort: 8081 } }],
    ['config.httpPort', { config: { raftPort: 9092 } }],
    ['observability.tracing.endpoint', { observability: { tracing: { enabled: true, samplingRate: 0.1 } } }],
  ])('%s refuses %j, and the zod twin agrees', (field, spec) => {
    const self = withDefaults(spec);
    const rule = specRules.find((r) => r.message.startsWith(`${field}:`))!;
    expect(evaluate(rule.rule, self)).toBe(false);
    const others = specRules.filter((r) => r !== rule);
    for (const r of others) expect(evaluate(r.rule, self), r.message).toBe(true);
    expect(StreamBusClusterSpec.safeParse(spec).success).toBe(false);
  });

  it.each<[Obj, number]>([
    [{ operator: 'Equal', value: 'x' }, 0],
    [{ key: 'k', operator: 'Exists', value: 'x' }, 1],
    [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule', tolerationSeconds: 30 }, 2],
  ])('toleration %j breaks rule %i only', (t, broken) => {
    tolerationRules.forEach((r, i) => expect(evaluate(r.rule, t), r.message).toBe(i !== broken));
  });
});
