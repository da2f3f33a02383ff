/**
 * High availability and scheduling: default spreading, the PodDisruptionBudget.
 */
import type { ClusterModel } from './model.js';

/** The user's affinity, or by default: prefer one broker per host. */
export function affinity(m: ClusterModel): Record<string, unknown> {
  if (m.spec.affinity) return m.spec.affinity;
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: m.selectorLabels }, topologyKey: 'kubernetes.io/hostname' } },
      ],
    },
  };
}

/** Without a user affinity: spread brokers evenly across zones (best effort, so single-zone clusters still schedule). */
export function topologySpread(m: ClusterModel): Record<string, unknown>[] | undefined {
  if (m.spec.affinity) return undefined;
  return [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: m.selectorLabels } }];
}

export function pdbEnabled(m: ClusterModel): boolean {
  return m.replicas > 1;
}

/**
 * At most one broker down by voluntary disruption: a Raft quorum survives drains and upgrades.
 *
 * unhealthyPodEvictionPolicy AlwaysAllow: a broker that is not Ready (crash-looping, or blocked at boot waiting for a
 * quorum) serves no client and counts for no quorum, so evicting it costs nothing; with the default
 * (IfHealthyBudget) such a pod could not be evicted while the budget is used up, and a node drain would hang on it.
 * Kubernetes recommends AlwaysAllow for this reason. A Ready broker, the data broker included, is evicted only
 * within the budget; the data broker comes back under the same name on the same volume (dataplane.ts).
 */
export function podDisruptionBudget(m: ClusterModel): Record<string, unknown> {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: m.name, namespace: m.namespace, labels: m.labels },
    spec: { maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: m.selectorLabels } },
  };
}
