/**
 * Both Crossplane packages, built by scripts/build-xpkg.sh with the real CLI (`crossplane xpkg build`), then read
 * back the way Crossplane reads them (test/helpers/xpkg.ts): what users install is what the repository holds.
 * Prints the package sizes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadYaml, loadYamlAll } from '../helpers/fixtures.js';
import { satisfies, splitRef } from '../helpers/semver.js';
import { requireTool, ROOT } from '../helpers/tools.js';
import { readXpkg, type Xpkg } from '../helpers/xpkg.js';

type Obj = Record<string, any>;
const crossplane = requireTool('crossplane', 'the package build tests need the Crossplane CLI (crossplane xpkg build)');

const FUNCTION_NAME = 'function-streambus'; // the name the Compositions' functionRef uses and the guide installs
const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
const yamlFiles = (dir: string) => readdirSync(join(ROOT, dir)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => `${dir}/${f}`);
const key = (o: Obj) => `${o.apiVersion}/${o.kind}/${o.metadata?.name}`;

/** Objects of the package (after the meta object), by apiVersion/kind/name. */
const byKey = (objs: Obj[]) => new Map(objs.map((o) => [key(o), o]));

describe.skipIf(!crossplane)('crossplane xpkg build (scripts/build-xpkg.sh)', () => {
  let out: string;
  let fn: Xpkg;
  let cfg: Xpkg;
  let log: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'sb-xpkg-'));
    log = execFileSync('bash', [join(ROOT, 'scripts', 'build-xpkg.sh'), '-o', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, CROSSPLANE: crossplane },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    fn = readXpkg(join(out, 'function-streambus.xpkg'));
    cfg = readXpkg(join(out, 'configuration-streambus.xpkg'));
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    process.stdout.write(
      [
        '',
        '==== Crossplane packages (crossplane xpkg build) ====',
        `function-streambus.xpkg:      ${kb(fn.bytes)} (${fn.bytes} bytes; package.yaml ${fn.packageYaml.length} bytes; no runtime image embedded)`,
        `configuration-streambus.xpkg: ${kb(cfg.bytes)} (${cfg.bytes} bytes; package.yaml ${cfg.packageYaml.length} bytes; ${cfg.examples?.length ?? 0} examples)`,
        '',
      ].join('\n'),
    );
  });
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('builds both packages', () => {
    expect(log).toContain('function-streambus.xpkg');
    expect(log).toContain('configuration-streambus.xpkg');
  });

  describe('the Function package', () => {
    it('is package/crossplane.yaml: a composition Function for Crossplane >= 1.17', () => {
      const meta = fn.objects[0]!;
      expect(meta).toMatchObject({ apiVersion: 'meta.pkg.crossplane.io/v1', kind: 'Function', metadata: { name: FUNCTION_NAME } });
      expect(meta.spec.capabilities).toContain('composition');
      expect(meta.spec.crossplane.version).toBe('>=v1.17.0-0');
      expect(satisfies('v1.16.0', meta.spec.crossplane.version)).toBe(false); // calls RunFunction v1beta1 only
      expect(satisfies('v1.17.0', meta.spec.crossplane.version)).toBe(true);
      expect(satisfies('v2.2.1', meta.spec.crossplane.version)).toBe(true);
    });

    it('carries exactly the input CRD(s) of package/input, unchanged', () => {
      const sources = yamlFiles('package/input').flatMap((f) => loadYamlAll(f));
      const packaged = byKey(fn.objects.slice(1));
      expect([...packaged.keys()].sort()).toEqual(sources.map(key).sort());
      for (const s of sources) expect(packaged.get(key(s))!.spec, key(s)).toEqual(s.spec);
      expect(packaged.get('apiextensions.k8s.io/v1/CustomResourceDefinition/inputs.streambus.fn.crossplane.io')).toBeDefined();
    });

    it('has no examples and, built without Docker, no runtime image layers', () => {
      expect(fn.examples).toBeUndefined();
      expect(fn.layers.size).toBe(1);
    });
  });

  describe('the Configuration package', () => {
    const meta = () => cfg.objects[0]!;
    const dep = (kind: string) => (meta().spec.dependsOn as Obj[]).find((d) => d.kind === kind)!;

    it('is configuration/crossplane.yaml, for Crossplane >= 1.19', () => {
      expect(meta()).toMatchObject({ apiVersion: 'meta.pkg.crossplane.io/v1', kind: 'Configuration', metadata: { name: 'configuration-streambus' } });
      expect(meta().spec.crossplane.version).toBe('>=v1.19.0-0'); // dependsOn apiVersion/kind/package needs 1.19
      expect(satisfies('v1.18.9', meta().spec.crossplane.version)).toBe(false);
      expect(satisfies('v1.20.11', meta().spec.crossplane.version)).toBe(true);
      expect(satisfies('v2.2.1', meta().spec.crossplane.version)).toBe(true);
    });

    it('depends on the function and on provider-kubernetes, fully qualified, with version ranges', () => {
      const deps = meta().spec.dependsOn as Obj[];
      expect(deps).toHaveLength(2);
      for (const d of deps) {
        expect(d.apiVersion).toBe('pkg.crossplane.io/v1');
        expect(d.package.split('/')[0], d.package).toMatch(/\./); // a registry host, not a Docker Hub short name
        expect(splitRef(d.package)[1], `${d.package} must not pin a tag`).toBeUndefined();
        expect(d.version).toMatch(/^>=v\d+\.\d+\.\d+, <v\d+\.\d+\.\d+$/);
      }
      // The function dependency is the package examples/functions.yaml names, and admits this release.
      const fnPackage = splitRef((loadYaml('examples/functions.yaml') as Obj).spec.package)[0];
      expect(dep('Function').package).toBe(fnPackage);
      expect(satisfies(`v${version}`, dep('Function').version)).toBe(true);
      // provider-kubernetes: kubernetes.crossplane.io/v1alpha2 Objects since v0.11.0; v1.2.1 is the newest seen.
      expect(dep('Provider').package).toBe('xpkg.crossplane.io/crossplane-contrib/provider-kubernetes');
      expect(satisfies('v0.10.0', dep('Provider').version)).toBe(false);
      expect(satisfies('v0.11.0', dep('Provider').version)).toBe(true);
      expect(satisfies('v1.2.1', dep('Provider').version)).toBe(true);
    });

    it('carries the XRD and every Composition in compositions/, unchanged', () => {
      const sources = [...yamlFiles('apis'), ...yamlFiles('compositions')].flatMap((f) => loadYamlAll(f));
      const packaged = byKey(cfg.objects.slice(1));
      expect([...packaged.keys()].sort()).toEqual(sources.map(key).sort());
      for (const s of sources) expect(packaged.get(key(s))!.spec, key(s)).toEqual(s.spec);
      const xrds = cfg.objects.filter((o) => o.kind === 'CompositeResourceDefinition');
      expect(xrds.map((x) => x.metadata.name)).toEqual(['xstreambusclusters.streambus.io']);
      const compositions = cfg.objects.filter((o) => o.kind === 'Composition');
      expect(compositions.length).toBe(yamlFiles('compositions').length);
    });

    it('has Compositions that all call the Function by the name the guide installs it under', () => {
      const xrd = cfg.objects.find((o) => o.kind === 'CompositeResourceDefinition')!;
      const served = (xrd.spec.versions as Obj[]).map((v) => `${xrd.spec.group}/${v.name}`);
      for (const c of cfg.objects.filter((o) => o.kind === 'Composition')) {
        expect(served, c.metadata.name).toContain(c.spec.compositeTypeRef.apiVersion);
        expect(c.spec.compositeTypeRef.kind).toBe(xrd.spec.names.kind);
        expect(c.spec.mode).toBe('Pipeline');
        for (const step of c.spec.pipeline as Obj[]) expect(step.functionRef.name, `${c.metadata.name}/${step.step}`).toBe(FUNCTION_NAME);
      }
      expect(cfg.objects.some((o) => o.kind === 'Composition' && o.metadata.name === xrd.spec.defaultCompositionRef.name)).toBe(true);
    });

    it('carries every example claim as a package example', () => {
      const claims = readdirSync(join(ROOT, 'examples'), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => loadYaml(`examples/${e.name}/claim.yaml`));
      expect(cfg.examples).toBeDefined();
      expect(cfg.examples!.map(key).sort()).toEqual(claims.map(key).sort());
      for (const ex of cfg.examples!) expect(ex).toMatchObject({ apiVersion: 'streambus.io/v1alpha1', kind: 'StreamBusCluster' });
    });
  });
});
