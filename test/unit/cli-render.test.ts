/** The render command, in-process (src/cli/main.ts main()): inputs, flags, exit codes, stderr. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EXIT_FATAL, EXIT_OK, EXIT_USAGE } from '../../src/cli/main.js';
import { stableNAndSomeMore } from '../../src/cli/render.js';
import { cli } from '../helpers/cli.js';
import { clone, EXAMPLES, loadYaml } from '../helpers/fixtures.js';

type Obj = Record<string, any>;

const tmp = () => mkdtempSync(join(tmpdir(), 'sb-cli-'));
function writeTmp(name: string, docs: unknown[] | string): string {
  const p = join(tmp(), name);
  writeFileSync(p, typeof docs === 'string' ? docs : docs.map((d) => `---\n${stringify(d)}`).join(''));
  return p;
}
const resName = (o: Obj) => o.metadata.annotations['crossplane.io/composition-resource-name'];

/** Observed composed resources: the rendered Objects, with the wrapped object as the provider would report it. */
function observedFrom(composed: Obj[], mutate: (m: Obj) => void = () => {}): Obj[] {
  return composed.map((o) => {
    const m = clone(o.spec.forProvider.manifest);
    mutate(m);
    return { ...clone(o), status: { atProvider: { manifest: m } } };
  });
}
const readyStatefulSet = (m: Obj) => {
  if (m.kind !== 'StatefulSet') return;
  const n = m.spec.replicas;
  m.metadata.generation = 1;
  m.status = { observedGeneration: 1, replicas: n, readyReplicas: n, updatedReplicas: n, currentRevision: 'r1', updateRevision: 'r1' };
};

describe('render: inputs', () => {
  it.each(EXAMPLES)('%s: the claim renders exactly as its XR', (ex) => {
    const fromClaim = cli('render', '-s', `examples/${ex}/claim.yaml`);
    const fromXr = cli('render', '-s', `examples/${ex}/xr.yaml`);
    expect(fromClaim.code).toBe(EXIT_OK);
    expect(fromXr.code).toBe(EXIT_OK);
    expect(fromClaim.docs).toEqual(fromXr.docs);
    expect(fromClaim.stderr).toContain(`examples/${ex}/claim.yaml: StreamBusCluster `);
  });

  it('prints only the composed resources by default, sorted by composition resource name', () => {
    const r = cli('render', 'examples/minimal/claim.yaml');
    expect(new Set(r.docs.map((d) => d.kind))).toEqual(new Set(['Object']));
    const names = r.docs.map(resName);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['client-service', 'config', 'headless-service', 'statefulset']));
    for (const d of r.docs) {
      expect(d.metadata.labels).toMatchObject({
        'crossplane.io/composite': 'streambus-minimal-6tdp7',
        'crossplane.io/claim-name': 'streambus-minimal',
        'crossplane.io/claim-namespace': 'default',
      });
      expect(d.metadata.ownerReferences).toEqual([
        { apiVersion: 'streambus.io/v1alpha1', kind: 'XStreamBusCluster', name: 'streambus-minimal-6tdp7', uid: '', controller: true, blockOwnerDeletion: true },
      ]);
    }
  });

  it('with -s prints the XR first, with status and the Ready condition Crossplane derives', () => {
    const r = cli('render', '-s', 'examples/minimal/xr.yaml');
    const xr = r.docs[0]!;
    expect(Object.keys(xr).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'status']);
    expect(xr.metadata).toEqual({ name: 'streambus-minimal-6tdp7' });
    expect(xr.status.conditions[0]).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'Creating',
      message: expect.stringMatching(/^Unready resources: client-service, config, headless-service, and \d+ more$/),
      lastTransitionTime: '2024-01-01T00:00:00Z',
    });
    expect(r.stdout).toContain('lastTransitionTime: "2024-01-01T00:00:00Z"');
    expect(r.stderr).toContain('condition BrokersReady=False BrokersNotCreated');
  });

  it('with -x adds the input XR metadata and spec', () => {
    const r = cli('render', '-x', 'examples/minimal/xr.yaml');
    const input = loadYaml('examples/minimal/xr.yaml') as Obj;
    expect(r.docs[0]!.metadata).toEqual(input.metadata);
    expect(r.docs[0]!.spec).toEqual(input.spec);
    expect(r.docs[0]!.status.phase).toBe('Pending');
  });

  it('renders a folder: each claim once, a claim and its generated XR only once, other kinds skipped', () => {
    const r = cli('render', 'examples');
    expect(r.code).toBe(EXIT_OK);
    const each = EXAMPLES.map((ex) => cli('render', `examples/${ex}/claim.yaml`).docs.length);
    expect(r.docs).toHaveLength(each.reduce((a, b) => a + b, 0));
    expect(r.stderr).toContain('skipped examples/functions.yaml: Function function-streambus is neither');
    expect(r.stderr).toContain('skipped examples/minimal/xr.yaml: the same XR as examples/minimal/claim.yaml');
  });

  it('renders several documents of one file', () => {
    const a = loadYaml('examples/minimal/claim.yaml') as Obj;
    const b = clone(a);
    b.metadata.name = 'other';
    const r = cli('render', writeTmp('two.yaml', [a, b]));
    expect(r.code).toBe(EXIT_OK);
    expect(r.docs).toHaveLength(2 * cli('render', 'examples/minimal/claim.yaml').docs.length);
    expect(new Set(r.docs.map((d) => d.metadata.labels['crossplane.io/claim-name']))).toEqual(new Set(['streambus-minimal', 'other']));
  });
});

describe('render: exit codes and messages', () => {
  it('exits 1 on a FATAL result, says why, prints nothing for that input and still renders the others', () => {
    const bad = clone(loadYaml('examples/minimal/claim.yaml')) as Obj;
    bad.metadata.name = 'broken';
    bad.spec.replicas = 0;
    const r = cli('render', writeTmp('bad.yaml', [bad]), 'examples/dev/claim.yaml');
    expect(r.code).toBe(EXIT_FATAL);
    expect(r.stderr).toMatch(/error: .*bad\.yaml: StreamBusCluster default\/broken → XStreamBusCluster broken-\w{5}: pipeline step "render-streambus" returned a fatal result: ValidateSpec: spec\.replicas: must be ≥ 1/);
    expect(r.stderr).toContain('result FATAL ValidateSpec');
    expect(r.docs.length).toBeGreaterThanOrEqual(4);
    expect(new Set(r.docs.map((d) => d.metadata.labels['crossplane.io/claim-name']))).toEqual(new Set(['streambus-dev']));
  });

  it.each([
    [['render', 'nope.yaml'], 'nope.yaml: cannot read: no such file or directory'],
    [['render', 'examples/functions.yaml'], 'examples/functions.yaml: no StreamBusCluster claim or XStreamBusCluster found'],
    [['render'], 'no input'],
    [['render', '--bogus', 'examples/minimal/claim.yaml'], "Unknown option '--bogus'"],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['render', '--composition', 'examples/functions.yaml', 'examples/minimal/claim.yaml'], 'examples/functions.yaml: no Composition in this file'],
    [['render', '-o', 'examples/minimal/claim.yaml', 'examples/minimal/claim.yaml'], 'has no crossplane.io/composition-resource-name annotation'],
  ])('exits 2 on %j', (argv, message) => {
    const r = cli(...argv);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('exits 2 on invalid YAML, naming file and line', () => {
    const r = cli('render', writeTmp('broken.yaml', 'apiVersion: streambus.io/v1alpha1\nkind: [StreamBusCluster\n'));
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toMatch(/broken\.yaml: invalid YAML in document 1 \(line \d+, column \d+\)/);
  });

  it('exits 2 on a claim without a name or of another version', () => {
    const c = clone(loadYaml('examples/minimal/claim.yaml')) as Obj;
    delete c.metadata.name;
    expect(cli('render', writeTmp('noname.yaml', [c])).stderr).toContain('the StreamBusCluster has no metadata.name');
    const v = clone(loadYaml('examples/minimal/claim.yaml')) as Obj;
    v.apiVersion = 'streambus.io/v1beta1';
    const r = cli('render', writeTmp('v.yaml', [v]));
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toContain('StreamBusCluster streambus.io/v1beta1 is not supported');
  });

  it('with -q prints only results on stderr (nothing without results), and still those of a refused one', () => {
    const quiet = cli('render', '-q', 'examples/minimal/claim.yaml');
    const loud = cli('render', 'examples/minimal/claim.yaml');
    const results = loud.stderr.split('\n').filter((l) => l.startsWith('  result '));
    expect(quiet.stderr).toBe(results.length > 0 ? `${loud.stderr.split('\n')[0]}\n${results.join('\n')}\n` : '');
    const bad = clone(loadYaml('examples/minimal/claim.yaml')) as Obj;
    bad.spec.replicas = 0;
    const r = cli('render', '-q', writeTmp('bad.yaml', [bad]));
    expect(r.code).toBe(EXIT_FATAL);
    expect(r.stderr).toContain('result FATAL ValidateSpec: ValidateSpec: spec.replicas');
    expect(r.stderr).not.toContain('condition ');
  });

  it('prints help with exit 0', () => {
    const r = cli('render', '--help');
    expect(r.code).toBe(EXIT_OK);
    expect(r.stdout).toContain('Usage: function-streambus render');
  });
});

describe('render: composition and observed resources', () => {
  it('takes the platform defaults from the chosen Composition (Direct mode composes raw objects)', () => {
    const comp = clone(loadYaml('compositions/composition.yaml')) as Obj;
    comp.spec.pipeline[0].input.spec = { mode: 'Direct', clusterDomain: 'example.internal', defaultStorageClass: 'gold' };
    const r = cli('render', '--composition', writeTmp('direct.yaml', [comp]), 'examples/dev/claim.yaml');
    expect(r.code).toBe(EXIT_OK);
    expect(r.docs.some((d) => d.kind === 'Object')).toBe(false);
    expect(r.docs.map((d) => d.kind)).toEqual(expect.arrayContaining(['ConfigMap', 'Service', 'Service', 'StatefulSet']));
    const cm = r.docs.find((d) => d.kind === 'ConfigMap')!;
    expect(cm.data['broker.yaml']).toContain('svc.example.internal');
  });

  it('reports pipeline steps of other functions as skipped', () => {
    const comp = clone(loadYaml('compositions/composition.yaml')) as Obj;
    comp.spec.pipeline.push({ step: 'auto-ready', functionRef: { name: 'function-auto-ready' } });
    const r = cli('render', '--composition', writeTmp('two-steps.yaml', [comp]), 'examples/minimal/claim.yaml');
    expect(r.code).toBe(EXIT_OK);
    expect(r.stderr).toContain('skipped pipeline step "auto-ready" (function function-auto-ready)');
  });

  it('refuses a Composition for another composite type or without a function-streambus step', () => {
    const other = clone(loadYaml('compositions/composition.yaml')) as Obj;
    other.spec.compositeTypeRef.kind = 'XOther';
    const r = cli('render', '--composition', writeTmp('other.yaml', [other]), 'examples/minimal/claim.yaml');
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr).toContain("composition's compositeTypeRef.kind (XOther) does not match XR's kind (XStreamBusCluster)");
    const none = clone(loadYaml('compositions/composition.yaml')) as Obj;
    none.spec.pipeline = [{ step: 'x', functionRef: { name: 'function-patch-and-transform' }, input: { apiVersion: 'pt.fn.crossplane.io/v1beta1', kind: 'Resources' } }];
    expect(cli('render', '--composition', writeTmp('none.yaml', [none]), 'examples/minimal/claim.yaml').stderr).toContain('has no function-streambus step');
  });

  it('uses observed resources: readiness, status phase, and the names of existing objects', () => {
    const first = cli('render', 'examples/minimal/claim.yaml').docs;
    const observed = observedFrom(first, readyStatefulSet);
    // An existing object keeps its name (e.g. the XR got a different random suffix in the cluster).
    observed[0]!.metadata.name = 'streambus-minimal-real1-client-service';
    const r = cli('render', '-s', '-o', writeTmp('observed.yaml', observed), 'examples/minimal/claim.yaml');
    expect(r.code).toBe(EXIT_OK);
    const xr = r.docs[0]!;
    expect(xr.status.phase).toBe('Running');
    expect(xr.status.readyReplicas).toBe(3);
    // Crossplane's Ready: every resource the fixture reports as existing is ready (at least the four core ones).
    const ready = xr.status.conditions.find((c: Obj) => c.type === 'Ready');
    expect(ready.status === 'True' || !/client-service|config|headless-service|statefulset/.test(ready.message)).toBe(true);
    expect(xr.status.conditions.find((c: Obj) => c.type === 'BrokersReady')).toMatchObject({ status: 'True', reason: 'AllBrokersReady' });
    expect(r.docs[1]!.metadata.name).toBe('streambus-minimal-real1-client-service');
  });

  it('applies observed resources only to the XR or claim they belong to', () => {
    const observed = observedFrom(cli('render', 'examples/minimal/claim.yaml').docs, readyStatefulSet);
    const r = cli('render', '-s', '-o', writeTmp('observed.yaml', observed), 'examples/minimal/claim.yaml', 'examples/dev/claim.yaml');
    const xrs = r.docs.filter((d) => d.kind === 'XStreamBusCluster');
    expect(xrs.map((x) => [x.metadata.name, x.status.phase])).toEqual([
      ['streambus-minimal-6tdp7', 'Running'],
      ['streambus-dev-jzllp', 'Pending'],
    ]);
  });
});

describe('render: required resources (-e)', () => {
  const caSecret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'streambus-ca-cert', namespace: 'default' },
    data: { 'ca.crt': Buffer.from('-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n').toString('base64') },
  };
  const secretOf = (docs: Obj[]) => docs.find((d) => resName(d) === 'connection-secret');

  it('answers what the function asks for (the TLS CA Secret) from the given files, as Crossplane does', () => {
    const direct = 'compositions/composition-direct.yaml';
    const without = cli('render', '--composition', direct, 'examples/secure/claim.yaml');
    expect(without.code).toBe(EXIT_OK);
    expect(without.stderr).toContain('has no ca.crt (or does not exist yet)');
    expect(secretOf(without.docs)?.data?.['ca.crt']).toBeUndefined();

    const withCa = cli('render', '--composition', direct, '-e', writeTmp('ca.yaml', [caSecret]), 'examples/secure/claim.yaml');
    expect(withCa.code).toBe(EXIT_OK);
    expect(withCa.stderr).not.toContain('has no ca.crt');
    expect(secretOf(withCa.docs)?.data?.['ca.crt']).toBe(caSecret.data['ca.crt']);
  });

  it('honours the namespace of the selector (a Secret of another namespace is not found)', () => {
    const other = { ...clone(caSecret), metadata: { name: 'streambus-ca-cert', namespace: 'elsewhere' } };
    const r = cli('render', '--composition', 'compositions/composition-direct.yaml', '-e', writeTmp('ca.yaml', [other]), 'examples/secure/claim.yaml');
    expect(r.stderr).toContain('has no ca.crt');
  });
});

describe('stableNAndSomeMore (crossplane-runtime resource.StableNAndSomeMore)', () => {
  it.each([
    [[], ''],
    [['b', 'a'], 'a, b'],
    [['c', 'b', 'a'], 'a, b, and c'],
    [['d', 'c', 'b', 'a', 'e'], 'a, b, c, and 2 more'],
  ])('%j → %s', (names, s) => expect(stableNAndSomeMore(names)).toBe(s));
});
