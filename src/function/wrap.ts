/**
 * How a rendered manifest becomes a composed resource: wrapped in a provider-kubernetes Object
 * (Object mode, the default; works on Crossplane 1 and 2 and for remote clusters) or composed raw (Direct mode,
 * Crossplane 2). One render core serves both.
 */
import type { FunctionInputSpec } from '../api/schema.js';
import type { Composed, Manifest } from '../render/index.js';
import type { ApiScope } from './api.js';

/** Cluster-scoped Object: legacy (cluster-scoped) XRs, Crossplane 1 and 2. */
export const OBJECT_API_VERSION = 'kubernetes.crossplane.io/v1alpha2';
/** Namespaced Object (provider-kubernetes >= v1.0): what a namespaced XR may compose (Crossplane 2). */
export const NAMESPACED_OBJECT_API_VERSION = 'kubernetes.m.crossplane.io/v1alpha1';
export const OBJECT_KIND = 'Object';

export function objectName(xrName: string, key: string): string {
  return `${xrName}-${key}`;
}

export function wrap(c: Composed, xrName: string, input: FunctionInputSpec, scope: ApiScope = 'Cluster'): Manifest {
  if (input.mode === 'Direct') return c.manifest;
  if (scope === 'Namespaced') {
    // Same namespace as the XR and the wrapped object; providerConfigRef names its kind (required by the CRD).
    const namespace = (c.manifest.metadata as Record<string, unknown> | undefined)?.namespace;
    return {
      apiVersion: NAMESPACED_OBJECT_API_VERSION,
      kind: OBJECT_KIND,
      metadata: { name: objectName(xrName, c.key), ...(typeof namespace === 'string' ? { namespace } : {}) },
      spec: {
        forProvider: { manifest: c.manifest },
        providerConfigRef: { kind: input.providerConfigKind, name: input.providerConfigName },
      },
    };
  }
  return {
    apiVersion: OBJECT_API_VERSION,
    kind: OBJECT_KIND,
    metadata: { name: objectName(xrName, c.key) },
    spec: {
      forProvider: { manifest: c.manifest },
      providerConfigRef: { name: input.providerConfigName },
    },
  };
}

/**
 * The observed state of the object a composed resource stands for: in Object mode the wrapped object as the
 * provider last saw it (status.atProvider.manifest), in Direct mode the resource itself.
 */
export function observedManifest(observed: Manifest | undefined, mode: FunctionInputSpec['mode']): Manifest | undefined {
  if (!observed) return undefined;
  if (mode === 'Direct' || observed.kind !== OBJECT_KIND) return observed;
  const status = observed.status as Record<string, unknown> | undefined;
  const atProvider = status?.atProvider as Record<string, unknown> | undefined;
  const manifest = atProvider?.manifest;
  return manifest && typeof manifest === 'object' ? (manifest as Manifest) : undefined;
}
