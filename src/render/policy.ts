/**
 * Platform policy (input.spec.policy, src/api/schema.ts PlatformPolicy) and the pod-level rules Kubernetes applies
 * to what the claim passes through to the pods, checked before planning. Returns the first refusal as
 * `<claim field>: <problem> (input.spec.policy.<policy>...)`, or undefined.
 */
import type { FunctionInputSpec, StreamBusClusterSpec } from '../api/schema.js';
import { imageRegistry, show } from '../k8s/names.js';
import { compatAnnotationHook, podAnnotationContainerRefs, podContainerNames, SECCOMP_POD_ANNOTATION } from './containers.js';
import type { ClusterIdentity } from './model.js';
import { BROKER } from './enforcement.js';

/** Profiles that confine a container: AppArmor (runtime/default, localhost/x) and seccomp (also docker/default). */
const CONFINED = /^(runtime\/default|docker\/default|localhost\/[^\s]+)$/;
const APPARMOR_VALUE = /^(runtime\/default|unconfined|localhost\/[^\s]+)$/;
const SECCOMP_VALUE = /^(runtime\/default|docker\/default|unconfined|localhost\/[^\s]+)$/;

function field(path: string, key?: string): string {
  return key === undefined ? `spec.${path}` : `spec.${path}[${JSON.stringify(key)}]`;
}

/**
 * `appliedReplicas`: the broker count the function last applied (undefined for a cluster not composed yet): the
 * replica cap applies to new clusters and to increases only, so a running cluster is never refused for what it is.
 */
export function checkPolicy(
  spec: StreamBusClusterSpec,
  platform: FunctionInputSpec,
  id: ClusterIdentity,
  _annotations: Record<string, unknown>,
  appliedReplicas?: number,
): string | undefined {
  const policy = platform.policy;

  if (policy.deniedNamespaces.includes(id.namespace)) {
    return `metadata.labels["crossplane.io/claim-namespace"]: "${id.namespace}" is a namespace no StreamBus cluster is composed into (input.spec.policy.deniedNamespaces)`;
  }

  const cap = policy.maxReplicasWithoutDataReplication;
  if (cap !== undefined && !BROKER.replicatesData && spec.replicas > cap && (appliedReplicas === undefined || spec.replicas > appliedReplicas)) {
    return (
      `spec.replicas: ${spec.replicas} brokers, more than ${cap} (input.spec.policy.maxReplicasWithoutDataReplication): ${BROKER.version} ` +
      `does not replicate data, so extra brokers add Raft metadata peers, not data capacity or a second copy; ask for at most ${cap}`
    );
  }

  const repository = spec.image.repository ?? platform.defaultImageRepository;
  if (policy.allowedImageRegistries) {
    const registry = imageRegistry(repository);
    if (!policy.allowedImageRegistries.includes(registry)) {
      const where = spec.image.repository !== undefined ? 'spec.image.repository' : 'input.spec.defaultImageRepository';
      return `${where}: registry "${registry}" of ${show(repository)} is not allowed (input.spec.policy.allowedImageRegistries: ${policy.allowedImageRegistries.join(', ')})`;
    }
  }

  const pc = spec.priorityClassName;
  if (pc !== undefined) {
    const allowed = policy.allowedPriorityClasses ? policy.allowedPriorityClasses.includes(pc) : !pc.startsWith('system-');
    if (!allowed) {
      return policy.allowedPriorityClasses
        ? `spec.priorityClassName: "${pc}" is not allowed (input.spec.policy.allowedPriorityClasses: ${policy.allowedPriorityClasses.join(', ') || 'none'})`
        : `spec.priorityClassName: "${pc}" is a system PriorityClass, reserved for cluster components (input.spec.policy.allowedPriorityClasses unset: any but system-*)`;
    }
  }

  const tolerations = spec.tolerations ?? [];
  if (tolerations.length > 0 && policy.tolerations === 'None') {
    return `spec.tolerations: claims may not add tolerations (input.spec.policy.tolerations: None)`;
  }
  if (policy.tolerations === 'Keyed') {
    for (let i = 0; i < tolerations.length; i++) {
      const key = tolerations[i]!.key;
      if (!key) return `spec.tolerations[${i}]: a toleration without a key tolerates every taint (input.spec.policy.tolerations: Keyed)`;
      if (key.startsWith('node-role.kubernetes.io/')) return `spec.tolerations[${i}].key: "${key}" would schedule brokers on control-plane nodes (input.spec.policy.tolerations: Keyed)`;
    }
  }

  const selector = spec.nodeSelector ?? {};
  if (Object.keys(selector).length > 0 && !policy.allowNodeSelector) {
    return `spec.nodeSelector: claims may not choose nodes (input.spec.policy.allowNodeSelector: false)`;
  }
  for (const k of Object.keys(selector)) {
    if (k.startsWith('node-role.kubernetes.io/')) return `${field('nodeSelector', k)}: would schedule brokers on control-plane nodes (input.spec.policy.allowNodeSelector)`;
  }

  return checkSecurityAnnotations(spec, platform);
}

/** AppArmor and seccomp annotations: Kubernetes' syntax and container names, then the platform's policy. */
function checkSecurityAnnotations(spec: StreamBusClusterSpec, platform: FunctionInputSpec): string | undefined {
  const annotations = spec.podAnnotations ?? {};
  const mode = platform.policy.securityAnnotations;
  const containers = podContainerNames(spec);
  const refs = podAnnotationContainerRefs(annotations);
  for (const ref of refs) {
    const where = field('podAnnotations', ref.key);
    if (!(ref.kind === 'apparmor' ? APPARMOR_VALUE : SECCOMP_VALUE).test(ref.value)) {
      return `${where}: ${show(ref.value)} is not a ${ref.kind === 'apparmor' ? 'AppArmor' : 'seccomp'} profile Kubernetes accepts (runtime/default, localhost/<profile>, unconfined)`;
    }
    if (!containers.includes(ref.container) && !compatAnnotationHook(ref)) {
      return `${where}: names container "${ref.container}", but the broker pods have only ${containers.map((c) => `"${c}"`).join(', ')}; Kubernetes would refuse the pods`;
    }
  }
  const pod = annotations[SECCOMP_POD_ANNOTATION];
  if (pod !== undefined && !SECCOMP_VALUE.test(pod)) {
    return `${field('podAnnotations', SECCOMP_POD_ANNOTATION)}: ${show(pod)} is not a seccomp profile Kubernetes accepts (runtime/default, localhost/<profile>, unconfined)`;
  }
  if (mode === 'Any') return undefined;
  const security = [...refs.map((r) => [r.key, r.value] as const), ...(pod !== undefined ? [[SECCOMP_POD_ANNOTATION, pod] as const] : [])];
  for (const [key, value] of security) {
    if (mode === 'None') return `${field('podAnnotations', key)}: claims may not set AppArmor or seccomp annotations (input.spec.policy.securityAnnotations: None)`;
    if (!CONFINED.test(value)) return `${field('podAnnotations', key)}: ${show(value)} does not confine the brokers (input.spec.policy.securityAnnotations: Confined)`;
  }
  return undefined;
}
