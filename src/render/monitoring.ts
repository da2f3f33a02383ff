/**
 * Monitoring: ServiceMonitor, PrometheusRule and Grafana dashboards (observability.metrics).
 *
 * The ServiceMonitor scrapes every broker through the headless Service's `metrics` port. StreamBus v1.0.1's
 * /metrics is a placeholder, so the alerts rely on what Prometheus and kube-state-metrics/kubelet know anyway
 * (target up, ready replicas, volume usage, restarts); the dashboards do the same, plus broker panels that fill
 * in once the broker exports its streambus_* metrics.
 */
import type { ClusterModel } from './model.js';

export const HEADLESS_ROLE = { 'streambus.io/service': 'headless' };
export const CLIENT_ROLE = { 'streambus.io/service': 'client' };
export const GRAFANA_DASHBOARD_LABEL = 'grafana_dashboard';

export function metricsEnabled(m: ClusterModel): boolean {
  return m.spec.observability?.metrics?.enabled ?? true;
}

export function serviceMonitorEnabled(m: ClusterModel): boolean {
  return metricsEnabled(m) && !!m.spec.observability?.metrics?.serviceMonitor;
}

/** Prometheus scrape annotations for the broker pods (the user's podAnnotations take precedence). */
export function scrapeAnnotations(m: ClusterModel): Record<string, string> {
  if (!metricsEnabled(m)) return {};
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(m.ports.http), 'prometheus.io/path': '/metrics' };
}

export function serviceMonitor(m: ClusterModel): Record<string, unknown> {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: m.name, namespace: m.namespace, labels: m.labels },
    spec: {
      selector: { matchLabels: { ...m.selectorLabels, ...HEADLESS_ROLE } },
      namespaceSelector: { matchNames: [m.namespace] },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: m.spec.observability?.metrics?.interval ?? '30s', scheme: 'http' }],
    },
  };
}

export function prometheusRule(m: ClusterModel): Record<string, unknown> {
  const ns = m.namespace;
  const sts = m.names.statefulSet;
  const labels = { severity: 'critical', streambus_cluster: m.name };
  const warn = { ...labels, severity: 'warning' };
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: `${m.name}-alerts`, namespace: ns, labels: m.labels },
    spec: {
      groups: [
        {
          name: `streambus.${ns}.${m.name}`,
          rules: [
            {
              alert: 'StreamBusBrokerDown',
              expr: `up{namespace="${ns}", service="${m.names.headlessService}"} == 0`,
              for: '2m',
              labels,
              annotations: { summary: 'StreamBus broker {{ $labels.pod }} is down', description: `Prometheus cannot scrape broker {{ $labels.pod }} of ${ns}/${m.name} for 2 minutes.` },
            },
            {
              alert: 'StreamBusBrokersNotReady',
              expr: `kube_statefulset_status_replicas_ready{namespace="${ns}", statefulset="${sts}"} < kube_statefulset_replicas{namespace="${ns}", statefulset="${sts}"}`,
              for: '5m',
              labels,
              annotations: { summary: `StreamBus cluster ${ns}/${m.name} has brokers that are not ready`, description: 'Fewer brokers are ready than desired for 5 minutes; below a majority the cluster stops serving.' },
            },
            {
              alert: 'StreamBusStorageFilling',
              expr: `kubelet_volume_stats_available_bytes{namespace="${ns}", persistentvolumeclaim=~"(data|raft)-${sts}-[0-9]+"} / kubelet_volume_stats_capacity_bytes{namespace="${ns}", persistentvolumeclaim=~"(data|raft)-${sts}-[0-9]+"} < 0.15`,
              for: '10m',
              labels: warn,
              annotations: { summary: 'StreamBus volume {{ $labels.persistentvolumeclaim }} is over 85% full', description: 'Grow the volume (a new size on a StorageClass that allows expansion) or reduce retention.' },
            },
            {
              alert: 'StreamBusBrokerRestarting',
              expr: `increase(kube_pod_container_status_restarts_total{namespace="${ns}", pod=~"${sts}-[0-9]+", container="broker"}[15m]) > 2`,
              labels: warn,
              annotations: { summary: 'StreamBus broker {{ $labels.pod }} is restarting', description: 'More than 2 restarts in 15 minutes: check its logs and events.' },
            },
          ],
        },
      ],
    },
  };
}

type Panel = { title: string; expr: string; unit?: string };

function dashboard(uid: string, title: string, panels: Panel[]): string {
  const json = {
    uid,
    title,
    tags: ['streambus'],
    schemaVersion: 39,
    version: 1,
    editable: true,
    time: { from: 'now-6h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' }] },
    panels: panels.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit ?? 'short' }, overrides: [] },
      targets: [{ refId: 'A', expr: p.expr, legendFormat: '{{pod}}' }],
    })),
  };
  return JSON.stringify(json, null, 2);
}

/** Grafana dashboards as ConfigMaps labelled for the Grafana sidecar (label grafana_dashboard=1). */
export function dashboards(m: ClusterModel): Record<string, unknown>[] {
  const ns = m.namespace;
  const sts = m.names.statefulSet;
  const pod = `namespace="${ns}", pod=~"${sts}-[0-9]+"`;
  const cm = (suffix: string, file: string, json: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${m.name}-dashboard-${suffix}`, namespace: ns, labels: { ...m.labels, [GRAFANA_DASHBOARD_LABEL]: '1' } },
    data: { [file]: json },
  });
  const out = [
    cm(
      'cluster',
      `${m.name}-cluster.json`,
      dashboard(`sb-${ns}-${m.name}-cluster`.slice(0, 40), `StreamBus cluster ${ns}/${m.name}`, [
        { title: 'Brokers up', expr: `up{namespace="${ns}", service="${m.names.headlessService}"}` },
        { title: 'Ready brokers', expr: `kube_statefulset_status_replicas_ready{namespace="${ns}", statefulset="${sts}"}` },
        { title: 'CPU', expr: `sum by (pod) (rate(container_cpu_usage_seconds_total{${pod}, container="broker"}[5m]))` },
        { title: 'Memory', expr: `sum by (pod) (container_memory_working_set_bytes{${pod}, container="broker"})`, unit: 'bytes' },
        { title: 'Volume usage', expr: `kubelet_volume_stats_used_bytes{namespace="${ns}", persistentvolumeclaim=~"(data|raft)-${sts}-[0-9]+"}`, unit: 'bytes' },
        { title: 'Restarts (15m)', expr: `increase(kube_pod_container_status_restarts_total{${pod}, container="broker"}[15m])` },
        { title: 'Broker uptime (needs broker metrics)', expr: `streambus_broker_uptime_seconds{${pod}}`, unit: 's' },
      ]),
    ),
  ];
  if (m.spec.multiTenancy?.enabled) {
    out.push(
      cm(
        'tenancy',
        `${m.name}-tenancy.json`,
        dashboard(`sb-${ns}-${m.name}-tenancy`.slice(0, 40), `StreamBus tenants ${ns}/${m.name}`, [
          { title: 'Bytes/s by tenant (needs broker tenant metrics)', expr: `sum by (tenant) (rate(streambus_tenant_bytes_total{${pod}}[5m]))`, unit: 'Bps' },
          { title: 'Messages/s by tenant (needs broker tenant metrics)', expr: `sum by (tenant) (rate(streambus_tenant_messages_total{${pod}}[5m]))` },
          { title: 'Connections by tenant (needs broker tenant metrics)', expr: `sum by (tenant) (streambus_tenant_connections{${pod}})` },
          { title: 'Quota rejections by tenant (needs broker tenant metrics)', expr: `sum by (tenant) (rate(streambus_tenant_quota_exceeded_total{${pod}}[5m]))` },
        ]),
      ),
    );
  }
  return out;
}
