/**
 * The render core: typed spec in, plain Kubernetes manifests out. Pure and deterministic: no gRPC, no clock,
 * no randomness. The Crossplane layer (src/function) wraps these as Objects or composes them raw.
 */
import { pdbEnabled, podDisruptionBudget } from './availability.js';
import { brokerConfigYaml, configMap } from './config.js';
import type { ClusterModel } from './model.js';
import { dashboards, prometheusRule, serviceMonitor, serviceMonitorEnabled } from './monitoring.js';
import { networkPolicy } from './networkpolicy.js';
import { quotaEnabled, resourceQuota } from './quota.js';
import { clientService, headlessService } from './services.js';
import { appArmorNotes, misdirectedAppArmor } from './apparmor.js';
import { statefulSet } from './statefulset.js';
import { BROKER_CONTAINER, podContainerNames } from './containers.js';
import { withAppliedRecord } from './applied.js';

export type Manifest = Record<string, unknown>;

/** A composed resource: its stable key in the Composition (the desired-resource name) and the manifest. */
export interface Composed {
  key: string;
  manifest: Manifest;
}

export function renderCluster(m: ClusterModel): Composed[] {
  const yaml = brokerConfigYaml(m);
  const out: Composed[] = [
    { key: 'config', manifest: configMap(m, yaml) },
    { key: 'headless-service', manifest: headlessService(m) },
    { key: 'client-service', manifest: clientService(m) },
    { key: 'statefulset', manifest: withAppliedRecord(statefulSet(m, yaml), m) },
    { key: 'network-policy', manifest: networkPolicy(m) },
  ];
  if (pdbEnabled(m)) out.push({ key: 'pdb', manifest: podDisruptionBudget(m) });
  if (quotaEnabled(m)) out.push({ key: 'resource-quota', manifest: resourceQuota(m) });
  if (serviceMonitorEnabled(m)) {
    out.push({ key: 'service-monitor', manifest: serviceMonitor(m) });
    out.push({ key: 'prometheus-rule', manifest: prometheusRule(m) });
    for (const d of dashboards(m)) out.push({ key: String((d.metadata as { name: string }).name).slice(m.name.length + 1), manifest: d });
  }
  return out;
}

/**
 * What the render changed from what the spec literally asked for, and why: one message per change, each starting
 * with the field (the Crossplane layer reports them as WARNING results).
 */
export function renderNotes(m: ClusterModel): string[] {
  return appArmorNotes(misdirectedAppArmor(m, podContainerNames(m.spec)), BROKER_CONTAINER);
}
