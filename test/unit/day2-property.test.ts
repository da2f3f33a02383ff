/**
 * Property: no sequence of observed states and specs ever makes a desired StatefulSet whose replicas, Raft peers,
 * volume claim templates or selector differ from the last applied one, without the override annotation.
 *
 * Each run creates a cluster from a generated spec, then plays a sequence of reconciles. Between two reconciles an
 * outside actor may act on the live objects (kubectl scale to any number, NaN included; a hand edit of the Raft
 * container port; a status that says anything), the claim's spec may change anywhere the planner judges
 * (replicas, ports, storage sizes and class), and the Composition's mode may switch. After each reconcile that is
 * not refused, what the function asks Crossplane to apply becomes the new applied state, as Crossplane would make it.
 *
 * PROPERTY_RUNS sets the number of sequences (default 200); PROPERTY_SEED replays one.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Severity, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { parse } from 'yaml';
import { runFunction } from '../../src/function/handler.js';
import { exampleXr, request } from '../helpers/fixtures.js';

type Obj = Record<string, any>;

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : undefined;
const params = { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) };

const size = fc.constantFrom('1Gi', '5Gi', '10Gi', '10240Mi', '20Gi', '1Ti');
/** Three distinct ports (client, gRPC, Raft): a spec the planner accepts, so the property has something to check. */
const ports = fc.shuffledSubarray([9092, 9093, 9500, 9600, 9700], { minLength: 3, maxLength: 3 }).map(([port, grpcPort, raftPort]) => ({ port: port!, grpcPort: grpcPort!, raftPort: raftPort! }));
const specArb = fc.record(
  {
    replicas: fc.integer({ min: 1, max: 9 }),
    storage: fc.record({ size, raftSize: size, class: fc.constantFrom('standard', 'fast') }, { requiredKeys: ['size', 'raftSize'] }),
    config: ports,
  },
  { requiredKeys: ['replicas', 'config'] },
);
const outsideActor = fc.record(
  {
    scaleTo: fc.constantFrom(0, 1, 2, 5, 100_000, 1_000_000, NaN, 2.5, -1),
    raftPortTo: fc.constantFrom(1, 9093, 9999, 70_000),
  },
  { requiredKeys: [] },
);
/**
 * A step changes the spec anywhere (replicas, storage, ports) and now and then switches the Composition's mode. Most
 * steps are ones the function answers (a refused spec change is still answered, with the kept values): a step it
 * refuses outright (a mode switch, a port taking the kept Raft port) applies nothing and checks nothing, so those
 * stay a minority and the test asserts a floor of checked steps.
 */
const stepSpec = fc.record({
  replicas: fc.integer({ min: 1, max: 9 }),
  storage: fc.record({ size, raftSize: size, class: fc.constantFrom('standard', 'fast') }, { requiredKeys: ['size', 'raftSize'] }),
  // New ports in one step out of four; otherwise the ports the cluster was created with.
  config: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: ports }),
});
const step = fc.record({ spec: stepSpec, actor: outsideActor, switchMode: fc.constantFrom(false, false, false, false, false, false, false, true) });
const scenario = fc.record({ mode: fc.constantFrom('Object', 'Direct'), initial: specArb, steps: fc.array(step, { minLength: 1, maxLength: 6 }) });
const other = (mode: string) => (mode === 'Object' ? 'Direct' : 'Object');

const fatal = (rsp: RunFunctionResponse) => rsp.results.some((r) => r.severity === Severity.SEVERITY_FATAL);
const manifestOf = (r: Obj): Obj => (r.kind === 'Object' ? r.spec.forProvider.manifest : r);

/** What must never change without the override, read from a desired (or applied) state. */
function invariant(resources: Record<string, Obj>): Obj {
  const sts = manifestOf(resources.statefulset!);
  const cm = manifestOf(resources.config!);
  return {
    replicas: sts.spec.replicas,
    peers: parse(cm.data['broker.yaml']).cluster.peers,
    volumeClaimTemplates: sts.spec.volumeClaimTemplates,
    selector: sts.spec.selector,
  };
}

/** What Crossplane observes after applying `applied`, with the outside actor's changes to the live objects. */
function observe(applied: Record<string, Obj>, actor: { scaleTo?: number; raftPortTo?: number }): Record<string, Obj> {
  const out: Record<string, Obj> = {};
  for (const [key, res] of Object.entries(applied)) {
    const desired = structuredClone(res);
    const live = structuredClone(manifestOf(desired));
    if (key === 'statefulset') {
      if (actor.scaleTo !== undefined) live.spec.replicas = actor.scaleTo;
      if (actor.raftPortTo !== undefined) live.spec.template.spec.containers[0].ports.find((p: Obj) => p.name === 'raft').containerPort = actor.raftPortTo;
      live.status = { replicas: live.spec.replicas, readyReplicas: 0 };
    }
    out[key] = desired.kind === 'Object' ? { ...desired, status: { atProvider: { manifest: live } } } : live;
  }
  return out;
}

describe(`day-2 invariant over ${RUNS} generated reconcile sequences`, () => {
  it('replicas, peers, volume claim templates and selector never change without the override', () => {
    let steps = 0;
    let checked = 0;
    fc.assert(
      fc.property(scenario, ({ mode, initial, steps: plays }) => {
        const xr = structuredClone(exampleXr('minimal')) as Obj;
        const make = (spec: Obj) => ({ ...xr, spec: { ...xr.spec, ...spec, storage: { ...xr.spec.storage, ...spec.storage }, config: { ...xr.spec.config, ...spec.config } } });
        const first = runFunction(request(make(initial), { input: { spec: { mode } } }));
        // Every generated initial spec is valid: a refused one would make the whole sequence check nothing.
        expect(fatal(first), JSON.stringify(first.results)).toBe(false);
        let applied = Object.fromEntries(Object.entries(first.desired!.resources).map(([k, v]) => [k, v.resource as Obj]));
        const was = invariant(applied);
        for (const s of plays) {
          steps++;
          const rsp = runFunction(request(make({ ...s.spec, config: s.spec.config ?? initial.config }), { input: { spec: { mode: s.switchMode ? other(mode) : mode } }, observed: observe(applied, s.actor) }));
          if (fatal(rsp)) continue; // refused outright: Crossplane applies nothing, the applied state stays
          const desired = Object.fromEntries(Object.entries(rsp.desired!.resources).map(([k, v]) => [k, v.resource as Obj]));
          expect(invariant(desired)).toEqual(was);
          checked++;
          applied = desired;
        }
        return true;
      }),
      params,
    );
    process.stdout.write(`day-2 property: ${checked} of ${steps} generated steps checked (${Math.round((100 * checked) / steps)}%)\n`);
    // The floor: at least 70% of steps produce a desired state that is checked (three runs of 200: 82-83%).
    expect(checked / steps).toBeGreaterThanOrEqual(0.7);
  });

  it('with the override, the replica count (and only what follows from it) may change', () => {
    const xr = structuredClone(exampleXr('minimal')) as Obj;
    const first = runFunction(request(xr));
    const applied = Object.fromEntries(Object.entries(first.desired!.resources).map(([k, v]) => [k, v.resource as Obj]));
    const grown = { ...xr, metadata: { ...xr.metadata, annotations: { 'streambus.io/allow-replica-change': 'true' } }, spec: { ...xr.spec, replicas: 5 } };
    const rsp = runFunction(request(grown, { observed: observe(applied, { scaleTo: 100_000 }) }));
    const after = invariant(Object.fromEntries(Object.entries(rsp.desired!.resources).map(([k, v]) => [k, v.resource as Obj])));
    expect(after.replicas).toBe(5);
    expect(after.peers).toHaveLength(5);
    expect(after.volumeClaimTemplates).toEqual(invariant(applied).volumeClaimTemplates);
  });
});
