/** The render command, in-process (src/cli/main.ts main()): inputs, flags, exit codes, stderr. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EXIT_FATAL, EXIT_OK, EXIT_USAGE, main } from '../../src/cli/main.js';
import { stableNAndSomeMore } from '../../src/cli/render.js';
import { cli, parseDocs } from '../helpers/cli.js';
import { ROOT } from '../helpers/tools.js';
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
    expect(r.stderr).toContain('skipped examples/functions.yaml: Function streambus-io-function-streambus is neither');
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
    // Said once: no `result FATAL` line repeating the error, no `ValidateSpec: ValidateSpec:`.
    expect(r.stderr.match(/spec\.replicas: must be ≥ 1/g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/(\w+): \1:/);
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
    expect(r.stderr).toContain('returned a fatal result: ValidateSpec: spec.replicas');
    expect(r.stderr).not.toContain('ValidateSpec: ValidateSpec');
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

/** A claim with the two typos of the issue: `replica: 3` and `storage.sise`. */
const TYPO_CLAIM = `apiVersion: streambus.io/v1alpha1
kind: StreamBusCluster
metadata:
  name: typo
  namespace: default
spec:
  replica: 3
  storage:
    sise: 10Gi
    raftSize: 5Gi
  tolerations:
    - key: dedicated
      operater: Equal
`;

describe('render: unknown fields (strict field validation)', () => {
  it('warns with file, line, column and field path, suggests the known field, and still renders (exit 0)', () => {
    const file = writeTmp('typo.yaml', TYPO_CLAIM);
    const r = cli('render', file);
    expect(r.code).toBe(EXIT_OK);
    expect(r.stderr).toContain(`warning: ${file}:7:3: unknown field "spec.replica" (did you mean "spec.replicas"?)`);
    expect(r.stderr).toContain(`warning: ${file}:9:5: unknown field "spec.storage.sise" (did you mean "spec.storage.size"?)`);
    expect(r.stderr).toContain(`warning: ${file}:13:7: unknown field "spec.tolerations[0].operater" (did you mean "spec.tolerations[0].operator"?)`);
    expect(r.docs.length).toBeGreaterThan(0);
    // What the API server would have stored: the defaults, not the misspelt values.
    const sts = r.docs.find((d) => resName(d) === 'statefulset')!.spec.forProvider.manifest;
    expect(sts.spec.replicas).toBe(3);
  });

  it('with --strict they are errors: the input is not rendered, the others are, exit 1', () => {
    const file = writeTmp('typo.yaml', TYPO_CLAIM);
    const r = cli('render', '--strict', file, 'examples/dev/claim.yaml');
    expect(r.code).toBe(EXIT_FATAL);
    expect(r.stderr).toContain(`error: ${file}:7:3: unknown field "spec.replica"`);
    expect(r.stderr).toMatch(/error: .*typo\.yaml: StreamBusCluster default\/typo → XStreamBusCluster typo-\w{5}: not rendered: 3 unknown fields \(--strict\)/);
    expect(new Set(r.docs.map((d) => d.metadata.labels['crossplane.io/claim-name']))).toEqual(new Set(['streambus-dev']));
  });

  it('no findings for the examples, their XRs, or a claim or XR as kubectl get -o yaml prints it', () => {
    for (const ex of EXAMPLES) {
      for (const args of [[`examples/${ex}/claim.yaml`], [`examples/${ex}/xr.yaml`], ['--api', 'namespaced', `examples/${ex}/claim.yaml`]]) {
        const r = cli('render', '--strict', ...args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(EXIT_OK);
        expect(r.stderr).not.toContain('unknown field');
      }
    }
    const claim = clone(loadYaml('examples/minimal/claim.yaml')) as Obj;
    claim.metadata = { ...claim.metadata, uid: 'u', resourceVersion: '1', generation: 2, creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [], finalizers: ['finalizer.apiextensions.crossplane.io'] };
    claim.spec = { ...claim.spec, compositionRef: { name: 'streambus-cluster' }, resourceRef: { apiVersion: 'streambus.io/v1alpha1', kind: 'XStreamBusCluster', name: 'streambus-minimal-abcde' }, compositeDeletePolicy: 'Background', compositionUpdatePolicy: 'Automatic' };
    claim.status = { phase: 'Running', conditions: [] };
    expect(cli('render', '--strict', writeTmp('got.yaml', [claim])).code).toBe(EXIT_OK);
    const v2 = clone(loadYaml('examples/minimal/claim.yaml')) as Obj;
    v2.spec = { ...v2.spec, crossplane: { compositionRef: { name: 'streambus-namespaced' }, resourceRefs: [] } };
    expect(cli('render', '--strict', '--api', 'namespaced', writeTmp('got-v2.yaml', [v2])).code).toBe(EXIT_OK);
  });

  it('checks the top level and metadata too; open objects (affinity) and maps (labels, requests) take any key', () => {
    const c = clone(loadYaml('examples/minimal/claim.yaml')) as Obj;
    c.metdata = {};
    c.metadata.lables = { a: 'b' };
    c.metadata.labels = { 'any/key': 'v' };
    c.spec.affinity = { nodeAffinity: { anything: true } };
    c.spec.resources.requests['example.com/gpu'] = 1;
    c.spec.crossplane = {}; // a v2 XR's field, unknown on a claim
    const r = cli('render', writeTmp('meta.yaml', [c]));
    const found = [...r.stderr.matchAll(/unknown field "([^"]+)"/g)].map((m) => m[1]);
    expect(found.sort()).toEqual(['metadata.lables', 'metdata', 'spec.crossplane']);
    expect(r.stderr).toContain('unknown field "metadata.lables" (did you mean "metadata.labels"?)');
  });
});

describe('render: kind: List and standard input', () => {
  const list = () => ({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: [loadYaml('examples/minimal/claim.yaml'), loadYaml('examples/dev/claim.yaml')] });

  it('renders every item of a List (kubectl get -o yaml), naming document and item', () => {
    const r = cli('render', '-s', writeTmp('list.yaml', [list()]));
    expect(r.code).toBe(EXIT_OK);
    const both = cli('render', '-s', 'examples/minimal/claim.yaml', 'examples/dev/claim.yaml');
    expect(r.docs).toEqual(both.docs);
    expect(r.stderr).toMatch(/list\.yaml \(document 1, item 2\): StreamBusCluster development\/streambus-dev/);
  });

  it('reports unknown fields of a List item at their line in the file', () => {
    const text = `apiVersion: v1\nkind: List\nitems:\n- apiVersion: streambus.io/v1alpha1\n  kind: StreamBusCluster\n  metadata:\n    name: a\n    namespace: ns\n  spec:\n    replica: 1\n`;
    const file = writeTmp('list-typo.yaml', text);
    const r = cli('render', file);
    expect(r.stderr).toContain(`warning: ${file}:10:5: unknown field "spec.replica"`);
  });

  it('reads - from standard input, with line numbers', () => {
    let stdout = '';
    let stderr = '';
    const code = main(['render', '-s', '-'], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd: ROOT, stdin: () => TYPO_CLAIM });
    expect(code).toBe(EXIT_OK);
    expect(stderr).toContain('warning: <stdin>:7:3: unknown field "spec.replica"');
    expect(stderr).toContain('<stdin>: StreamBusCluster default/typo → XStreamBusCluster typo-');
    expect(parseDocs(stdout)[0]!.kind).toBe('XStreamBusCluster');
  });

  it('refuses - twice, and standard input without a StreamBusCluster', () => {
    expect(cli('render', '-', '-').code).toBe(EXIT_USAGE);
    expect(cli('render', '-o', '-', '-').stderr).toContain('- (standard input) can be given only once');
    let stderr = '';
    const code = main(['render', '-'], { stdout: () => {}, stderr: (s) => (stderr += s), cwd: ROOT, stdin: () => 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' });
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain('error: standard input: no StreamBusCluster claim or XStreamBusCluster found');
  });

  it('observed resources may be a List too (kubectl get object -o yaml)', () => {
    const observed = observedFrom(cli('render', 'examples/minimal/claim.yaml').docs, readyStatefulSet);
    const r = cli('render', '-s', '-o', writeTmp('observed-list.yaml', [{ apiVersion: 'v1', kind: 'List', items: observed }]), 'examples/minimal/claim.yaml');
    expect(r.code).toBe(EXIT_OK);
    expect(r.docs[0]!.status.phase).toBe('Running');
  });
});

describe('render: the two APIs', () => {
  it('--api namespaced renders the manifest itself as a namespaced XR, with namespaced Objects and the connection Secret', () => {
    const r = cli('render', '-s', '--api', 'namespaced', 'examples/dev/claim.yaml');
    expect(r.code).toBe(EXIT_OK);
    const [xr, ...composed] = r.docs;
    expect(xr).toMatchObject({ apiVersion: 'streambus.io/v1alpha1', kind: 'StreamBusCluster', metadata: { name: 'streambus-dev', namespace: 'development' } });
    for (const o of composed) {
      expect(o).toMatchObject({ apiVersion: 'kubernetes.m.crossplane.io/v1alpha1', kind: 'Object', metadata: { namespace: 'development' } });
      expect(o.metadata.ownerReferences[0]).toMatchObject({ kind: 'StreamBusCluster', name: 'streambus-dev', controller: true });
      expect(o.metadata.labels['crossplane.io/composite']).toBe('streambus-dev');
    }
    expect(composed.map(resName)).toContain('connection-secret');
    expect(r.stderr).toContain('examples/dev/claim.yaml: StreamBusCluster development/streambus-dev\n');
  });

  it('the API follows --composition, and a mismatch is a usage error', () => {
    const r = cli('render', '--composition', 'compositions/v2/composition-direct.yaml', 'examples/dev/claim.yaml');
    expect(r.code).toBe(EXIT_OK);
    expect(r.docs.map((d) => d.kind)).toContain('StatefulSet');
    expect(r.docs.find((d) => d.kind === 'StatefulSet')!.metadata.namespace).toBe('development');
    const bad = cli('render', '--api', 'legacy', '--composition', 'compositions/v2/composition.yaml', 'examples/dev/claim.yaml');
    expect(bad.code).toBe(EXIT_USAGE);
    expect(bad.stderr).toContain('the Composition is for the namespaced API, not --api legacy');
    expect(cli('render', '--api', 'v3', 'examples/dev/claim.yaml').stderr).toContain('--api must be one of legacy, namespaced');
  });

  it('a manifest without a namespace goes to default, as kubectl apply puts it', () => {
    const c = clone(loadYaml('examples/minimal/claim.yaml')) as Obj;
    delete c.metadata.namespace;
    const r = cli('render', '--api', 'namespaced', '-s', writeTmp('nons.yaml', [c]));
    expect(r.docs[0]!.metadata.namespace).toBe('default');
  });
});

describe('render: --version', () => {
  it('prints the package.json version, from the command and from render', () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    expect(cli('--version')).toMatchObject({ code: EXIT_OK, stdout: `function-streambus ${version}\n` });
    expect(cli('render', '--version')).toMatchObject({ code: EXIT_OK, stdout: `function-streambus ${version}\n` });
  });
});
