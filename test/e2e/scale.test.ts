/**
 * Smoke of the claim-scale benchmark (bench/scale.ts, `npm run bench:scale`) on the real control plane (real
 * kube-apiserver, Crossplane v2.2.1 with its default circuit-breaker flags, provider-kubernetes v1.2.1, kwok nodes):
 * a few claims applied at once in Direct mode, their volumes made ahead and pre-bound, all become Ready with phase
 * Running without opening Crossplane's XR circuit breaker (docs/install.md: Direct mode holds Crossplane's default
 * flags; Object mode does not, see bench/RESULTS.md), and the benchmark measures what it reports. Then two claims
 * with function-go-templating (the comparison's peer, bench/scale-go-templating.ts) in the same harness. No timing
 * gate: the figures are printed, the full run goes to bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlPlaneAvailable } from '../helpers/controlplane.js';
import { IN_CI, ROOT } from '../helpers/tools.js';
import { locateGoTemplating } from '../../bench/go-templating.js';
import { markdown, runScale } from '../../bench/scale.js';

/** How many resources the Direct-mode Composition composes for an example (the CLI's in-process render). */
const rendered = (example: string): number => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'render', '--composition', join(ROOT, 'compositions/composition-direct.yaml'), join(ROOT, 'examples', example, 'claim.yaml')], { encoding: 'utf8' });
  return (r.stdout.match(/^kind:/gm) ?? []).length;
};

const available = controlPlaneAvailable();
/** The pinned function-go-templating binary (../shared/tools): missing, the second test is skipped loudly, or fails under CI. */
const goTemplating = ((): boolean => {
  const found = locateGoTemplating(ROOT);
  if ('path' in found) return true;
  if (IN_CI) throw new Error(`CI=true and ${found.problem}`);
  process.stderr.write(`\n!!!!!!!!!! SKIPPED (the function-go-templating smoke): ${found.problem} !!!!!!!!!!\n\n`);
  return false;
})();

describe.skipIf(!available)('claim-scale benchmark smoke (real control plane)', () => {
  it('three Direct-mode claims applied at once become Ready and Running with the default circuit breaker closed; their volumes were made ahead; calls, CPU and breaker events are measured', async () => {
    const r = await runScale({
      batches: [3],
      api: 'legacy',
      mode: 'Direct',
      breaker: 'default',
      provisioner: 'ahead',
      steadySeconds: 20,
      roll: false,
      debug: false,
      readyTimeoutMs: 300_000,
      log: (s) => process.stderr.write(`[scale smoke] ${s}\n`),
    });
    process.stdout.write(`\n${markdown(r)}\n`);
    const [b] = r.batches;
    expect(b!.notReady).toEqual([]);
    expect(b!.times.map((t) => t.example)).toEqual(['minimal', 'dev', 'production']);
    for (const t of b!.times) {
      expect(t.synced, t.name).toBeGreaterThan(0);
      expect(t.ready, t.name).toBeGreaterThan(0);
      expect(t.running, t.name).toBeGreaterThan(0);
    }
    // The figures come from the live processes: the function was called, Crossplane counted watch events.
    expect(b!.callsPerClaimUntilReady).toBeGreaterThanOrEqual(1);
    expect(b!.breakerEventsPerClaim).toBeGreaterThan(0);
    expect(b!.cpuSecondsUntilReady['function-streambus']).toBeGreaterThan(0);
    expect(r.functionPeakRssMiB).toBeGreaterThan(0);
    expect(r.steady?.clusters).toBe(3);
    expect(r.steady?.runningAtStart).toBe(3);
    expect(r.steady?.cpuPercentPer100Clusters['function-streambus']).toBeGreaterThanOrEqual(0);
    // The volumes were made ahead for exactly the claims the StatefulSets made (3 + 1 + 5 brokers, data and raft
    // each), the PV controller bound every one, and the reactive loop had nothing left to do.
    expect(b!.volumes.planned).toBe(18);
    expect(b!.volumes.madeAhead).toBe(18);
    expect(b!.volumes.pvcs).toBe(18);
    expect(b!.volumes.bound).toBe(18);
    expect(b!.volumes.madeReactively).toBe(0);
    // Nothing dropped: every XR holds every resource the render composes for its example.
    for (const ex of ['minimal', 'dev', 'production']) expect(b!.composedPerXr[ex], ex).toEqual({ [String(rendered(ex))]: 1 });
    // Crossplane's default circuit breaker (burst 100, refill 1/s) stayed closed for every XR.
    expect(b!.breakerOpens).toBe(0);
    expect(b!.responsiveFalse).toEqual({});
  }, 900_000);

  it.skipIf(!goTemplating)('the same with function-go-templating v0.12.2 (`--function go-templating`): installed as a Function package, its template composes every resource and follows the claims to Ready and Running', async () => {
    const r = await runScale({
      batches: [2],
      api: 'legacy',
      mode: 'Direct',
      breaker: 'default',
      provisioner: 'ahead',
      fn: 'go-templating',
      steadySeconds: 0,
      roll: false,
      debug: false,
      readyTimeoutMs: 300_000,
      log: (s) => process.stderr.write(`[scale smoke, go-templating] ${s}\n`),
    });
    process.stdout.write(`\n${markdown(r)}\n`);
    const [b] = r.batches;
    expect(b!.notReady).toEqual([]);
    expect(b!.times.map((t) => t.example)).toEqual(['minimal', 'dev']);
    // Crossplane called function-go-templating (its own counter for that Function), which used CPU.
    expect(b!.callsPerClaimUntilReady).toBeGreaterThanOrEqual(1);
    expect(b!.cpuSecondsUntilReady['function-go-templating']).toBeGreaterThan(0);
    expect(r.functionPeakRssMiB).toBeGreaterThan(0);
    for (const ex of ['minimal', 'dev']) expect(b!.composedPerXr[ex], ex).toEqual({ [String(rendered(ex))]: 1 });
    expect(b!.volumes.bound).toBe(b!.volumes.planned);
  }, 900_000);
});
