/** Claim → XR as Crossplane's claim reconciler does it (src/cli/claim.ts). */
import { describe, expect, it } from 'vitest';
import { claimToXr, isClaim, isXr, xrNameFor } from '../../src/cli/claim.js';
import { loadYaml, EXAMPLES } from '../helpers/fixtures.js';

type Obj = Record<string, any>;

const claim = (over: Obj = {}): Obj => ({
  apiVersion: 'streambus.io/v1alpha1',
  kind: 'StreamBusCluster',
  metadata: { name: 'sb', namespace: 'ns', ...(over.metadata ?? {}) },
  spec: { replicas: 3, ...(over.spec ?? {}) },
});

describe('claimToXr', () => {
  it('makes a cluster-scoped XStreamBusCluster named <claim>-<5 chars> with claim labels and claimRef', () => {
    const xr = claimToXr(claim()) as Obj;
    expect(xr.apiVersion).toBe('streambus.io/v1alpha1');
    expect(xr.kind).toBe('XStreamBusCluster');
    expect(xr.metadata.name).toMatch(/^sb-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(xr.metadata.name).toBe(xrNameFor('ns', 'sb'));
    expect(xr.metadata.namespace).toBeUndefined();
    expect(xr.metadata.labels).toEqual({ 'crossplane.io/claim-name': 'sb', 'crossplane.io/claim-namespace': 'ns' });
    expect(xr.spec).toEqual({ replicas: 3, claimRef: { apiVersion: 'streambus.io/v1alpha1', kind: 'StreamBusCluster', name: 'sb', namespace: 'ns' } });
    expect(isXr(xr)).toBe(true);
    expect(isClaim(xr)).toBe(false);
  });

  it('is stable and distinct per namespace/name', () => {
    expect(xrNameFor('ns', 'sb')).toBe(xrNameFor('ns', 'sb'));
    expect(xrNameFor('ns', 'sb')).not.toBe(xrNameFor('other', 'sb'));
  });

  it('copies labels and annotations except the reserved kubernetes.io / k8s.io ones', () => {
    const xr = claimToXr(
      claim({
        metadata: {
          labels: { team: 'a', 'app.kubernetes.io/name': 'x', 'example.com/tier': 'gold' },
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'node.k8s.io/x': 'y', note: 'keep' },
        },
      }),
    ) as Obj;
    expect(xr.metadata.labels).toEqual({ team: 'a', 'example.com/tier': 'gold', 'crossplane.io/claim-name': 'sb', 'crossplane.io/claim-namespace': 'ns' });
    expect(xr.metadata.annotations).toEqual({ note: 'keep' });
  });

  it('keeps claim-only fields on the claim and propagates the composition selection fields', () => {
    const xr = claimToXr(
      claim({
        spec: {
          writeConnectionSecretToRef: { name: 's' },
          compositeDeletePolicy: 'Foreground',
          compositionRevisionRef: { name: 'r1' },
          compositionRef: { name: 'streambus-cluster' },
          compositionSelector: { matchLabels: { a: 'b' } },
          compositionUpdatePolicy: 'Manual',
          compositionRevisionSelector: { matchLabels: { c: 'd' } },
        },
      }),
    ) as Obj;
    expect(Object.keys(xr.spec).sort()).toEqual(
      ['claimRef', 'compositionRef', 'compositionRevisionSelector', 'compositionSelector', 'compositionUpdatePolicy', 'replicas'].sort(),
    );
  });

  it('uses the XR named in spec.resourceRef when the claim already has one', () => {
    const xr = claimToXr(claim({ spec: { resourceRef: { apiVersion: 'streambus.io/v1alpha1', kind: 'XStreamBusCluster', name: 'sb-abcde' } } })) as Obj;
    expect(xr.metadata.name).toBe('sb-abcde');
    expect(xr.spec.resourceRef).toBeUndefined();
  });

  it('puts a claim without a namespace in "default", as kubectl does', () => {
    const c = claim();
    delete c.metadata.namespace;
    expect((claimToXr(c) as Obj).metadata.labels['crossplane.io/claim-namespace']).toBe('default');
  });

  it.each(EXAMPLES)('examples/%s/xr.yaml is the XR of claim.yaml', (ex) => {
    expect(loadYaml(`examples/${ex}/xr.yaml`)).toEqual(claimToXr(loadYaml(`examples/${ex}/claim.yaml`)));
  });
});
