/**
 * Adopting running objects (moving from the StreamBus operator, docs/upgrading.md#moving-from-the-operator):
 * the XR (or claim) annotation `streambus.io/management-policies` sets provider-kubernetes' `managementPolicies` on
 * every Object the function composes, e.g. `Observe` to watch the operator's StatefulSet without changing it, then
 * `Observe,Create,Update,LateInitialize` (no `Delete`) to manage it while leaving it in place if the cluster is
 * ever deleted. Without the annotation the Objects get no managementPolicies (the provider's default, `*`).
 * Only Object mode can honour it: raw objects (Direct mode) have no management policies.
 */
export const MANAGEMENT_POLICIES_ANNOTATION = 'streambus.io/management-policies';
/** provider-kubernetes' ManagementAction enum (both Object CRDs, v1.2.1). */
export const MANAGEMENT_ACTIONS = ['Observe', 'Create', 'Update', 'Delete', 'LateInitialize', '*'] as const;

export type ManagementPolicies = { ok: true; policies?: string[] } | { ok: false; message: string };

export function managementPolicies(annotations: Record<string, unknown>): ManagementPolicies {
  const raw = annotations[MANAGEMENT_POLICIES_ANNOTATION];
  if (raw === undefined) return { ok: true };
  const field = `metadata.annotations["${MANAGEMENT_POLICIES_ANNOTATION}"]`;
  if (typeof raw !== 'string') return { ok: false, message: `${field}: must be a comma-separated list such as "Observe"` };
  const policies = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (policies.length === 0) return { ok: false, message: `${field}: is empty; give e.g. "Observe", or remove the annotation` };
  const unknown = policies.filter((p) => !(MANAGEMENT_ACTIONS as readonly string[]).includes(p));
  if (unknown.length > 0) {
    return { ok: false, message: `${field}: unknown management ${unknown.length > 1 ? 'policies' : 'policy'} ${unknown.map((p) => `"${p.slice(0, 40)}"`).join(', ')}; use ${MANAGEMENT_ACTIONS.join(', ')}` };
  }
  return { ok: true, policies: [...new Set(policies)] };
}

/** The Object with spec.managementPolicies set; anything that is not a provider-kubernetes Object is returned as is. */
export function withManagementPolicies<T extends Record<string, unknown>>(resource: T, policies: string[] | undefined): T {
  if (!policies || resource.kind !== 'Object') return resource;
  return { ...resource, spec: { ...(resource.spec as Record<string, unknown>), managementPolicies: policies } };
}
