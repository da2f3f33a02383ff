/** The claim-scale benchmark's arithmetic (bench/scale.ts): percentiles and Prometheus text sums. Pure, no control plane. */
import { describe, expect, it } from 'vitest';
import { metricSum, percentile } from '../../bench/scale.js';

describe('bench/scale.ts helpers', () => {
  it('percentile is nearest-rank on the sorted values', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([3, 1, 2], 50)).toBe(2);
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
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
});
