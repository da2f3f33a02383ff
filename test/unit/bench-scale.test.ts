/**
 * The claim-scale benchmark's pure pieces (bench/scale.ts): percentiles, Prometheus text sums, the circuit-breaker
 * metric filter of each API, the volumes it makes ahead (from the real in-process render of the examples), the
 * manifests it applies per API and mode, the steady-state arithmetic and the command line. No control plane.
 */
import { describe, expect, it } from 'vitest';
import {
  EXAMPLES,
  breakerFilter,
  functionFilter,
  chunks,
  claimDoc,
  comparison,
  metricSum,
  parseCli,
  per100Clusters,
  percentile,
  persistentVolumeFor,
  planClaims,
  plannedClaims,
  ppm,
  volumeLine,
  type BatchResult,
  type ScaleResult,
} from '../../bench/scale.js';

describe('bench/scale.ts helpers', () => {
  it('percentile is nearest-rank on the sorted values', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([3, 1, 2], 50)).toBe(2);
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
    expect(ppm([3, undefined, 1, 2])).toBe('2 / 3 / 3');
    expect(ppm([undefined])).toBe('n/a');
  });

  it('metricSum adds every label set of one metric, optionally filtered by label text', () => {
    const text = [
      '# HELP circuit_breaker_events_total events',
      '# TYPE circuit_breaker_events_total counter',
      'circuit_breaker_events_total{controller="composite/xstreambusclusters.streambus.io",result="Allowed"} 40',
      'circuit_breaker_events_total{controller="composite/xstreambusclusters.streambus.io",result="Dropped"} 2',
      'circuit_breaker_events_total{controller="composite/other.example.org",result="Allowed"} 1000',
      'circuit_breaker_events_total_other 5',
      'function_streambus_run_function_calls_total 12',
    ].join('\n');
    expect(metricSum(text, 'circuit_breaker_events_total')).toBe(1042);
    expect(metricSum(text, 'circuit_breaker_events_total', /xstreambusclusters/)).toBe(42);
    expect(metricSum(text, 'function_streambus_run_function_calls_total')).toBe(12);
    expect(metricSum(text, 'absent_total')).toBe(0);
  });

  it('breakerFilter picks the XR controller of one XRD: the v2 XRD name does not match the legacy one', () => {
    const text = [
      'circuit_breaker_events_total{controller="composite/xstreambusclusters.streambus.io",result="Allowed"} 40',
      'circuit_breaker_events_total{controller="composite/streambusclusters.streambus.io",result="Allowed"} 7',
      'circuit_breaker_events_total{controller="composite/streambusclusters.streambus.io.example",result="Allowed"} 1000',
    ].join('\n');
    expect(metricSum(text, 'circuit_breaker_events_total', breakerFilter('xstreambusclusters.streambus.io'))).toBe(40);
    expect(metricSum(text, 'circuit_breaker_events_total', breakerFilter('streambusclusters.streambus.io'))).toBe(7);
  });

  it('plannedClaims: one claim per volume claim template and ordinal, raw or wrapped in an Object, in the given namespace', () => {
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'sb', namespace: 'orig' },
      spec: {
        replicas: 2,
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { storageClassName: 'fast', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } },
          { metadata: { name: 'raft' }, spec: { resources: { requests: { storage: '1Gi' } } } },
        ],
      },
    };
    const direct = plannedClaims([{ kind: 'ConfigMap', metadata: { name: 'x' } }, sts], 'ns1');
    expect(direct.map((c) => `${c.namespace}/${c.name}`)).toEqual(['ns1/data-sb-0', 'ns1/data-sb-1', 'ns1/raft-sb-0', 'ns1/raft-sb-1']);
    expect(direct[0]).toEqual({ namespace: 'ns1', name: 'data-sb-0', storageClassName: 'fast', storage: '10Gi', accessModes: ['ReadWriteOnce'] });
    expect(direct[2]!.storageClassName).toBeUndefined();
    const wrapped = plannedClaims([{ kind: 'Object', spec: { forProvider: { manifest: sts } } }]);
    expect(wrapped.map((c) => `${c.namespace}/${c.name}`)).toEqual(['orig/data-sb-0', 'orig/data-sb-1', 'orig/raft-sb-0', 'orig/raft-sb-1']);
    expect(plannedClaims([{ kind: 'Object', spec: { forProvider: { manifest: { kind: 'Service' } } } }])).toEqual([]);
  });

  it('persistentVolumeFor pre-binds a volume to the claim by name and namespace, with its class, size and access modes', () => {
    const pv = persistentVolumeFor({ namespace: 'b1-000-minimal', name: 'data-streambus-minimal-0', storageClassName: 'standard', storage: '10Gi', accessModes: ['ReadWriteOnce'] });
    expect(pv.metadata.name).toBe('pv-b1-000-minimal-data-streambus-minimal-0');
    expect(pv.spec.claimRef).toEqual({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'b1-000-minimal', name: 'data-streambus-minimal-0' });
    expect(pv.spec.claimRef.uid).toBeUndefined();
    expect(pv.spec.capacity).toEqual({ storage: '10Gi' });
    expect(pv.spec.storageClassName).toBe('standard');
    expect(pv.spec.accessModes).toEqual(['ReadWriteOnce']);
    // No class on the template: the PV has the empty class, which is what such a claim binds to without a default class.
    expect(persistentVolumeFor({ namespace: 'n', name: 'c', storage: '1Gi', accessModes: ['ReadWriteOnce'] }).spec.storageClassName).toBe('');
  });

  it('claimDoc selects the Direct Composition the way each API does, and leaves Object mode to the XRD default', () => {
    const legacy = claimDoc('minimal', 'ns-a', 'Direct', 'legacy');
    expect(legacy.metadata.namespace).toBe('ns-a');
    expect(legacy.spec.compositionRef).toEqual({ name: 'streambus-cluster-direct' });
    expect(legacy.spec.crossplane).toBeUndefined();
    const v2 = claimDoc('minimal', 'ns-b', 'Direct', 'v2');
    expect(v2.spec.crossplane).toEqual({ compositionRef: { name: 'streambus-namespaced-direct' } });
    expect(v2.spec.compositionRef).toBeUndefined();
    for (const api of ['legacy', 'v2'] as const) {
      const o = claimDoc('minimal', 'ns-c', 'Object', api);
      expect(o.spec.compositionRef, api).toBeUndefined();
      expect(o.spec.crossplane, api).toBeUndefined();
    }
  });

  it('planClaims renders each example in-process: the claims its StatefulSet will make, the same in every API and mode', () => {
    const want: Record<string, { replicas: number; cls: string; data: string; raft: string; sts: string }> = {
      minimal: { replicas: 3, cls: 'standard', data: '10Gi', raft: '5Gi', sts: 'streambus-minimal' },
      dev: { replicas: 1, cls: 'standard', data: '5Gi', raft: '2Gi', sts: 'streambus-dev' },
      production: { replicas: 5, cls: 'fast-ssd', data: '100Gi', raft: '50Gi', sts: 'streambus-production' },
      secure: { replicas: 3, cls: 'encrypted-ssd', data: '50Gi', raft: '20Gi', sts: 'streambus-secure' },
      'multi-tenant': { replicas: 5, cls: 'fast-ssd', data: '200Gi', raft: '100Gi', sts: 'streambus-multitenant' },
    };
    for (const ex of EXAMPLES) {
      const w = want[ex]!;
      const expected = ['data', 'raft'].flatMap((t) => Array.from({ length: w.replicas }, (_, i) => ({
        namespace: `ns-${ex}`,
        name: `${t}-${w.sts}-${i}`,
        storageClassName: w.cls,
        storage: t === 'data' ? w.data : w.raft,
        accessModes: ['ReadWriteOnce'],
      })));
      for (const api of ['legacy', 'v2'] as const) {
        for (const mode of ['Object', 'Direct'] as const) {
          expect(planClaims(claimDoc(ex, `ns-${ex}`, mode, api), api, mode), `${ex} ${api} ${mode}`).toEqual(expected);
        }
      }
    }
  });

  it('chunks, per100Clusters and volumeLine', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 50)).toEqual([]);
    expect(per100Clusters(3, 21)).toBe(14.29);
    expect(per100Clusters(3, 300)).toBe(1);
    expect(per100Clusters(3, 0)).toBe(0);
    expect(volumeLine({ provisioner: 'ahead', planned: 4, madeAhead: 4, madeAheadSeconds: 0.8, madeReactively: 0, pvcs: 4, bound: 4, allBoundSeconds: 6.1, bindLagSeconds: [1, 2, 2, 3] }))
      .toBe('4 PersistentVolumes created ahead in 0.8 s, 0 made reactively; 4 of 4 planned claims seen Bound (4 seen), the last 6.1 s after the apply; creation→Bound p50/p95/max 2 / 3 / 3 s');
    expect(volumeLine({ provisioner: 'reactive', planned: 2, madeAhead: 0, madeReactively: 1, pvcs: 2, bound: 1, bindLagSeconds: [] }))
      .toBe('1 PersistentVolumes made reactively; 1 of 2 planned claims seen Bound (2 seen); creation→Bound p50/p95/max n/a s');
  });

  it('parseCli: the defaults, the v2 API (also as "namespaced"), and an unknown value refused instead of a silent fallback', () => {
    const d = parseCli([]);
    expect(d).toMatchObject({ batches: [1, 20, 100], api: 'legacy', mode: 'Object', breaker: 'default', provisioner: 'ahead', steadySeconds: 600, roll: false, debug: false, readyTimeoutMs: 900_000 });
    const v = parseCli(['--batches', '1,20', '--mode', 'Direct', '--breaker', 'default', '--steady', '60', '--api', 'v2', '--provisioner', 'reactive', '--timeout', '480']);
    expect(v).toMatchObject({ batches: [1, 20], api: 'v2', mode: 'Direct', provisioner: 'reactive', steadySeconds: 60, readyTimeoutMs: 480_000 });
    expect(parseCli(['--api', 'namespaced']).api).toBe('v2');
    expect(() => parseCli(['--api', 'v3'])).toThrow(/--api must be one of legacy, v2/);
    expect(() => parseCli(['--mode', 'direct'])).toThrow(/--mode/);
    expect(() => parseCli(['--provisioner', 'csi'])).toThrow(/--provisioner/);
    expect(() => parseCli(['--batches', '1,x'])).toThrow(/--batches/);
    expect(() => parseCli(['--steady', '-1'])).toThrow(/--steady/);
    expect(parseCli([]).kcmQps).toBeUndefined();
    expect(parseCli(['--kcm-qps', '100']).kcmQps).toBe(100);
    expect(() => parseCli(['--kcm-qps', '0'])).toThrow(/--kcm-qps/);
    expect(parseCli([]).fn).toBe('streambus');
    expect(parseCli(['--function', 'go-templating']).fn).toBe('go-templating');
    expect(parseCli(['--function', 'function-go-templating']).fn).toBe('go-templating');
    expect(parseCli(['--function', 'both'])).toMatchObject({ fn: 'streambus', both: true });
    expect(parseCli(['--function', 'both', '--go-first'])).toMatchObject({ both: true, goFirst: true });
    expect(() => parseCli(['--function', 'patch-and-transform'])).toThrow(/--function must be one of streambus, go-templating, both/);
  });

  it("functionFilter counts one Function's RunFunction requests in Crossplane's counter, whatever its label is called", () => {
    const text = [
      '# TYPE composition_run_function_request_total counter',
      'composition_run_function_request_total{function_name="function-go-templating",function_package="127.0.0.1:5000/crossplane-contrib/function-go-templating:v0.12.2",grpc_method="RunFunction",grpc_target="dns:///localhost:9445"} 31',
      'composition_run_function_request_total{function_name="streambus-io-function-streambus",function_package="p",grpc_method="RunFunction",grpc_target="t"} 12',
      'function_run_function_request_total{name="streambus-io-function-streambus",package="p",target="t"} 5',
    ].join('\n');
    expect(metricSum(text, '\\w*run_function_request_total', functionFilter('function-go-templating'))).toBe(31);
    expect(metricSum(text, '\\w*run_function_request_total', functionFilter('streambus-io-function-streambus'))).toBe(17);
    expect(metricSum(text, '\\w*run_function_request_total', functionFilter('function-streambus'))).toBe(0);
  });

  it('comparison: per batch the function CPU per claim and per call, the ratio (peer over ours), the steady state and the whole run', () => {
    const batch = (claims: number, calls: number, cpu: Record<string, number>, ready: number[]): BatchResult => ({
      claims,
      clustersInFlight: claims,
      times: ready.map((t, i) => ({ name: `n${i}`, example: 'minimal', synced: 1, ready: t, running: t })),
      allReadySeconds: Math.max(...ready),
      notReady: [],
      callsPerClaimUntilReady: calls,
      breakerEventsPerClaim: 60,
      breakerOpens: 0,
      responsiveFalse: {},
      composedPerXr: {},
      cpuSecondsUntilReady: cpu,
      volumes: { provisioner: 'ahead', planned: 0, madeAhead: 0, madeReactively: 0, pvcs: 0, bound: 0, bindLagSeconds: [] },
    });
    const steady = (cpu: Record<string, number>, calls: number) => ({
      seconds: 600, clusters: 21, runningAtStart: 21, runningAtEnd: 21, steady: true, callsPerClusterPerMinute: calls, breakerEventsPerClusterPerMinute: 0,
      cpuSeconds: cpu, cpuPercentOfOneCore: {}, cpuPercentPer100Clusters: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, (v / 6) * (100 / 21)])),
    });
    const base = { options: { batches: [20], api: 'legacy' as const, mode: 'Direct' as const, breaker: 'default' as const, steadySeconds: 600, roll: false, debug: false, readyTimeoutMs: 1 }, machine: 'm', bootSeconds: 1, functionPeakRssMiB: 1, rssMiB: {} };
    const ours: ScaleResult = { ...base, startedAt: 'A', batches: [batch(20, 10, { 'function-streambus': 2 }, [30, 40])], steady: steady({ 'function-streambus': 3 }, 1.5) };
    const theirs: ScaleResult = { ...base, options: { ...base.options, fn: 'go-templating' }, startedAt: 'B', batches: [batch(20, 20, { 'function-go-templating': 8 }, [35, 45])], steady: steady({ 'function-go-templating': 1.5 }, 1) };
    const md = comparison(ours, theirs);
    // 2 s over 200 calls = 10 ms; 8 s over 400 calls = 20 ms; 8/2 = 4×.
    expect(md).toContain('| 20 | 20/20 in 40 s / 20/20 in 45 s | 40 / 45 | 10 / 20 | 0.1 / 0.4 | 4× | 10 / 20 |');
    expect(md).toMatch(/function CPU 2\.38\d* % \/ 1\.19\d* % of one core per 100 clusters \(0\.5×\)/);
    // Steady calls: 1.5 × 21 × 10 min = 315 calls for 3 s, 210 calls for 1.5 s.
    expect(md).toContain('per call 9.52 / 7.14 ms');
    expect(md).toContain('5 s / 9.5 s (1.9×)');
  });
});
