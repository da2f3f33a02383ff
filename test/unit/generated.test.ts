import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generatedFiles } from '../../src/generated.js';
import { ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;

describe('generated files are current (npm run generate)', () => {
  for (const [rel, render] of Object.entries(generatedFiles(ROOT))) {
    it(rel, () => {
      expect(readFileSync(join(ROOT, rel), 'utf8'), `${rel} is stale: run npm run generate`).toBe(render());
    });
  }
});

function undocumented(node: Obj, path: string, out: string[]): string[] {
  for (const [k, v] of Object.entries<Obj>(node.properties ?? {})) {
    if (!v.description) out.push(`${path}.${k}`);
    undocumented(v, `${path}.${k}`, out);
  }
  if (node.items) undocumented(node.items, `${path}[]`, out);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') undocumented(node.additionalProperties, `${path}{}`, out);
  return out;
}

describe('XRD', () => {
  const xrd = parse(readFileSync(join(ROOT, 'apis/xrd.yaml'), 'utf8')) as Obj;
  const schema = xrd.spec.versions[0].schema.openAPIV3Schema;

  it('is a v1 XRD with claim StreamBusCluster and composite XStreamBusCluster in streambus.io/v1alpha1', () => {
    expect(xrd.apiVersion).toBe('apiextensions.crossplane.io/v1');
    expect(xrd.spec.group).toBe('streambus.io');
    expect(xrd.spec.names.kind).toBe('XStreamBusCluster');
    expect(xrd.spec.claimNames.kind).toBe('StreamBusCluster');
    expect(xrd.spec.versions[0].name).toBe('v1alpha1');
    // + Crossplane's own SYNCED, READY, (COMPOSITION | CONNECTION-SECRET) and AGE
    expect(xrd.spec.versions[0].additionalPrinterColumns.map((c: Obj) => c.name)).toEqual(['Phase', 'Replicas', 'Ready-Brokers']);
  });

  it('documents every field', () => {
    expect(undocumented(schema.properties.spec, 'spec', [])).toEqual([]);
    expect(undocumented(schema.properties.status, 'status', [])).toEqual([]);
  });

  it('covers every field of the seed Configuration section', () => {
    const spec = schema.properties.spec.properties;
    for (const f of ['replicas', 'image', 'resources', 'storage', 'config', 'security', 'multiTenancy', 'observability', 'affinity', 'nodeSelector', 'tolerations', 'podAnnotations', 'podLabels']) {
      expect(spec[f], f).toBeDefined();
    }
    expect(spec.replicas.default).toBe(3);
    expect(spec.config.properties.httpPort.default).toBe(8081);
    expect(spec.config.properties.logLevel.enum).toEqual(['debug', 'info', 'warn', 'error']);
    expect(spec.image.properties.pullPolicy.enum).toEqual(['Always', 'IfNotPresent', 'Never']);
    const status = schema.properties.status.properties;
    for (const f of ['phase', 'conditions', 'replicas', 'readyReplicas', 'observedGeneration', 'endpoints', 'bootstrapServers']) expect(status[f], f).toBeDefined();
  });

  it('is structural: no anyOf/oneOf without int-or-string, no $schema, no additionalProperties:false', () => {
    const bad: string[] = [];
    const walk = (n: unknown, p: string) => {
      if (!n || typeof n !== 'object') return;
      const o = n as Obj;
      if ((o.anyOf || o.oneOf) && !o['x-kubernetes-int-or-string']) bad.push(`${p}: anyOf`);
      if (o.$schema) bad.push(`${p}: $schema`);
      if (o.additionalProperties === false) bad.push(`${p}: additionalProperties false`);
      if (o.properties && o.type !== 'object') bad.push(`${p}: properties without type object`);
      for (const [k, v] of Object.entries(o)) walk(v, `${p}.${k}`);
    };
    walk(schema, 'schema');
    expect(bad).toEqual([]);
  });
});

describe('v2 XRD (Crossplane 2, namespaced)', () => {
  const v1 = parse(readFileSync(join(ROOT, 'apis/xrd.yaml'), 'utf8')) as Obj;
  const v2 = parse(readFileSync(join(ROOT, 'apis/v2/xrd.yaml'), 'utf8')) as Obj;

  it('is an apiextensions.crossplane.io/v2 XRD, scope Namespaced, composite StreamBusCluster in streambus.io/v1alpha1', () => {
    expect(v2.apiVersion).toBe('apiextensions.crossplane.io/v2');
    expect(v2.spec.scope).toBe('Namespaced');
    expect(v2.spec.group).toBe('streambus.io');
    expect(v2.spec.names.kind).toBe('StreamBusCluster');
    expect(v2.metadata.name).toBe(`${v2.spec.names.plural}.${v2.spec.group}`);
    expect(v2.spec.versions.map((v: Obj) => v.name)).toEqual(['v1alpha1']);
  });

  it('has neither claimNames nor connectionSecretKeys (v2 XRDs reject them)', () => {
    expect(v2.spec.claimNames).toBeUndefined();
    expect(v2.spec.connectionSecretKeys).toBeUndefined();
  });

  it('defines the CRD the legacy claim kind defines: the two cannot share a cluster', () => {
    expect(v2.metadata.name).toBe(`${v1.spec.claimNames.plural}.${v1.spec.group}`);
  });

  it('has the same schema and columns as the legacy XRD (one zod source)', () => {
    expect(v2.spec.versions[0].schema).toEqual(v1.spec.versions[0].schema);
    expect(v2.spec.versions[0].additionalPrinterColumns).toEqual(v1.spec.versions[0].additionalPrinterColumns);
  });

  it('the seed manifests are objects of its kind, unchanged', () => {
    for (const ex of ['minimal', 'dev', 'production', 'secure', 'multi-tenant']) {
      const m = parse(readFileSync(join(ROOT, `examples/${ex}/claim.yaml`), 'utf8')) as Obj;
      expect(m.apiVersion).toBe(`${v2.spec.group}/${v2.spec.versions[0].name}`);
      expect(m.kind).toBe(v2.spec.names.kind);
      expect(typeof m.metadata.namespace).toBe('string');
    }
  });

  it('every Composition in compositions/v2 is for it, and its default Composition exists', () => {
    const dir = join(ROOT, 'compositions/v2');
    const comps = readdirSync(dir).map((f) => parse(readFileSync(join(dir, f), 'utf8')) as Obj);
    expect(comps.length).toBe(2);
    for (const c of comps) expect(c.spec.compositeTypeRef).toEqual({ apiVersion: 'streambus.io/v1alpha1', kind: 'StreamBusCluster' });
    expect(comps.map((c) => c.metadata.name)).toContain(v2.spec.defaultCompositionRef.name);
    expect(comps.map((c) => c.spec.pipeline[0].input.spec.mode).sort()).toEqual(['Direct', 'Object']);
  });
});
