/**
 * The render command (`function-streambus render`, the compiled bin, in-process function) against the real
 * `crossplane render` (Crossplane CLI v2.2.1 calling the real function server over gRPC), for every example.
 *
 * What is compared: the parsed YAML documents of stdout, all of them: the XR with its status and conditions,
 * every composed resource (metadata, labels, annotations, owner references, the wrapped manifest) and the
 * Result documents (`-r`). The render command prints the XR with `-s`, crossplane render always does.
 *
 * Normalisation: none. Nothing has to differ for the same XR: both use the fixed condition time
 * 2024-01-01T00:00:00Z that crossplane render uses, the XR's uid ("" in a file), and the XR's name as given; a
 * claim is converted to the XR that examples/<name>/xr.yaml holds (same deterministic name), so rendering the
 * claim must give the same documents too. Only the text formatting differs, which is why documents are
 * compared parsed rather than byte for byte: Go's encoder folds strings longer than 80 columns and quotes with
 * single quotes, ours does neither; comment lines (`# examples/...`) are ours alone.
 * (In a cluster the XR name of a claim ends in a random suffix, which then names the Objects, the
 * crossplane.io/composite label and the owner reference; the render command cannot know it.)
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cli, cliBin } from '../helpers/cli.js';
import { clone, EXAMPLES, loadYaml } from '../helpers/fixtures.js';
import { crossplaneRender, functionsFile } from '../helpers/render.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { requireTool, ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;
const crossplane = requireTool('crossplane', 'the render comparison needs the Crossplane CLI');
const COMPOSITION = 'compositions/composition.yaml';
const DIRECT = 'compositions/composition-direct.yaml';
const V2_COMPOSITION = 'compositions/v2/composition.yaml';
const V2_DIRECT = 'compositions/v2/composition-direct.yaml';

/** Scratch files inside the repository (crossplaneRender takes paths relative to it); .tmp/ is git-ignored. */
function scratch(name: string, docs: unknown[]): string {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.tmp', 'render-compare-'));
  const p = join(dir, name);
  writeFileSync(p, docs.map((d) => `---\n${stringify(d)}`).join(''));
  return relative(ROOT, p);
}

/** Observed composed resources: what provider-kubernetes reports once every object exists and the brokers are up. */
function observedRunning(composed: Obj[]): Obj[] {
  return composed.map((o) => {
    const m = clone(o.spec.forProvider.manifest);
    if (m.kind === 'StatefulSet') {
      const n = m.spec.replicas;
      m.metadata.generation = 2;
      m.status = { observedGeneration: 2, replicas: n, readyReplicas: n, updatedReplicas: n, currentRevision: 'r1', updateRevision: 'r1' };
    }
    return { ...clone(o), status: { atProvider: { manifest: m } } };
  });
}

describe.skipIf(!crossplane)('function-streambus render matches crossplane render (v2.2.1)', () => {
  let srv: RunningServer;
  let fns: string;
  beforeAll(async () => {
    srv = await startServer();
    fns = functionsFile(srv.port);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  for (const ex of EXAMPLES) {
    it(`${ex}: the same XR, composed resources and results, from the XR and from the claim`, async () => {
      const theirs = await crossplaneRender(crossplane!, `examples/${ex}/xr.yaml`, COMPOSITION, fns, ['-r']);
      expect(theirs.docs.length).toBeGreaterThanOrEqual(5);
      const fromXr = await cliBin(['render', '-s', '-r', `examples/${ex}/xr.yaml`]);
      expect(fromXr.code).toBe(0);
      expect(fromXr.docs).toEqual(theirs.docs);
      const fromClaim = cli('render', '-s', '-r', `examples/${ex}/claim.yaml`); // in-process: the bin is exercised above
      expect(fromClaim.code).toBe(0);
      expect(fromClaim.docs).toEqual(theirs.docs);
    });

    it(`${ex}: the same with the Direct-mode Composition (raw objects)`, async () => {
      const theirs = await crossplaneRender(crossplane!, `examples/${ex}/xr.yaml`, DIRECT, fns, ['-r']);
      const ours = cli('render', '-s', '-r', '--composition', DIRECT, `examples/${ex}/xr.yaml`);
      expect(ours.code).toBe(0);
      expect(ours.docs.some((d) => d.kind === 'StatefulSet')).toBe(true);
      expect(ours.docs).toEqual(theirs.docs);
    });

    it(`${ex}: the same for the Crossplane 2 API (the manifest itself as a namespaced XR), both Compositions`, async () => {
      for (const comp of [V2_COMPOSITION, V2_DIRECT]) {
        const theirs = await crossplaneRender(crossplane!, `examples/${ex}/claim.yaml`, comp, fns, ['-r']);
        const ours = await cliBin(['render', '-s', '-r', '--composition', comp, `examples/${ex}/claim.yaml`]);
        expect(ours.code).toBe(0);
        expect(theirs.docs[0]).toMatchObject({ kind: 'StreamBusCluster', metadata: { namespace: expect.any(String) } });
        expect(ours.docs).toEqual(theirs.docs);
      }
    });

    it(`${ex}: the same with observed resources (-o) of a running cluster`, async () => {
      const first = cli('render', `examples/${ex}/xr.yaml`);
      const observed = scratch('observed.yaml', observedRunning(first.docs));
      const theirs = await crossplaneRender(crossplane!, `examples/${ex}/xr.yaml`, COMPOSITION, fns, ['-r', '-o', join(ROOT, observed)]);
      const ours = await cliBin(['render', '-s', '-r', '-o', observed, `examples/${ex}/xr.yaml`]);
      expect(ours.docs).toEqual(theirs.docs);
      expect(ours.docs[0]!.status.phase).toBe('Running');
    });
  }

  it('required resources (-e, the TLS CA Secret the secure example asks for) match, in Object and Direct mode', async () => {
    const ca = scratch('ca.yaml', [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'streambus-ca-cert', namespace: 'default' }, data: { 'ca.crt': Buffer.from('CA').toString('base64') } },
    ]);
    for (const comp of [COMPOSITION, DIRECT]) {
      const theirs = await crossplaneRender(crossplane!, 'examples/secure/xr.yaml', comp, fns, ['-r', '-e', join(ROOT, ca)]);
      const ours = await cliBin(['render', '-s', '-r', '--composition', comp, '-e', ca, 'examples/secure/xr.yaml']);
      expect(ours.code).toBe(0);
      expect(ours.docs).toEqual(theirs.docs);
    }
  });

  it('-x (include the full XR) matches', async () => {
    const theirs = await crossplaneRender(crossplane!, 'examples/production/xr.yaml', COMPOSITION, fns, ['-x']);
    const ours = await cliBin(['render', '-x', 'examples/production/xr.yaml']);
    expect(ours.docs).toEqual(theirs.docs);
  });

  it('an invalid XR: both refuse with the same FATAL message and a non-zero exit', async () => {
    const xr = clone(loadYaml('examples/minimal/xr.yaml')) as Obj;
    xr.spec.replicas = 0;
    xr.spec.storage.size = 'lots';
    const file = scratch('invalid.yaml', [xr]);
    const theirs = await crossplaneRender(crossplane!, file, COMPOSITION, fns).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(theirs?.code).not.toBe(0);
    const fatal = /pipeline step "render-streambus" returned a fatal result: (.*)/.exec(theirs?.stderr ?? '')?.[1];
    expect(fatal).toContain('ValidateSpec: spec.replicas: must be ≥ 1');
    const ours = await cliBin(['render', file]);
    expect(ours.code).toBe(1);
    expect(ours.stdout).toBe('');
    expect(ours.stderr).toContain(`pipeline step "render-streambus" returned a fatal result: ${fatal!.trim()}`);
  });
});
