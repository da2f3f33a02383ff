/**
 * The two APIs the function serves from one render core:
 *
 *  - **Cluster** (legacy): `apiextensions.crossplane.io/v1` XRD, cluster-scoped composite `XStreamBusCluster` with the
 *    claim `StreamBusCluster`. The claim's name and namespace reach the XR as labels; composed resources are
 *    cluster-scoped provider-kubernetes Objects (`kubernetes.crossplane.io/v1alpha2`) or raw objects whose namespace
 *    the function sets; connection details go to the claim's connection Secret.
 *  - **Namespaced** (Crossplane 2): `apiextensions.crossplane.io/v2` XRD, `scope: Namespaced`, composite
 *    `StreamBusCluster` itself (the operator's kind; no claim). Everything is composed in the XR's namespace:
 *    namespaced Objects (`kubernetes.m.crossplane.io/v1alpha1`) or raw objects, and the connection details are a
 *    composed Secret `<name>-connection` (a namespaced XR has no connection Secret of its own).
 *
 * Which one a request is for is read from the XR itself: a namespaced XR has `metadata.namespace`, a legacy XR
 * never has one (it is cluster-scoped). No function-input field is needed, so one Composition input serves both.
 */
export type ApiScope = 'Cluster' | 'Namespaced';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

export function xrScope(xr: Obj): ApiScope {
  const ns = obj(xr.metadata)?.namespace;
  return typeof ns === 'string' && ns !== '' ? 'Namespaced' : 'Cluster';
}
