/** Adoption of running objects: the streambus.io/management-policies annotation (src/render/adoption.ts). */
import { describe, expect, it } from 'vitest';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { runFunction } from '../../src/function/handler.js';
import { MANAGEMENT_POLICIES_ANNOTATION } from '../../src/render/adoption.js';
import { claimToXr } from '../../src/cli/claim.js';
import { clone, compositionInput, exampleXr, loadYaml, request } from '../helpers/fixtures.js';

type Obj = Record<string, any>;
const annotated = (xr: Obj, value: unknown) => {
  const x = clone(xr);
  x.metadata.annotations = { ...(x.metadata.annotations ?? {}), [MANAGEMENT_POLICIES_ANNOTATION]: value };
  return x;
};
const resources = (rsp: ReturnType<typeof runFunction>) => Object.values(rsp.desired!.resources).map((r) => r.resource as Obj);
const fatal = (rsp: ReturnType<typeof runFunction>) => rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL).map((r) => r.message);

describe('streambus.io/management-policies', () => {
  it('without it, Objects carry no managementPolicies (the provider default, *)', () => {
    for (const o of resources(runFunction(request(exampleXr('minimal'))))) expect(o.spec.managementPolicies).toBeUndefined();
  });

  it('Observe: every Object of a legacy XR only observes (set on the claim, it reaches the XR)', () => {
    const claim = clone(loadYaml('examples/minimal/claim.yaml')) as Obj;
    claim.metadata.annotations = { [MANAGEMENT_POLICIES_ANNOTATION]: 'Observe' };
    const rsp = runFunction(request(claimToXr(claim)));
    expect(fatal(rsp)).toEqual([]);
    for (const o of resources(rsp)) expect(o.spec.managementPolicies).toEqual(['Observe']);
  });

  it('a list without Delete, for namespaced Objects too (the wrapped objects would be left in place on deletion)', () => {
    const xr = annotated(loadYaml('examples/dev/claim.yaml'), 'Observe, Create,Update ,LateInitialize');
    const rsp = runFunction(request(xr, { input: compositionInput('compositions/v2/composition.yaml') }));
    for (const o of resources(rsp)) {
      expect(o.apiVersion).toBe('kubernetes.m.crossplane.io/v1alpha1');
      expect(o.spec.managementPolicies).toEqual(['Observe', 'Create', 'Update', 'LateInitialize']);
    }
  });

  it('an unknown policy or an empty list is refused with a FATAL result naming the annotation: nothing is applied', () => {
    expect(fatal(runFunction(request(annotated(exampleXr('minimal'), 'Observe,Adopt'))))).toEqual([
      `ResolveManagementPolicies: metadata.annotations["${MANAGEMENT_POLICIES_ANNOTATION}"]: unknown management policy "Adopt"; use Observe, Create, Update, Delete, LateInitialize, *`,
    ]);
    expect(fatal(runFunction(request(annotated(exampleXr('minimal'), ' , '))))[0]).toMatch(/is empty/);
  });

  it('Direct mode cannot honour it: a WARNING, the raw objects unchanged', () => {
    const input = compositionInput('compositions/composition-direct.yaml');
    const rsp = runFunction(request(annotated(exampleXr('minimal'), 'Observe'), { input }));
    expect(fatal(rsp)).toEqual([]);
    expect(rsp.results.find((r) => r.reason === 'ManagementPoliciesIgnored')?.severity).toBe(Severity.SEVERITY_WARNING);
    const plain = runFunction(request(exampleXr('minimal'), { input }));
    expect(resources(rsp)).toEqual(resources(plain));
  });
});
