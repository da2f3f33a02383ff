/**
 * Names of the containers of a broker pod, and the pod annotations that refer to a container by name
 * (AppArmor and seccomp profiles). Kubernetes refuses a pod whose annotation names a container it does not have, so
 * such annotations are refused before rendering (src/render/policy.ts) — except those `compatAnnotationHook`
 * accepts: the hook where a rename (e.g. the seed example's `.../manager` AppArmor annotation, moved onto the
 * broker container) is handled.
 */
import type { StreamBusClusterSpec } from '../api/schema.js';
import { tlsEnabled } from './security.js';

export const BROKER_CONTAINER = 'broker';
/** The TLS-terminating sidecar (tlsproxy.ts), present when spec.security.tls.enabled. */
export const TLS_PROXY_CONTAINER = 'tls-proxy';

/** The containers of every broker pod (statefulset.ts renders exactly these). */
export function podContainerNames(spec: StreamBusClusterSpec): string[] {
  return tlsEnabled(spec) ? [BROKER_CONTAINER, TLS_PROXY_CONTAINER] : [BROKER_CONTAINER];
}

export const APPARMOR_CONTAINER_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';
export const SECCOMP_CONTAINER_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';
export const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';

export interface ContainerRef {
  /** The annotation key, e.g. container.apparmor.security.beta.kubernetes.io/broker. */
  key: string;
  /** The container it names. */
  container: string;
  kind: 'apparmor' | 'seccomp';
  value: string;
}

/** Every pod annotation that names a container. */
export function podAnnotationContainerRefs(annotations: Record<string, string> | undefined): ContainerRef[] {
  const out: ContainerRef[] = [];
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (key.startsWith(APPARMOR_CONTAINER_PREFIX)) out.push({ key, container: key.slice(APPARMOR_CONTAINER_PREFIX.length), kind: 'apparmor', value });
    else if (key.startsWith(SECCOMP_CONTAINER_PREFIX)) out.push({ key, container: key.slice(SECCOMP_CONTAINER_PREFIX.length), kind: 'seccomp', value });
  }
  return out;
}

/**
 * References to a container the pod does not have that are nevertheless accepted (handled elsewhere, with a
 * WARNING): the seed's `container.apparmor.security.beta.kubernetes.io/manager`, the operator's container name.
 */
export function compatAnnotationHook(ref: ContainerRef): boolean {
  return ref.key === `${APPARMOR_CONTAINER_PREFIX}manager`;
}
