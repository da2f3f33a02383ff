/**
 * Claim → XR, the way Crossplane's claim reconciler does it for a legacy (v1) XRD
 * (internal/controller/apiextensions/claim/syncer_csa.go, identical in Crossplane 1.20 and 2.2):
 *  - the XR is cluster-scoped, of the composite kind, named after spec.resourceRef.name when the claim already
 *    has an XR, otherwise `<claim>-<5 random chars>` (here derived from the claim's namespace and name so that
 *    renders are stable);
 *  - it gets the claim's labels and annotations, minus the reserved `*kubernetes.io/*` and `*k8s.io/*` ones,
 *    plus `crossplane.io/claim-name` and `crossplane.io/claim-namespace`;
 *  - its spec is the claim's spec minus the claim-only fields (writeConnectionSecretToRef, resourceRef,
 *    compositeDeletePolicy, compositionRevisionRef); compositionRef, compositionSelector,
 *    compositionUpdatePolicy and compositionRevisionSelector are propagated;
 *  - spec.claimRef points back at the claim.
 * Used by the render command and to keep the XR forms in examples/ in sync with their claims.
 */
import { obj, type Obj } from '../k8s/json.js';
import { createHash } from 'node:crypto';
import { API_GROUP, API_VERSION, CLAIM_KIND, XR_KIND } from '../api/generate.js';
import { CLAIM_NAME_LABEL, CLAIM_NAMESPACE_LABEL } from '../render/identity.js';


/** The namespace kubectl puts a claim in when its manifest names none. */
export const DEFAULT_CLAIM_NAMESPACE = 'default';

/** Claim spec fields Crossplane keeps on the claim (xcrd.CompositeResourceClaimSpecProps minus PropagateSpecProps). */
export const CLAIM_ONLY_SPEC_FIELDS = ['writeConnectionSecretToRef', 'resourceRef', 'compositeDeletePolicy', 'compositionRevisionRef'];

/** Crossplane picks a random suffix; we derive one from the claim's namespace and name so renders are stable. */
export function xrNameFor(namespace: string, name: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(`${namespace}/${name}`).digest();
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += alphabet[digest[i]! % alphabet.length];
  return `${name}-${suffix}`;
}

export function isClaim(doc: Obj): boolean {
  return doc.apiVersion === `${API_GROUP}/${API_VERSION}` && doc.kind === CLAIM_KIND;
}

export function isXr(doc: Obj): boolean {
  return doc.apiVersion === `${API_GROUP}/${API_VERSION}` && doc.kind === XR_KIND;
}

/** Crossplane drops labels and annotations whose prefix ends in kubernetes.io or k8s.io (withoutReservedK8sEntries). */
export function withoutReservedEntries(m: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(m) ?? {})) {
    const prefix = k.split('/')[0]!;
    if (prefix.endsWith('kubernetes.io') || prefix.endsWith('k8s.io')) continue;
    out[k] = String(v);
  }
  return out;
}

export function claimToXr(claim: Obj): Obj {
  const meta = obj(claim.metadata) ?? {};
  const name = String(meta.name ?? '');
  const namespace = String(meta.namespace ?? DEFAULT_CLAIM_NAMESPACE);
  const spec: Obj = { ...(obj(claim.spec) ?? {}) };
  const resourceRef = obj(spec.resourceRef);
  for (const f of CLAIM_ONLY_SPEC_FIELDS) delete spec[f];
  const labels = { ...withoutReservedEntries(meta.labels), [CLAIM_NAME_LABEL]: name, [CLAIM_NAMESPACE_LABEL]: namespace };
  const annotations = withoutReservedEntries(meta.annotations);
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: XR_KIND,
    metadata: {
      name: typeof resourceRef?.name === 'string' && resourceRef.name !== '' ? resourceRef.name : xrNameFor(namespace, name),
      labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      ...spec,
      claimRef: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: CLAIM_KIND, name, namespace },
    },
  };
}
