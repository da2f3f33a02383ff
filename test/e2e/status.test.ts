/**
 * Status, readiness and day-2 safety through the real `crossplane render`, with observed-resource fixtures
 * (`-o`) for each phase and each refused change, in both composition modes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compositionInput, exampleXr } from '../helpers/fixtures.js';
import { observedFor, type ClusterState } from '../helpers/observed.js';
import { crossplaneRender, functionsFile } from '../helpers/render.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';

type Obj = Record<string, any>;
const crossplane = requireTool('crossplane', 'the crossplane render e2e tests need the Crossplane CLI');
const MODES = [
  { mode: 'Object', composition: 'compositions/composition.yaml' },
  { mode: 'Direct', composition: 'compositions/composition-direct.yaml' },
] as const;

interface Scenario {
  name: string;
  phase?: string;
  state?: ClusterState;
  observed?: boolean;
  patch?: (x: Obj) => void;
  expectPhase: string;
  expectReady: boolean;
  expectConfig?: [string, string];
}

const SCENARIOS: Scenario[] = [
  { name: 'fresh', observed: false, expectPhase: 'Pending', expectReady: false },
  { name: 'creating', state: { sts: { readyReplicas: 1 } }, expectPhase: 'Creating', expectReady: false },
  { name: 'running', phase: 'Creating', expectPhase: 'Running', expectReady: true },
  { name: 'degraded', phase: 'Running', state: { sts: { readyReplicas: 2 } }, expectPhase: 'Degraded', expectReady: false },
  { name: 'updating', phase: 'Running', state: { sts: { updatedReplicas: 1, updateRevision: 'rev-2' } }, expectPhase: 'Updating', expectReady: false },
  { name: 'failed', phase: 'Running', state: { sts: { readyReplicas: 1 } }, expectPhase: 'Failed', expectReady: false },
  { name: 'refused storage shrink', phase: 'Running', patch: (x) => (x.spec.storage.size = '5Gi'), expectPhase: 'Running', expectReady: true, expectConfig: ['False', 'StorageShrinkRefused'] },
  { name: 'refused storage class change', phase: 'Running', patch: (x) => (x.spec.storage.class = 'fast'), expectPhase: 'Running', expectReady: true, expectConfig: ['False', 'StorageClassChangeRefused'] },
  { name: 'refused raft volume change', phase: 'Running', patch: (x) => (x.spec.storage.raftSize = '20Gi'), expectPhase: 'Running', expectReady: true, expectConfig: ['False', 'StorageChangeRefused'] },
  { name: 'refused replica change', phase: 'Running', patch: (x) => (x.spec.replicas = 5), expectPhase: 'Running', expectReady: true, expectConfig: ['False', 'ReplicaChangeRefused'] },
];

describe.skipIf(!crossplane)('status through crossplane render with observed fixtures', () => {
  let srv: RunningServer;
  let fns: string;
  const dir = mkdtempSync(join(tmpdir(), 'sb-status-'));
  const outputs = new Map<string, { docs: Obj[]; observedKeys: string[] }>();

  beforeAll(async () => {
    srv = await startServer();
    fns = functionsFile(srv.port);
    const base = exampleXr('minimal') as Obj;
    for (const { mode, composition } of MODES) {
      const input = compositionInput(composition);
      for (const s of SCENARIOS) {
        const xr = structuredClone(base);
        if (s.phase) xr.status = { phase: s.phase };
        s.patch?.(xr);
        const file = (n: string) => join(dir, `${mode}-${s.name.replace(/ /g, '-')}-${n}.yaml`);
        writeFileSync(file('xr'), stringify(xr));
        const extra: string[] = [];
        let observedKeys: string[] = [];
        if (s.observed !== false) {
          const obs = observedFor(base, input, s.state);
          observedKeys = Object.keys(obs);
          writeFileSync(file('observed'), Object.values(obs).map((o) => `---\n${stringify(o)}`).join(''));
          extra.push('-o', file('observed'));
        }
        const r = await crossplaneRender(crossplane!, file('xr'), composition, fns, ['-r', ...extra]);
        outputs.set(`${mode}/${s.name}`, { docs: r.docs, observedKeys });
      }
    }
  });
  afterAll(async () => {
    await srv?.stop();
  });

  for (const { mode } of MODES) {
    for (const s of SCENARIOS) {
      it(`${mode}: ${s.name} → phase ${s.expectPhase}, Ready=${s.expectReady}${s.expectConfig ? `, ${s.expectConfig[1]}` : ''}`, () => {
        const { docs, observedKeys } = outputs.get(`${mode}/${s.name}`)!;
        const xr = docs[0]!;
        expect(xr.status.phase).toBe(s.expectPhase);
        const conditions = Object.fromEntries(xr.status.conditions.map((c: Obj) => [c.type, c]));
        expect(conditions.Ready.status).toBe(s.expectReady ? 'True' : 'False');
        expect(conditions.BrokersReady.status).toBe(s.expectReady ? 'True' : 'False');
        const [status, reason] = s.expectConfig ?? ['True', 'Valid'];
        expect(conditions.ConfigurationValid).toMatchObject({ status, reason });
        // nothing composed disappears: every observed resource is still desired
        const composedNames = docs.filter((d) => d.kind !== 'Result').slice(1).map((d) => d.metadata.annotations['crossplane.io/composition-resource-name']);
        for (const k of observedKeys) expect(composedNames).toContain(k);
        if (s.expectConfig) {
          const sts = docs.find((d) => d.metadata?.annotations?.['crossplane.io/composition-resource-name'] === 'statefulset')!;
          const m = mode === 'Object' ? sts.spec.forProvider.manifest : sts;
          expect(m.spec.replicas).toBe(3);
          expect(m.spec.volumeClaimTemplates.map((t: Obj) => [t.spec.resources.requests.storage, t.spec.storageClassName])).toEqual([
            ['10Gi', 'standard'],
            ['5Gi', 'standard'],
          ]);
          // render prints results with severity, step and message (not the reason)
          const warning = docs.find((d) => d.kind === 'Result' && /^PlanDay2Changes: spec\./.test(d.message));
          expect(warning).toMatchObject({ severity: 'SEVERITY_WARNING', step: 'render-streambus' });
        }
      });
    }
  }

  it('says in words what a degraded cluster and a refused storage shrink are (and prints both statuses)', () => {
    const cond = (xr: Obj, type: string) => (xr.status.conditions as Obj[]).find((c) => c.type === type)!;
    for (const { mode } of MODES) {
      const degraded = outputs.get(`${mode}/degraded`)!.docs[0]!;
      expect(degraded.status).toMatchObject({ phase: 'Degraded', readyReplicas: 2, replicas: 3 });
      expect(cond(degraded, 'BrokersReady')).toMatchObject({ status: 'False', reason: 'BrokersNotReady' });
      expect(cond(degraded, 'BrokersReady').message).toMatch(/^StatefulSet default\/streambus-minimal: 2\/3 brokers ready \(phase Degraded\)$/);
      const shrink = outputs.get(`${mode}/refused storage shrink`)!.docs[0]!;
      expect(shrink.status).toMatchObject({ phase: 'Running', readyReplicas: 3, replicas: 3 });
      expect(cond(shrink, 'ConfigurationValid').message).toBe('spec.storage.size: keeping 10Gi (requested 5Gi): volumes cannot shrink without losing the data of every broker');
    }
    for (const name of ['degraded', 'refused storage shrink']) {
      const xr = outputs.get(`Object/${name}`)!.docs[0]!;
      process.stdout.write(`\n--- XR status: ${name}\n${stringify({ status: { ...xr.status, endpoints: undefined, bootstrapServers: '…' } })}`);
    }
  });
});
