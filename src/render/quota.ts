/**
 * ResourceQuota `<name>-quota` (multiTenancy.isolation.resourceQuotas).
 *
 * A ResourceQuota covers its whole namespace (Kubernetes cannot scope one to a label), so this caps the claim's
 * namespace at exactly what the cluster needs: pods = replicas, 2 volume claims per broker, their storage, and
 * replicas × each cpu/memory request and limit the spec sets. Only resources the broker pods declare are capped
 * (a quota on an undeclared resource would reject the pods). Meant for a namespace dedicated to the cluster.
 */
import type { ClusterModel } from './model.js';
import { formatBytes, formatCpu, parseQuantity } from '../k8s/quantity.js';
import { TLS_PROXY_RESOURCES, tlsProxy } from './tlsproxy.js';

export function quotaEnabled(m: ClusterModel): boolean {
  return !!m.spec.multiTenancy?.enabled && !!m.spec.multiTenancy.isolation?.resourceQuotas;
}

export function resourceQuota(m: ClusterModel): Record<string, unknown> {
  const n = m.replicas;
  const hard: Record<string, string> = {
    pods: String(n),
    persistentvolumeclaims: String(2 * n),
    'requests.storage': formatBytes(m.quotaStorageBytes ?? n * (parseQuantity(m.spec.storage.size)! + parseQuantity(m.spec.storage.raftSize)!)),
  };
  // The TLS sidecar (tlsproxy.ts) declares every request and limit, so it fits under whatever the broker caps.
  const sidecar = tlsProxy(m) ? TLS_PROXY_RESOURCES : undefined;
  for (const kind of ['requests', 'limits'] as const) {
    for (const [res, q] of Object.entries(m.spec.resources?.[kind] ?? {})) {
      if (res !== 'cpu' && res !== 'memory') continue;
      const v = parseQuantity(q);
      if (v === undefined) continue;
      const s = sidecar ? parseQuantity(sidecar[kind][res])! : 0;
      hard[`${kind}.${res}`] = res === 'cpu' ? formatCpu(n * (v + s)) : formatBytes(n * (v + s));
    }
  }
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: `${m.name}-quota`, namespace: m.namespace, labels: m.labels },
    spec: { hard: Object.fromEntries(Object.entries(hard).sort(([a], [b]) => a.localeCompare(b))) },
  };
}
