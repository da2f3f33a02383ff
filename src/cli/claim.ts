/**
 * Claim → XR, the way Crossplane's claim reconciler does it for a legacy (v1) XRD:
 * the XR is cluster-scoped, named <claim>-<5 chars>, labelled with the claim's name and namespace, carries
 * spec.claimRef, and gets the claim's spec (minus the claim-only fields). Used by the render command and to
 * keep the XR forms in examples/ in sync with their claims.
 */
import { createHash } from 'node:crypto';
import { API_GROUP, API_VERSION, CLAIM_KIND, XR_KIND } from '../api/generate.js';
import { CLAIM_NAME_LABEL, CLAIM_NAMESPACE_LABEL } from '../function/identity.js';

type Obj = Record<string, unknown>;

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

export function claimToXr(claim: Obj): Obj {
  const meta = (claim.metadata ?? {}) as Obj;
  const name = String(meta.name ?? '');
  const namespace = String(meta.namespace ?? 'default');
  const spec = { ...((claim.spec ?? {}) as Obj) };
  // Claim-only fields stay on the claim.
  const compositionRef = spec.compositionRef;
  delete spec.writeConnectionSecretToRef;
  const labels = { ...((meta.labels ?? {}) as Obj), [CLAIM_NAME_LABEL]: name, [CLAIM_NAMESPACE_LABEL]: namespace };
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: XR_KIND,
    metadata: {
      name: xrNameFor(namespace, name),
      labels,
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
    },
    spec: {
      ...spec,
      claimRef: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: CLAIM_KIND, name, namespace },
      ...(compositionRef ? { compositionRef } : {}),
    },
  };
}
