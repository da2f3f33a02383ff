/**
 * Smoke of the claim-scale benchmark (bench/scale.ts, `npm run bench:scale`) on the real control plane (real
 * kube-apiserver, Crossplane v2.2.1 with its default circuit-breaker flags, provider-kubernetes v1.2.1, kwok nodes):
 * a few claims applied at once all become Ready with phase Running, and the benchmark measures what it reports.
 * No timing gate: the figures are printed, the full run goes to bench/RESULTS.md.
 */
import { describe, expect, it } from 'vitest';
import { controlPlaneAvailable } from '../helpers/controlplane.js';
import { markdown, runScale } from '../../bench/scale.js';

const available = controlPlaneAvailable();

describe.skipIf(!available)('claim-scale benchmark smoke (real control plane)', () => {
  it('three claims applied at once become Ready and Running; calls, CPU and breaker events are measured', async () => {
    const r = await runScale({
      batches: [3],
      mode: 'Object',
      breaker: 'default',
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
  }, 900_000);
});
