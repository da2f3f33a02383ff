/**
 * NetworkPolicy `<name>-brokers`: what Kubernetes can enforce where the broker cannot.
 *
 * StreamBus v1.0.1 authenticates nobody, so the network is the only fence. One policy selects the brokers
 * (policies are additive, so one policy owns every port) and admits:
 *  - Raft port:   only the cluster's own brokers;
 *  - HTTP port:   the brokers, pods labelled streambus.io/admin-access=true in the namespace, and pods so
 *                 labelled in namespaces so labelled (e.g. Prometheus) — the admin API is unauthenticated;
 *  - client port: anyone, or with multiTenancy.isolation.networkPolicies only pods of the claim's namespace and
 *                 of namespaces labelled streambus.io/client-access=true.
 * Traffic from the node (kubelet probes, kubectl port-forward) is always allowed by NetworkPolicy semantics.
 */
import type { ClusterModel } from './model.js';

export const ADMIN_ACCESS_LABEL = 'streambus.io/admin-access';
export const CLIENT_ACCESS_LABEL = 'streambus.io/client-access';

export function isolated(m: ClusterModel): boolean {
  return !!m.spec.multiTenancy?.enabled && !!m.spec.multiTenancy.isolation?.networkPolicies;
}

export function networkPolicy(m: ClusterModel): Record<string, unknown> {
  const brokers = { podSelector: { matchLabels: m.selectorLabels } };
  const port = (p: number) => ({ protocol: 'TCP', port: p });
  const clientRule = isolated(m)
    ? {
        from: [{ podSelector: {} }, { namespaceSelector: { matchLabels: { [CLIENT_ACCESS_LABEL]: 'true' } } }],
        ports: [port(m.ports.client)],
      }
    : { ports: [port(m.ports.client)] };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `${m.name}-brokers`, namespace: m.namespace, labels: m.labels },
    spec: {
      podSelector: { matchLabels: m.selectorLabels },
      policyTypes: ['Ingress'],
      ingress: [
        clientRule,
        { from: [brokers], ports: [port(m.ports.raft)] },
        {
          from: [
            brokers,
            { podSelector: { matchLabels: { [ADMIN_ACCESS_LABEL]: 'true' } } },
            {
              namespaceSelector: { matchLabels: { [ADMIN_ACCESS_LABEL]: 'true' } },
              podSelector: { matchLabels: { [ADMIN_ACCESS_LABEL]: 'true' } },
            },
          ],
          ports: [port(m.ports.http)],
        },
      ],
    },
  };
}
