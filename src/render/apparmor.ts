/**
 * AppArmor annotations that name a container the broker pod does not have.
 *
 * The operator's secure example sets `container.apparmor.security.beta.kubernetes.io/manager: runtime/default`
 * (the operator's own container was `manager`). The apiserver refuses a pod template whose AppArmor annotation names
 * a container that does not exist (`Invalid value: "manager": container not found`), so the StatefulSet would never
 * be created. The intent is clear — confine the workload with that profile — so the profile is moved to the broker
 * container's `securityContext.appArmorProfile` (the field that replaces the annotation since Kubernetes 1.30), the
 * annotation is dropped, and the function says so in a WARNING result (appArmorNotes). Annotations naming a real
 * container are passed through unchanged.
 */
import type { ClusterModel } from './model.js';

export const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

type Obj = Record<string, unknown>;

/** The appArmorProfile field for an annotation value (`runtime/default`, `localhost/<name>`, `unconfined`). */
export function appArmorProfile(value: string): Obj | undefined {
  if (value === 'runtime/default') return { type: 'RuntimeDefault' };
  if (value === 'unconfined') return { type: 'Unconfined' };
  if (value.startsWith('localhost/') && value.length > 'localhost/'.length) return { type: 'Localhost', localhostProfile: value.slice('localhost/'.length) };
  return undefined;
}

export interface AppArmorMove {
  /** The pod annotation that was dropped. */
  annotation: string;
  /** The container it named. */
  container: string;
  value: string;
  /** The profile set on the broker container instead. */
  profile: Obj;
}

/** AppArmor annotations of spec.podAnnotations that name none of `containers`, with a profile they map to. */
export function misdirectedAppArmor(m: ClusterModel, containers: readonly string[]): AppArmorMove[] {
  const out: AppArmorMove[] = [];
  for (const [annotation, value] of Object.entries(m.spec.podAnnotations ?? {})) {
    if (!annotation.startsWith(APPARMOR_ANNOTATION_PREFIX)) continue;
    const container = annotation.slice(APPARMOR_ANNOTATION_PREFIX.length);
    if (containers.includes(container)) continue;
    const profile = appArmorProfile(value);
    if (profile) out.push({ annotation, container, value, profile });
  }
  return out;
}

/** What the render did with misdirected AppArmor annotations, one message per annotation (for WARNING results). */
export function appArmorNotes(moves: readonly AppArmorMove[], target: string): string[] {
  return moves.map((mv, i) =>
    i === 0
      ? `spec.podAnnotations["${mv.annotation}"]: the pod has no container "${mv.container}"; its profile ${mv.value} ` +
        `is applied to the ${target} container's securityContext.appArmorProfile instead and the annotation is dropped ` +
        `(the apiserver refuses an AppArmor annotation naming a missing container)`
      : `spec.podAnnotations["${mv.annotation}"]: the pod has no container "${mv.container}"; dropped (the ${target} ` +
        `container already takes its AppArmor profile from "${moves[0]!.annotation}")`,
  );
}
