/**
 * Hostile input, in-process: every case of the catalogue gets exactly one FATAL result naming the field, and the
 * desired state of earlier steps is passed through untouched. Plus injections the render neutralises, and the
 * guard's building blocks.
 */
import { describe, expect, it } from 'vitest';
import { Ready, RunFunctionRequest, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { runFunction } from '../../src/function/handler.js';
import { MAX_DEPTH, checkRequest, qualifiedNameProblem } from '../../src/function/guard.js';
import { fieldPath, jsonSize } from '../../src/k8s/json.js';
import { decodeRequest } from '../../src/server/codec.js';
import { HOSTILE, PREVIOUS_DESIRED, namesField } from '../helpers/hostile.js';
import { clone, exampleXr, request } from '../helpers/fixtures.js';

type Obj = Record<string, any>;

describe(`hostile input catalogue (${HOSTILE.length} cases)`, () => {
  it('has at least 40 cases with unique names', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(40);
    expect(new Set(HOSTILE.map((c) => c.name)).size).toBe(HOSTILE.length);
  });

  it.each(HOSTILE.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const req = c.build();
    let rsp!: ReturnType<typeof runFunction>;
    expect(() => (rsp = runFunction(req))).not.toThrow();
    const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
    expect(fatal, JSON.stringify(rsp.results)).toHaveLength(1);
    expect(namesField(c, fatal[0]!.message), `"${fatal[0]!.message}" should name ${String(c.field)} (step ${c.step})`).toBe(true);
    // Nothing this function composed is emitted on refusal, and nothing desired before is dropped or changed.
    const previous = req.desired?.resources ?? {};
    expect(Object.keys(rsp.desired!.resources).sort()).toEqual(Object.keys(previous).sort());
    for (const [k, v] of Object.entries(previous)) expect(rsp.desired!.resources[k], k).toEqual(v);
    // The response still encodes (no NaN/Date/function leaks into it in a way protobuf cannot carry).
    expect(() => RunFunctionResponse.encode(rsp).finish()).not.toThrow();
  });

  it('passes the previous desired state through for every case that carries one', () => {
    const carrying = HOSTILE.filter((c) => Object.keys(c.build().desired?.resources ?? {}).length > 0);
    expect(carrying.length).toBeGreaterThanOrEqual(HOSTILE.length - 1);
    for (const c of carrying) {
      const rsp = runFunction(c.build());
      expect(Object.keys(rsp.desired!.resources), c.name).toEqual(expect.arrayContaining(Object.keys(PREVIOUS_DESIRED)));
    }
  });
});

describe('injections the render neutralises (accepted, with no effect on what the function owns)', () => {
  const xr = exampleXr('production') as Obj;
  const render = (patch: (s: Obj) => void) => {
    const x = clone(xr);
    patch(x.spec);
    const rsp = runFunction(request(x, { input: { spec: { mode: 'Direct' } } }));
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
    return rsp.desired!.resources.statefulset!.resource as Obj;
  };

  it('a pod label cannot take over the selector or the managed-by labels', () => {
    const sts = render((s) => {
      s.podLabels['app.kubernetes.io/instance'] = 'someone-else';
      s.podLabels['app.kubernetes.io/managed-by'] = 'me';
    });
    expect(sts.spec.selector.matchLabels['app.kubernetes.io/instance']).toBe('streambus-production');
    expect(sts.spec.template.metadata.labels['app.kubernetes.io/instance']).toBe('streambus-production');
    expect(sts.spec.template.metadata.labels['app.kubernetes.io/managed-by']).toBe('function-streambus');
  });

  it('a pod annotation cannot pin the config hash (which rolls the brokers when broker.yaml changes)', () => {
    const sts = render((s) => (s.podAnnotations['streambus.io/config-hash'] = 'pinned'));
    expect(sts.spec.template.metadata.annotations['streambus.io/config-hash']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('unknown spec fields are dropped, not rendered', () => {
    const sts = render((s) => (s.hostNetwork = true));
    expect(JSON.stringify(sts)).not.toContain('hostNetwork');
  });

  it('Crossplane\'s own spec fields are not validated as StreamBus fields', () => {
    render((s) => (s.compositionRef = { name: 'streambus-cluster' }));
  });
});

describe('the guard', () => {
  it('formats paths unambiguously (the one field-path formatter, k8s/json.ts)', () => {
    expect(fieldPath(['spec', 'podLabels', 'team'])).toBe('spec.podLabels.team');
    expect(fieldPath(['spec', 'podLabels', 'app.kubernetes.io/name'])).toBe('spec.podLabels["app.kubernetes.io/name"]');
    expect(fieldPath(['spec', 'tolerations', 0, 'key'])).toBe('spec.tolerations[0].key');
    expect(fieldPath(['spec', '__proto__'])).toBe('spec["__proto__"]');
  });

  it.each([
    ['team', undefined],
    ['app.kubernetes.io/name', undefined],
    ['example.com/a_b-c.d', undefined],
    ['bad key', 'name'],
    ['-x', 'name'],
    ['x'.repeat(64), 'name'],
    ['Example.com/x', 'prefix'],
    ['/x', 'prefix'],
    ['a/b/c', 'prefix'],
    ['', 'name'],
  ])('qualified name %j', (key, problem) => {
    const p = qualifiedNameProblem(key);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toContain(problem);
  });

  it('measures sizes without recursion', () => {
    expect(jsonSize({ a: 'xy' })).toBe(2 + 1 + 4 + 2 + 2);
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonSize(deep)).toBeGreaterThan(100_000);
  });

  it('refuses depth beyond MAX_DEPTH and accepts MAX_DEPTH, without recursion even at 100,000 levels', () => {
    const at = (depth: number) => {
      let o: unknown = 'leaf';
      for (let i = 0; i < depth; i++) o = { a: o };
      const x = clone(exampleXr('minimal')) as Obj;
      x.spec.affinity = o;
      return checkRequest(request(x));
    };
    // spec is level 0, spec.affinity level 1: MAX_DEPTH - 1 nested objects under affinity still fit.
    expect(at(MAX_DEPTH - 1)).toBeUndefined();
    expect(at(MAX_DEPTH)?.message).toMatch(/^spec\.affinity\.a\.a.*nested more than 64 levels deep/);
    expect(at(100_000)?.message).toMatch(/nested more than/);
  });

  it('accepts every example', () => {
    for (const name of ['minimal', 'dev', 'production', 'secure', 'multi-tenant']) expect(checkRequest(request(exampleXr(name))), name).toBeUndefined();
  });

  it('leaves the request untouched', () => {
    const req = HOSTILE.find((c) => c.name === 'NaN deep inside affinity')!.build();
    const before = structuredClone(req);
    runFunction(req);
    expect(req).toEqual(before);
  });

  it('does not pollute Object.prototype', () => {
    for (const c of HOSTILE) runFunction(c.build());
    expect(({} as Obj).polluted).toBeUndefined();
    expect(({} as Obj).replicas).toBeUndefined();
  });
});

describe('request decoding (src/server/codec.ts)', () => {
  const encode = (spec: unknown) => RunFunctionRequest.encode(request({ ...(exampleXr('minimal') as Obj), spec } as Obj)).finish();
  const nested = (d: number) => {
    let o: unknown = 'x';
    for (let i = 0; i < d; i++) o = { a: o };
    return o;
  };

  it('decodes what the SDK decodes, identically', () => {
    const bytes = RunFunctionRequest.encode(request(exampleXr('production'), { desired: PREVIOUS_DESIRED })).finish();
    expect(decodeRequest(bytes)).toEqual(RunFunctionRequest.decode(bytes));
  });

  it('decodes specs nested deeper than the SDK allows (~32 levels), so that the guard can name the field', () => {
    const bytes = encode({ affinity: nested(70) });
    expect(() => RunFunctionRequest.decode(bytes)).toThrow(/recursion limit/);
    const req = decodeRequest(bytes);
    const rsp = runFunction(req);
    expect(rsp.results[0]!.message).toMatch(/^ValidateSpec: spec\.affinity\.a\.a.*nested more than 64 levels deep/);
  });

  it('still refuses absurd depth (bounded recursion)', () => {
    expect(() => decodeRequest(encode({ affinity: nested(500) }))).toThrow(/recursion limit/);
  });

  it('drops "__proto__" keys on the wire (ts-proto assigns map entries, which sets the prototype, then copies own keys)', () => {
    const bytes = Buffer.from(RunFunctionRequest.encode(request({ ...(exampleXr('minimal') as Obj), spec: { __proxo__: { replicas: 99 }, replicas: 1 } } as Obj)).finish());
    const patched = Buffer.from(bytes.toString('latin1').replace('__proxo__', '__proto__'), 'latin1');
    const spec = (decodeRequest(patched).observed!.composite!.resource as Obj).spec;
    expect(Object.getPrototypeOf(spec)).toBe(Object.prototype);
    expect(Object.keys(spec)).toEqual(['replicas']);
    expect(runFunction(decodeRequest(patched)).desired!.resources.statefulset!.ready).toBe(Ready.READY_FALSE);
  });
});
