/**
 * The three Crossplane packages (the function, the legacy-API and the Crossplane 2 Configuration), built by scripts/build-xpkg.sh with the real CLI (`crossplane xpkg build`), then read
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

/** The name Crossplane gives the function when it installs it as a dependency, which the Compositions use. */
const FUNCTION_NAME = 'streambus-io-function-streambus';
const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
const yamlFiles = (dir: string) => readdirSync(join(ROOT, dir)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => `${dir}/${f}`);
const key = (o: Obj) => `${o.apiVersion}/${o.kind}/${o.metadata?.name}`;

/** Objects of the package (after the meta object), by apiVersion/kind/name. */
const byKey = (objs: Obj[]) => new Map(objs.map((o) => [key(o), o]));

describe.skipIf(!crossplane)('crossplane xpkg build (scripts/build-xpkg.sh)', () => {
  let out: string;
  let fn: Xpkg;
  let cfg: Xpkg;
  let cfg2: Xpkg;
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
    cfg2 = readXpkg(join(out, 'configuration-streambus-v2.xpkg'));
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    process.stdout.write(
      [
        '',
        '==== Crossplane packages (crossplane xpkg build) ====',
        `function-streambus.xpkg:      ${kb(fn.bytes)} (${fn.bytes} bytes; package.yaml ${fn.packageYaml.length} bytes; no runtime image embedded)`,
        `configuration-streambus.xpkg: ${kb(cfg.bytes)} (${cfg.bytes} bytes; package.yaml ${cfg.packageYaml.length} bytes; ${cfg.examples?.length ?? 0} examples)`,
        `configuration-streambus-v2.xpkg: ${kb(cfg2.bytes)} (${cfg2.bytes} bytes; package.yaml ${cfg2.packageYaml.length} bytes; ${cfg2.examples?.length ?? 0} examples)`,
        '',
      ].join('\n'),
    );
  });
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('builds the three packages', () => {
    expect(log).toContain('function-streambus.xpkg');
    expect(log).toContain('configuration-streambus.xpkg');
    expect(log).toContain('configuration-streambus-v2.xpkg');
  });

  describe('the Function package', () => {
    it('is package/crossplane.yaml: a composition Function for Crossplane >= 1.17', () => {
      const meta = fn.objects[0]!;
      // The package's own name; installed as a dependency it is named after its path (FUNCTION_NAME).
      expect(meta).toMatchObject({ apiVersion: 'meta.pkg.crossplane.io/v1', kind: 'Function', metadata: { name: 'function-streambus' } });
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

    it('has Compositions that all call the Function by the name Crossplane gives it as a dependency', () => {
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

  describe('the Crossplane 2 Configuration package (configuration-v2/)', () => {
    const meta = () => cfg2.objects[0]!;
    const dep = (kind: string) => (meta().spec.dependsOn as Obj[]).find((d) => d.kind === kind)!;

    it('is configuration-v2/crossplane.yaml, for Crossplane >= 2.0 only', () => {
      expect(meta()).toMatchObject({ apiVersion: 'meta.pkg.crossplane.io/v1', kind: 'Configuration', metadata: { name: 'configuration-streambus-v2' } });
      expect(satisfies('v1.20.11', meta().spec.crossplane.version)).toBe(false); // no v2 XRDs before Crossplane 2
      expect(satisfies('v2.0.0', meta().spec.crossplane.version)).toBe(true);
      expect(satisfies('v2.2.1', meta().spec.crossplane.version)).toBe(true);
    });

    it('depends on the same function as the legacy package, and on a provider-kubernetes with namespaced Objects', () => {
      expect(dep('Function')).toEqual((cfg.objects[0]!.spec.dependsOn as Obj[]).find((d) => d.kind === 'Function'));
      expect(dep('Provider').package).toBe('xpkg.crossplane.io/crossplane-contrib/provider-kubernetes');
      expect(satisfies('v0.18.0', dep('Provider').version)).toBe(false);
      expect(satisfies('v1.2.1', dep('Provider').version)).toBe(true);
    });

    it('carries the v2 XRD and every Composition in compositions/v2, unchanged, and nothing of the legacy API', () => {
      const sources = [...yamlFiles('apis/v2'), ...yamlFiles('compositions/v2')].flatMap((f) => loadYamlAll(f));
      const packaged = byKey(cfg2.objects.slice(1));
      expect([...packaged.keys()].sort()).toEqual(sources.map(key).sort());
      for (const s of sources) expect(packaged.get(key(s))!.spec, key(s)).toEqual(s.spec);
      const xrd = cfg2.objects.find((o) => o.kind === 'CompositeResourceDefinition')!;
      expect(xrd).toMatchObject({ apiVersion: 'apiextensions.crossplane.io/v2', spec: { scope: 'Namespaced', names: { kind: 'StreamBusCluster' } } });
      for (const c of cfg2.objects.filter((o) => o.kind === 'Composition')) {
        expect(c.spec.compositeTypeRef).toEqual({ apiVersion: `${xrd.spec.group}/${xrd.spec.versions[0].name}`, kind: 'StreamBusCluster' });
        for (const step of c.spec.pipeline as Obj[]) expect(step.functionRef.name).toBe(FUNCTION_NAME);
      }
      expect(cfg2.objects.some((o) => o.kind === 'Composition' && o.metadata.name === xrd.spec.defaultCompositionRef.name)).toBe(true);
    });

    it('carries every example manifest as a package example (each a namespaced XR of its XRD)', () => {
      expect(cfg2.examples!.map(key).sort()).toEqual(cfg.examples!.map(key).sort());
      for (const ex of cfg2.examples!) expect(ex.metadata.namespace).toEqual(expect.any(String));
    });
  });
});
