/**
 * The broker StatefulSet.
 *
 * Each pod derives its broker id from its ordinal (`<name>-N` → N+1) in the container's shell, reads the
 * shared broker.yaml from the ConfigMap, and keeps its data and Raft log on two volume claims.
 * Probes follow the real broker: /health/live (always 200 once HTTP is up) for liveness, the client port for
 * readiness (it opens only once the Raft group has a leader), never /health (always 503 in v1.0.1).
 */
import { createHash } from 'node:crypto';
import { misdirectedAppArmor } from './apparmor.js';
import { affinity, topologySpread } from './availability.js';
import { logLevel } from './config.js';
import { scrapeAnnotations } from './monitoring.js';
import { securityMounts } from './security.js';
import { tlsProxy, tlsProxyContainer } from './tlsproxy.js';
import { BROKER_CONTAINER, podContainerNames } from './containers.js';
import {
  BROKER_BINARY,
  BROKER_UID,
  CONFIG_DIR,
  CONFIG_FILE,
  DATA_DIR,
  RAFT_DIR,
  type ClusterModel,
} from './model.js';

/** Pod-template annotation whose change rolls the brokers when broker.yaml changes. */
export const CONFIG_HASH_ANNOTATION = 'streambus.io/config-hash';

/**
 * The container's shell command. `$(( ${POD_NAME##*-} + 1 ))`: strip everything up to the last '-' of the pod
 * name (the ordinal) and add one. `exec` makes the broker PID 1's replacement so SIGTERM reaches it.
 */
export function brokerCommand(): { command: string[]; args: string[] } {
  return {
    command: ['/bin/sh', '-c'],
    args: [`exec ${BROKER_BINARY} --config=${CONFIG_DIR}/${CONFIG_FILE} --broker-id=$(( \${POD_NAME##*-} + 1 ))`],
  };
}

export function configHash(brokerYaml: string): string {
  return createHash('sha256').update(brokerYaml).digest('hex').slice(0, 16);
}

export function statefulSet(m: ClusterModel, brokerYaml: string): Record<string, unknown> {
  const { spec } = m;
  const podLabels = { ...(spec.podLabels ?? {}), ...m.labels };
  const podAnnotations: Record<string, string> = { ...scrapeAnnotations(m), ...(spec.podAnnotations ?? {}), [CONFIG_HASH_ANNOTATION]: configHash(brokerYaml) };
  // AppArmor annotations naming a container the pod does not have move to the broker container (apparmor.ts).
  const appArmor = misdirectedAppArmor(m, podContainerNames(m.spec));
  for (const mv of appArmor) delete podAnnotations[mv.annotation];
  const secrets = securityMounts(spec);
  // With TLS, a sidecar serves the client port (tlsproxy.ts): it alone mounts the certificate and CA Secrets.
  const proxy = tlsProxy(m);
  const proxyVolumes = new Set(proxy ? ['tls', 'tls-ca'] : []);
  const brokerSecrets = secrets.filter((x) => !proxyVolumes.has((x.volume as { name: string }).name));
  const proxySecrets = secrets.filter((x) => proxyVolumes.has((x.volume as { name: string }).name));
  const claim = (name: string, size: string) => ({
    metadata: { name, labels: m.selectorLabels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(m.storageClass ? { storageClassName: m.storageClass } : {}),
      resources: { requests: { storage: size } },
    },
  });
  const container: Record<string, unknown> = {
    name: BROKER_CONTAINER,
    image: m.image,
    imagePullPolicy: spec.image.pullPolicy,
    ...brokerCommand(),
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      // The broker's internal (zap) logger reads these unprefixed variables (broker-contract.md §5).
      { name: 'LOG_LEVEL', value: logLevel(m) },
      ...(spec.observability?.logging?.format === 'text' ? [{ name: 'LOG_FORMAT', value: 'console' }] : []),
      ...tracingEnv(m),
    ],
    ports: [
      // With the TLS sidecar the broker's client listener is on 127.0.0.1 only; the sidecar declares the client port.
      ...(proxy ? [] : [{ name: 'client', containerPort: m.ports.client, protocol: 'TCP' }]),
      { name: 'http', containerPort: m.ports.http, protocol: 'TCP' },
      { name: 'raft', containerPort: m.ports.raft, protocol: 'TCP' },
    ],
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      { name: 'data', mountPath: DATA_DIR },
      { name: m.names.raftClaimTemplate, mountPath: RAFT_DIR },
      { name: 'tmp', mountPath: '/tmp' },
      ...brokerSecrets.map((x) => x.mount),
    ],
    startupProbe: { httpGet: { path: '/health/ready', port: 'http' }, periodSeconds: 5, failureThreshold: 24, timeoutSeconds: 3 },
    livenessProbe: { httpGet: { path: '/health/live', port: 'http' }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
    // Ready once the client port is open, which happens only at quorum. With the TLS sidecar the sidecar's readiness
    // probe checks the same thing through its status endpoint (the kubelet cannot reach the loopback listener).
    ...(proxy ? {} : { readinessProbe: { tcpSocket: { port: 'client' }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 } }),
    ...(spec.resources ? { resources: spec.resources } : {}),
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      ...(appArmor[0] ? { appArmorProfile: appArmor[0].profile } : {}),
    },
  };
  const spread = topologySpread(m);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: m.names.statefulSet, namespace: m.namespace, labels: m.labels },
    spec: {
      serviceName: m.names.headlessService,
      replicas: m.replicas,
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: spec.storage.deleteClaimsOnDelete
        ? { whenDeleted: 'Delete', whenScaled: 'Delete' }
        : { whenDeleted: 'Retain', whenScaled: 'Retain' },
      selector: { matchLabels: m.selectorLabels },
      template: {
        metadata: { labels: podLabels, annotations: podAnnotations },
        spec: {
          terminationGracePeriodSeconds: 60,
          securityContext: {
            runAsUser: BROKER_UID,
            runAsGroup: BROKER_UID,
            fsGroup: BROKER_UID,
            runAsNonRoot: true,
            fsGroupChangePolicy: 'OnRootMismatch',
            seccompProfile: { type: 'RuntimeDefault' },
          },
          affinity: affinity(m),
          ...(spread ? { topologySpreadConstraints: spread } : {}),
          ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
          ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
          ...(spec.priorityClassName ? { priorityClassName: spec.priorityClassName } : {}),
          ...(spec.image.pullSecrets?.length ? { imagePullSecrets: spec.image.pullSecrets.map((name) => ({ name })) } : {}),
          enableServiceLinks: false,
          // The brokers never call the Kubernetes API: no ServiceAccount token in their pods.
          automountServiceAccountToken: false,
          containers: proxy ? [container, tlsProxyContainer(m, proxy, proxySecrets.map((x) => x.mount))] : [container],
          volumes: [
            { name: 'config', configMap: { name: m.names.configMap } },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            ...secrets.map((x) => x.volume),
          ],
        },
      },
      volumeClaimTemplates: [claim('data', spec.storage.size), claim(m.names.raftClaimTemplate, spec.storage.raftSize)],
    },
  };
}

/** OpenTelemetry's standard variables, for a broker (or sidecar) that initialises tracing. */
function tracingEnv(m: ClusterModel): { name: string; value: string }[] {
  const t = m.spec.observability?.tracing;
  if (!t?.enabled || !t.endpoint) return [];
  return [
    { name: 'OTEL_SERVICE_NAME', value: `streambus-${m.name}` },
    { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: /^https?:\/\//.test(t.endpoint) ? t.endpoint : `http://${t.endpoint}` },
    { name: 'OTEL_TRACES_SAMPLER', value: 'parentbased_traceidratio' },
    { name: 'OTEL_TRACES_SAMPLER_ARG', value: String(t.samplingRate) },
  ];
}
