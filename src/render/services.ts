/**
 * The two Services: a headless one that gives each broker its stable DNS name (Raft peers dial it) and is the
 * per-broker scrape target, and a client one.
 */
import { clientSelector, dataReplicated } from './dataplane.js';
import type { ClusterModel } from './model.js';
import { CLIENT_ROLE, HEADLESS_ROLE } from './monitoring.js';

export function headlessService(m: ClusterModel): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: m.names.headlessService, namespace: m.namespace, labels: { ...m.labels, ...HEADLESS_ROLE } },
    spec: {
      clusterIP: 'None',
      // Peers must resolve each other before they are ready: readiness needs quorum, quorum needs DNS.
      publishNotReadyAddresses: true,
      selector: m.selectorLabels,
      ports: [
        { name: 'client', port: m.ports.client, targetPort: 'client', protocol: 'TCP' },
        { name: 'raft', port: m.ports.raft, targetPort: 'raft', protocol: 'TCP' },
        // The broker's HTTP port (health, admin API, /metrics), scraped per broker by the ServiceMonitor.
        { name: 'metrics', port: m.ports.http, targetPort: 'http', protocol: 'TCP' },
      ],
    },
  };
}

export function clientService(m: ClusterModel): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: m.names.clientService, namespace: m.namespace, labels: { ...m.labels, ...CLIENT_ROLE } },
    spec: {
      type: 'ClusterIP',
      // Only the data broker while the broker does not replicate (dataplane.ts): every connection reaches the broker
      // that holds every topic and message. A replicating broker gets every broker, each client pinned to one.
      selector: clientSelector(m),
      ...(dataReplicated(m) ? { sessionAffinity: 'ClientIP' } : {}),
      ports: [
        { name: 'client', port: m.ports.client, targetPort: 'client', protocol: 'TCP' },
        { name: 'http', port: m.ports.http, targetPort: 'http', protocol: 'TCP' },
      ],
    },
  };
}
