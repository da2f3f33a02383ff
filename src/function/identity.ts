/**
 * Who an XR is: the cluster's name and namespace.
 * Legacy (v1) XRs are cluster-scoped and Crossplane does not namespace their composed resources:
 * the claim's name and namespace reach the XR as labels (and spec.claimRef), and name everything composed.
 * Namespaced XRs (Crossplane 2, apiextensions.crossplane.io/v2 XRD) have no claim: their own metadata.name and
 * metadata.namespace are the cluster's (see ./api.ts).
 */
import type { ClusterIdentity } from '../render/model.js';
import { checkClusterName } from '../render/model.js';
import { DNS1123_LABEL } from '../k8s/names.js';

export const CLAIM_NAME_LABEL = 'crossplane.io/claim-name';
export const CLAIM_NAMESPACE_LABEL = 'crossplane.io/claim-namespace';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
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
