/**
 * One render core, two APIs: a legacy XR (cluster-scoped XStreamBusCluster, from a claim) and a namespaced XR
 * (Crossplane 2: the StreamBusCluster manifest itself). The namespace comes from where each API carries it, Objects
 * get the apiVersion of their scope, and a namespaced XR's connection details are a composed Secret.
 */
import { describe, expect, it } from 'vitest';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { runFunction } from '../../src/function/handler.js';
import { resolveIdentity, xrScope } from '../../src/render/identity.js';
import { NAMESPACED_OBJECT_API_VERSION, OBJECT_API_VERSION } from '../../src/render/wrap.js';
import { clone, compositionInput, EXAMPLES, exampleXr, loadYaml, request } from '../helpers/fixtures.js';

type Obj = Record<string, any>;
const namespacedXr = (ex: string) => clone(loadYaml(`examples/${ex}/claim.yaml`)) as Obj;
const fatal = (rsp: ReturnType<typeof runFunction>) => rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
const resources = (rsp: ReturnType<typeof runFunction>) =>
  Object.fromEntries(Object.entries(rsp.desired!.resources).map(([k, v]) => [k, v.resource as Obj]));
const withMode = (mode: string, extra: Obj = {}) => {
  const input = clone(compositionInput('compositions/v2/composition.yaml')) as Obj;
  return { ...input, spec: { ...input.spec, mode, ...extra } };
};
const unwrap = (o: Obj) => (o.kind === 'Object' ? o.spec.forProvider.manifest : o);

describe('the API a request is for', () => {
  it('is read from the XR: a namespace means a namespaced XR', () => {
    expect(xrScope(exampleXr('minimal'))).toBe('Cluster');
    expect(xrScope(namespacedXr('minimal'))).toBe('Namespaced');
  });

  it('a namespaced XR is its own name and namespace, whatever claim labels it carries', () => {
    const xr = namespacedXr('dev');
    xr.metadata.labels = { 'crossplane.io/claim-name': 'other', 'crossplane.io/claim-namespace': 'elsewhere' };
    expect(resolveIdentity(xr)).toEqual({ ok: true, identity: { name: 'streambus-dev', namespace: 'development' }, xrName: 'streambus-dev' });
  });

  it('a legacy XR takes them from the claim labels', () => {
    const id = resolveIdentity(exampleXr('dev'));
    expect(id.ok && id.identity).toEqual({ name: 'streambus-dev', namespace: 'development' });
  });

  it('an invalid namespace is reported on metadata.namespace for a namespaced XR', () => {
    const xr = namespacedXr('dev');
    xr.metadata.namespace = 'Not_A_Namespace';
    const rsp = runFunction(request(xr, { input: withMode('Object') }));
    expect(fatal(rsp)[0]?.message).toMatch(/^ResolveIdentity: metadata\.namespace: "Not_A_Namespace" is not a valid namespace name/);
  });
});

describe.each(EXAMPLES)('%s as a namespaced XR', (ex) => {
  it('Object mode: namespaced provider-kubernetes Objects in the XR namespace, with a ClusterProviderConfig', () => {
    const xr = namespacedXr(ex);
    const rsp = runFunction(request(xr, { input: withMode('Object') }));
    expect(fatal(rsp)).toEqual([]);
    const res = resources(rsp);
    for (const [key, o] of Object.entries(res)) {
      expect(o.apiVersion, key).toBe(NAMESPACED_OBJECT_API_VERSION);
      expect(o.kind).toBe('Object');
      expect(o.metadata).toEqual({ name: `${xr.metadata.name}-${key}`, namespace: xr.metadata.namespace });
      expect(o.spec.providerConfigRef).toEqual({ kind: 'ClusterProviderConfig', name: 'default' });
      expect(o.spec.forProvider.manifest.metadata.namespace, key).toBe(xr.metadata.namespace);
    }
  });

  it('publishes the connection details as the Secret <name>-connection, in both modes', () => {
    for (const mode of ['Object', 'Direct']) {
      const xr = namespacedXr(ex);
      const rsp = runFunction(request(xr, { input: withMode(mode) }));
      const secret = unwrap(resources(rsp)['connection-secret']!);
      expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${xr.metadata.name}-connection`, namespace: xr.metadata.namespace } });
      const bootstrap = Buffer.from(secret.data.bootstrapServers, 'base64').toString();
      expect(bootstrap).toContain(`.${xr.metadata.namespace}.svc.cluster.local:`);
    }
  });

  it('composes the same Kubernetes objects as the legacy API (plus the connection Secret)', () => {
    for (const mode of ['Object', 'Direct']) {
      const legacy = resources(runFunction(request(exampleXr(ex), { input: withMode(mode) })));
      const namespaced = resources(runFunction(request(namespacedXr(ex), { input: withMode(mode) })));
      const { 'connection-secret': secret, ...rest } = namespaced;
      expect(secret).toBeDefined();
      expect(Object.keys(rest).sort()).toEqual(Object.keys(legacy).filter((k) => k !== 'connection-secret').sort());
      for (const k of Object.keys(rest)) expect(unwrap(rest[k]!), `${mode} ${k}`).toEqual(unwrap(legacy[k]!));
    }
  });
});

describe('legacy XRs are unchanged', () => {
  it('cluster-scoped Objects, no namespace, providerConfigRef by name only, no connection Secret in Object mode', () => {
    const res = resources(runFunction(request(exampleXr('minimal'))));
    expect(res['connection-secret']).toBeUndefined();
    for (const o of Object.values(res)) {
      expect(o.apiVersion).toBe(OBJECT_API_VERSION);
      expect(o.metadata.namespace).toBeUndefined();
      expect(o.spec.providerConfigRef).toEqual({ name: 'default' });
    }
  });
});

it('a namespaced ProviderConfig can be chosen with providerConfigKind', () => {
  const res = resources(runFunction(request(namespacedXr('minimal'), { input: withMode('Object', { providerConfigKind: 'ProviderConfig', providerConfigName: 'team' }) })));
  expect(res.statefulset!.spec.providerConfigRef).toEqual({ kind: 'ProviderConfig', name: 'team' });
});
