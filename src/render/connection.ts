/**
 * Connection details: what an application needs to reach the cluster. Published as the claim's connection
 * Secret (XR connection details, legacy XRs) and, in Direct mode, as a composed Secret `<name>-connection`.
 */
import { clientEndpoints } from './dataplane.js';
import type { ClusterModel } from './model.js';

export interface ConnectionDetails {
  bootstrapServers: string;
  httpEndpoint: string;
  metricsEndpoint: string;
  /** PEM of the CA that signs the brokers' certificates, when TLS is on and the CA Secret was read. */
  'ca.crt'?: Buffer;
}

export function connectionDetails(m: ClusterModel, caCrt?: Buffer): ConnectionDetails {
  const svc = `${m.names.clientService}.${m.namespace}.svc.${m.clusterDomain}`;
  return {
    bootstrapServers: clientEndpoints(m).join(','),
    httpEndpoint: `http://${svc}:${m.ports.http}`,
    metricsEndpoint: `http://${svc}:${m.ports.http}/metrics`,
    ...(caCrt ? { 'ca.crt': caCrt } : {}),
  };
}

export function connectionSecret(m: ClusterModel, d: ConnectionDetails): Record<string, unknown> {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(d)) if (v !== undefined) data[k] = Buffer.from(v).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${m.name}-connection`, namespace: m.namespace, labels: m.labels },
    type: 'Opaque',
    data,
  };
}
