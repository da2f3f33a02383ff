/**
 * Who an XR is: the cluster's name and namespace.
 * Legacy (v1) XRs are cluster-scoped and Crossplane does not namespace their composed resources:
 * the claim's name and namespace reach the XR as labels (and spec.claimRef), and name everything composed.
 * Namespaced XRs (Crossplane 2, apiextensions.crossplane.io/v2 XRD) have no claim: their own metadata.name and
 * metadata.namespace are the cluster's.
 *
 * The two APIs the function serves from one render core (the scope):
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
import { checkClusterName, type ClusterIdentity } from './model.js';
import { DNS1123_LABEL } from '../k8s/names.js';
import { obj, type Obj } from '../k8s/json.js';

export const CLAIM_NAME_LABEL = 'crossplane.io/claim-name';
export const CLAIM_NAMESPACE_LABEL = 'crossplane.io/claim-namespace';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export type IdentityResult = { ok: true; identity: ClusterIdentity; xrName: string } | { ok: false; message: string };

export function resolveIdentity(xr: Obj): IdentityResult {
  const meta = obj(xr.metadata) ?? {};
  const labels = obj(meta.labels) ?? {};
  const claimRef = obj(obj(xr.spec)?.claimRef) ?? {};
  const xrName = str(meta.name);
  if (!xrName) return { ok: false, message: 'metadata.name: the composite resource has no name' };
  // A namespaced XR composes only in its own namespace, whatever labels it carries.
  const own = str(meta.namespace);
  const name = own ? xrName : (str(labels[CLAIM_NAME_LABEL]) ?? str(claimRef.name) ?? xrName);
  const namespace = own ?? str(labels[CLAIM_NAMESPACE_LABEL]) ?? str(claimRef.namespace);
  if (!namespace) {
    return {
      ok: false,
      message:
        `metadata.labels["${CLAIM_NAMESPACE_LABEL}"]: cannot tell which namespace the brokers belong in; ` +
        'create a StreamBusCluster claim, or label the XR with the target namespace',
    };
  }
  const nameError = checkClusterName(name);
  if (nameError) {
    const field = !own && (str(labels[CLAIM_NAME_LABEL]) || str(claimRef.name)) ? 'claim metadata.name' : 'metadata.name';
    return { ok: false, message: `${field}: ${nameError}` };
  }
  if (!DNS1123_LABEL.test(namespace) || namespace.length > 63) {
    const field = own ? 'metadata.namespace' : `metadata.labels["${CLAIM_NAMESPACE_LABEL}"]`;
    return { ok: false, message: `${field}: "${namespace.slice(0, 80)}" is not a valid namespace name` };
  }
  return { ok: true, identity: { name, namespace }, xrName };
}

export type ApiScope = 'Cluster' | 'Namespaced';

export function xrScope(xr: Obj): ApiScope {
  const ns = obj(xr.metadata)?.namespace;
  return typeof ns === 'string' && ns !== '' ? 'Namespaced' : 'Cluster';
}
