/**
 * provider-kubernetes' Object: the wrapper that carries one manifest (spec.forProvider.manifest, what we told it to
 * apply) and reports the object it observes (status.atProvider.manifest, the live object, which anyone with access
 * to the cluster can change). Cluster-scoped `kubernetes.crossplane.io/v1alpha2` for legacy XRs (Crossplane 1 and 2),
 * namespaced `kubernetes.m.crossplane.io/v1alpha1` for namespaced XRs (Crossplane 2, provider-kubernetes >= v1.0).
 */
import { obj, type Obj } from './json.js';

export const OBJECT_API_VERSION = 'kubernetes.crossplane.io/v1alpha2';
export const NAMESPACED_OBJECT_API_VERSION = 'kubernetes.m.crossplane.io/v1alpha1';
export const OBJECT_KIND = 'Object';


export function isObject(o: Obj | undefined): boolean {
  return (
    !!o &&
    o.kind === OBJECT_KIND &&
    typeof o.apiVersion === 'string' &&
    (o.apiVersion.startsWith('kubernetes.crossplane.io/') || o.apiVersion.startsWith('kubernetes.m.crossplane.io/'))
  );
}

export function objectWrapper(name: string, manifest: Obj, providerConfigName: string): Obj {
  return {
    apiVersion: OBJECT_API_VERSION,
    kind: OBJECT_KIND,
    metadata: { name },
    spec: { forProvider: { manifest }, providerConfigRef: { name: providerConfigName } },
  };
}

export function namespacedObjectWrapper(name: string, namespace: string | undefined, manifest: Obj, providerConfigKind: string, providerConfigName: string): Obj {
  return {
    apiVersion: NAMESPACED_OBJECT_API_VERSION,
    kind: OBJECT_KIND,
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: { forProvider: { manifest }, providerConfigRef: { kind: providerConfigKind, name: providerConfigName } },
  };
}

/** What the Object was told to apply (spec.forProvider.manifest): written by us only. */
export function appliedManifest(o: Obj | undefined): Obj | undefined {
  return obj(obj(obj(o?.spec)?.forProvider)?.manifest);
}

/** The live object as provider-kubernetes last observed it (status.atProvider.manifest). */
export function observedManifestOf(o: Obj | undefined): Obj | undefined {
  return obj(obj(obj(o?.status)?.atProvider)?.manifest);
}
