/**
 * The two Services: a headless one that gives each broker its stable DNS name (Raft peers dial it),
 * and a client one.
 */
import type { ClusterModel } from './model.js';

export function headlessService(m: ClusterModel): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: m.names.headlessService, namespace: m.namespace, labels: m.labels },
    spec: {
      clusterIP: 'None',
      // Peers must resolve each other before they are ready: readiness needs quorum, quorum needs DNS.
      publishNotReadyAddresses: true,
      selector: m.selectorLabels,
      ports: [
        { name: 'client', port: m.ports.client, targetPort: 'client', protocol: 'TCP' },
        { name: 'raft', port: m.ports.raft, targetPort: 'raft', protocol: 'TCP' },
        { name: 'http', port: m.ports.http, targetPort: 'http', protocol: 'TCP' },
      ],
    },
  };
}

export function clientService(m: ClusterModel): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: m.names.clientService, namespace: m.namespace, labels: m.labels },
    spec: {
      type: 'ClusterIP',
      selector: m.selectorLabels,
      // StreamBus v1.0.1 keeps topic metadata per broker and its client talks to one broker only:
      // pin each client to one broker (broker-contract.md §8).
      sessionAffinity: 'ClientIP',
      ports: [
        { name: 'client', port: m.ports.client, targetPort: 'client', protocol: 'TCP' },
        { name: 'http', port: m.ports.http, targetPort: 'http', protocol: 'TCP' },
      ],
    },
  };
}
