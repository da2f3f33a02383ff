/**
 * The unknown-field check (src/cli/fields.ts) walks the zod schema; the API server checks the XRD generated from it.
 * Both must know the same fields: every field of the generated XRD schema is accepted, and a field beside each
 * known object field is reported, with its path.
 */
import { describe, expect, it } from 'vitest';
import { closest, unknownFields } from '../../src/cli/fields.js';
import { loadYaml } from '../helpers/fixtures.js';

type Obj = Record<string, any>;

/** A value with every field the structural schema declares (scalars null, one item per list, one key per map). */
function everything(schema: Obj): unknown {
  if (schema.properties) return Object.fromEntries(Object.entries<Obj>(schema.properties).map(([k, v]) => [k, everything(v)]));
  if (schema.type === 'array' && schema.items) return [everything(schema.items)];
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') return { somekey: everything(schema.additionalProperties) };
  return null;
}

/** The paths of every object in a value (`spec`, `spec.storage`, `spec.tolerations[0]`, ...). */
function objectPaths(v: unknown, path: string, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x, i) => objectPaths(x, `${path}[${i}]`, out));
  else if (v && typeof v === 'object') {
    out.push(path);
    for (const [k, x] of Object.entries(v)) objectPaths(x, `${path}.${k}`, out);
  }
  return out;
}

function setAt(root: Obj, path: string, key: string): void {
  let o: any = root;
  for (const part of path.split('.')) {
    const m = /^([^[]+)((?:\[\d+\])*)$/.exec(part)!;
    o = o[m[1]!];
    for (const i of m[2]!.matchAll(/\[(\d+)\]/g)) o = o[Number(i[1])];
  }
  o[key] = 1;
}

describe.each(['apis/xrd.yaml', 'apis/v2/xrd.yaml'])('unknown fields agree with %s', (file) => {
  const xrd = loadYaml(file) as Obj;
  const spec = everything(xrd.spec.versions[0].schema.openAPIV3Schema.properties.spec) as Obj;
  const doc = { apiVersion: 'streambus.io/v1alpha1', kind: 'StreamBusCluster', metadata: { name: 'x', namespace: 'ns' }, spec };
  const kind = file.includes('v2') ? 'namespacedXr' : 'claim';

  it('accepts every field the XRD declares', () => {
    expect(unknownFields(doc, kind)).toEqual([]);
  });

  it('reports a field next to every field the XRD declares, except in open objects and maps', () => {
    const paths = objectPaths(spec, 'spec');
    const open = (p: string) => /^spec\.affinity\b/.test(p) || /\.(nodeSelector|podAnnotations|podLabels|requests|limits)(\.|$)/.test(p);
    const closed = paths.filter((p) => !open(p));
    expect(closed.length).toBeGreaterThan(20);
    for (const p of closed) {
      const d = structuredClone(doc);
      setAt(d, p, 'zzUnknown');
      expect(unknownFields(d, kind).map((f) => f.path), p).toEqual([`${p}.zzUnknown`]);
    }
  });
});

describe('closest', () => {
  it.each([
    ['replica', ['replicas', 'version'], 'replicas'],
    ['sise', ['size', 'raftSize', 'class'], 'size'],
    ['logleve', ['logLevel', 'port'], 'logLevel'],
    ['zzz', ['replicas', 'storage'], undefined],
  ])('%s → %s', (name, known, want) => expect(closest(name, known)).toBe(want));
});
