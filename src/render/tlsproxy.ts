/**
 * TLS and mutual TLS, enforced at the pod by a TLS-terminating sidecar (ghostunnel).
 *
 * StreamBus v1.0.1's client listener is plain TCP whatever broker.yaml says (broker-contract.md §3). When
 * `spec.security.tls.enabled`, each broker pod gets a `tls-proxy` container (ghostunnel in server mode) that
 * serves the client port on all interfaces with the certificate Secret and forwards to the broker, which then
 * listens on the pod's loopback only (server.host 127.0.0.1, an internal port): nothing outside the pod reaches
 * the plaintext listener. With `clientAuthRequired` (or authentication method `mtls`) the proxy requires a client
 * certificate signed by the CA (`caSecretName`'s ca.crt, else the certificate Secret's ca.crt); otherwise it asks
 * for none.
 *
 * - Rotation: ghostunnel re-reads the certificate, key and CA bundle every `tlsProxyReloadInterval`
 *   (--timed-reload); the kubelet updates Secret volumes in place, so a renewed certificate or CA is used without
 *   a restart.
 * - Readiness: the proxy's status endpoint (/_status, plain HTTP on the `proxy-status` port) answers 200 only when
 *   it can connect to the broker's loopback client port, which the broker opens only once the Raft group has a
 *   leader. So the pod is Ready exactly when the old `tcpSocket: client` probe meant: the broker serves clients.
 * - Not covered: the Raft port (peer traffic) and the HTTP port (health, unauthenticated admin API) stay
 *   plaintext on the pod IP; the NetworkPolicy fences them (Raft: the brokers only; HTTP: brokers and pods
 *   labelled streambus.io/admin-access). The status port is in no NetworkPolicy rule, so only the node (kubelet)
 *   reaches it.
 */
import type { StreamBusClusterSpec } from '../api/schema.js';
import type { ClusterModel } from './model.js';
import { CA_DIR, TLS_DIR, tlsEnabled } from './security.js';

export { TLS_PROXY_CONTAINER } from './containers.js';
import { TLS_PROXY_CONTAINER } from './containers.js';
export const TLS_PROXY_STATUS_PORT_NAME = 'proxy-status';
export const TLS_PROXY_STATUS_PATH = '/_status';

/** Requests and limits of the sidecar: every resource a ResourceQuota may cap is declared (see quota.ts). */
export const TLS_PROXY_RESOURCES = {
  requests: { cpu: '10m', memory: '32Mi' },
  limits: { cpu: '500m', memory: '128Mi' },
} as const;

export interface TlsProxy {
  image: string;
  /** The port the broker listens on, on 127.0.0.1 only. */
  brokerPort: number;
  /** ghostunnel's status port (plain HTTP, /_status). */
  statusPort: number;
  mtls: boolean;
  caFile: string;
  reload: string;
}

/** Client certificates are required: tls.clientAuthRequired, or authentication method mtls. */
export function mtlsRequired(spec: StreamBusClusterSpec): boolean {
  const auth = spec.security?.authentication;
  return tlsEnabled(spec) && (!!spec.security?.tls?.clientAuthRequired || (!!auth?.enabled && auth.method === 'mtls'));
}

/** First port from `preferred` up that none of `taken` uses (wrapping below 65536 back to 1024). */
function freePort(preferred: number, taken: number[]): number {
  let p = preferred;
  while (taken.includes(p)) p = p >= 65535 ? 1024 : p + 1;
  return p;
}

/** The sidecar's settings, or undefined when TLS is off. */
export function tlsProxy(m: Pick<ClusterModel, 'spec' | 'input' | 'ports'>): TlsProxy | undefined {
  if (!tlsEnabled(m.spec)) return undefined;
  const taken = [m.ports.client, m.ports.http, m.ports.raft];
  const brokerPort = freePort(m.ports.client + 10000 > 65535 ? 19092 : m.ports.client + 10000, taken);
  const statusPort = freePort(m.ports.http + 1, [...taken, brokerPort]);
  return {
    image: m.input.tlsProxyImage,
    brokerPort,
    statusPort,
    mtls: mtlsRequired(m.spec),
    caFile: m.spec.security?.tls?.caSecretName ? `${CA_DIR}/ca.crt` : `${TLS_DIR}/ca.crt`,
    reload: m.input.tlsProxyReloadInterval,
  };
}

/** The sidecar container. It uses the image's entrypoint (ghostunnel) so a platform team may swap the image. */
export function tlsProxyContainer(m: ClusterModel, p: TlsProxy, mounts: Record<string, unknown>[]): Record<string, unknown> {
  return {
    name: TLS_PROXY_CONTAINER,
    image: p.image,
    imagePullPolicy: 'IfNotPresent',
    args: [
      'server',
      `--listen=0.0.0.0:${m.ports.client}`,
      `--target=127.0.0.1:${p.brokerPort}`,
      `--cert=${TLS_DIR}/tls.crt`,
      `--key=${TLS_DIR}/tls.key`,
      ...(p.mtls ? [`--cacert=${p.caFile}`, '--allow-all'] : ['--disable-authentication']),
      `--timed-reload=${p.reload}`,
      `--status=http://0.0.0.0:${p.statusPort}`,
      '--shutdown-timeout=30s',
    ],
    ports: [
      { name: 'client', containerPort: m.ports.client, protocol: 'TCP' },
      { name: TLS_PROXY_STATUS_PORT_NAME, containerPort: p.statusPort, protocol: 'TCP' },
    ],
    volumeMounts: mounts,
    // Ready only when the proxy reaches the broker's client listener, i.e. the broker is at quorum.
    readinessProbe: {
      httpGet: { path: TLS_PROXY_STATUS_PATH, port: TLS_PROXY_STATUS_PORT_NAME },
      periodSeconds: 5,
      failureThreshold: 3,
      timeoutSeconds: 3,
    },
    // Alive while it serves its status port (not /_status: a broker outage must not restart the proxy).
    livenessProbe: { tcpSocket: { port: TLS_PROXY_STATUS_PORT_NAME }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
    resources: { requests: { ...TLS_PROXY_RESOURCES.requests }, limits: { ...TLS_PROXY_RESOURCES.limits } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}
