/**
 * How a rendered manifest becomes a composed resource: wrapped in a provider-kubernetes Object
 * (Object mode, the default; works on Crossplane 1 and 2 and for remote clusters) or composed raw (Direct mode,
 * Crossplane 2). One render core serves both.
 */
import type { FunctionInputSpec } from '../api/schema.js';
import type { Composed, Manifest } from './index.js';
import { OBJECT_KIND, namespacedObjectWrapper, objectWrapper, observedManifestOf } from '../k8s/object.js';
import type { ApiScope } from './identity.js';

export { NAMESPACED_OBJECT_API_VERSION, OBJECT_API_VERSION, OBJECT_KIND } from '../k8s/object.js';

export function objectName(xrName: string, key: string): string {
  return `${xrName}-${key}`;
}

export function wrap(c: Composed, xrName: string, input: FunctionInputSpec, scope: ApiScope = 'Cluster'): Manifest {
  if (input.mode === 'Direct') return c.manifest;
  if (scope === 'Namespaced') {
    // Same namespace as the XR and the wrapped object; providerConfigRef names its kind (required by the CRD).
    const namespace = (c.manifest.metadata as Record<string, unknown> | undefined)?.namespace;
    return namespacedObjectWrapper(objectName(xrName, c.key), typeof namespace === 'string' ? namespace : undefined, c.manifest, input.providerConfigKind, input.providerConfigName);
  }
  return objectWrapper(objectName(xrName, c.key), c.manifest, input.providerConfigName);
}

/**
 * The observed state of the object a composed resource stands for: in Object mode the wrapped object as the
 * provider last saw it (status.atProvider.manifest), in Direct mode the resource itself.
 */
export function observedManifest(observed: Manifest | undefined, mode: FunctionInputSpec['mode']): Manifest | undefined {
  if (!observed) return undefined;
  if (mode === 'Direct' || observed.kind !== OBJECT_KIND) return observed;
  return observedManifestOf(observed);
}
