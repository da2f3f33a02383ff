/**
 * Crossplane 1 and 2 agree: every example rendered by the Crossplane 1.20.11 CLI and by the 2.2.1 CLI, both
 * calling the same real function server, fresh and with observed resources of a running cluster.
 *
 * Normalisation (the only difference between the two CLIs for these XRs): Crossplane 1.20's
 * SetComposedResourceMetadata sets `metadata.generateName: <xr>-` on every composed resource, even one the
 * function names; Crossplane 2.2 sets it only on resources without a name. The function names every resource, so
 * the name is what either version creates; generateName is dropped from the 1.20 output before comparing.
 * Documents are compared parsed (the text formatting of both is Go's and identical anyway).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { clone, EXAMPLES } from '../helpers/fixtures.js';
import { crossplaneRender, functionsFile } from '../helpers/render.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { requireTool, ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;
const v2 = requireTool('crossplane', 'the Crossplane 1/2 agreement check needs the Crossplane 2 CLI');
const v1 = requireTool('crossplane-v1', 'the Crossplane 1/2 agreement check needs the Crossplane 1.20 CLI (scripts/install-tools.sh crossplane1)');
const COMPOSITION = 'compositions/composition.yaml';

/** Drops what Crossplane 1.20 adds and 2.2 does not (see the file comment). */
export function normaliseV1(docs: Obj[]): Obj[] {
  return docs.map((d) => {
    const c = clone(d);
    if (c.metadata?.annotations?.['crossplane.io/composition-resource-name'] && c.metadata.name) delete c.metadata.generateName;
    return c;
  });
}

function observedRunning(composed: Obj[]): string {
  const docs = composed
    .filter((o) => o.kind === 'Object')
    .map((o) => {
      const m = clone(o.spec.forProvider.manifest);
      if (m.kind === 'StatefulSet') {
        const n = m.spec.replicas;
        m.status = { replicas: n, readyReplicas: n, updatedReplicas: n, currentRevision: 'r1', updateRevision: 'r1' };
      }
      return { ...clone(o), status: { atProvider: { manifest: m } } };
    });
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const p = join(mkdtempSync(join(ROOT, '.tmp', 'versions-')), 'observed.yaml');
  writeFileSync(p, docs.map((d) => `---\n${stringify(d)}`).join(''));
  return p;
}

describe.skipIf(!v1 || !v2)('crossplane render: Crossplane 1.20.11 and 2.2.1 agree on every example', () => {
  let srv: RunningServer;
  let fns: string;
  beforeAll(async () => {
    srv = await startServer();
    fns = functionsFile(srv.port);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('the CLIs are the pinned versions', () => {
    expect(execFileSync(v1!, ['version', '--client'], { encoding: 'utf8' })).toContain('v1.20.11');
    expect(execFileSync(v2!, ['version', '--client'], { encoding: 'utf8' })).toMatch(/v2\.2\.\d+/);
  });

  for (const ex of EXAMPLES) {
    it(`${ex}: the same XR status, composed resources and results, fresh and running`, async () => {
      const two = await crossplaneRender(v2!, `examples/${ex}/xr.yaml`, COMPOSITION, fns, ['-r']);
      const one = await crossplaneRender(v1!, `examples/${ex}/xr.yaml`, COMPOSITION, fns, ['-r']);
      expect(two.docs.filter((d) => d.kind === 'Object').length).toBeGreaterThanOrEqual(4);
      // The difference the normalisation removes is really there (and is the only one).
      expect(one.docs.filter((d) => d.metadata?.generateName).length).toBe(two.docs.filter((d) => d.kind === 'Object').length);
      expect(normaliseV1(one.docs)).toEqual(two.docs);

      const observed = observedRunning(two.docs);
      const twoRunning = await crossplaneRender(v2!, `examples/${ex}/xr.yaml`, COMPOSITION, fns, ['-r', '-o', observed]);
      const oneRunning = await crossplaneRender(v1!, `examples/${ex}/xr.yaml`, COMPOSITION, fns, ['-r', '-o', observed]);
      expect(twoRunning.docs[0]!.status.phase).toBe('Running');
      expect(normaliseV1(oneRunning.docs)).toEqual(twoRunning.docs);
    });
  }
});
