/**
 * The render core: typed spec in, plain Kubernetes manifests out. Pure and deterministic: no gRPC, no clock,
 * no randomness. The Crossplane layer (src/function) wraps these as Objects or composes them raw.
 */
import { brokerConfigYaml, configMap } from './config.js';
import type { ClusterModel } from './model.js';
import { clientService, headlessService } from './services.js';
import { statefulSet } from './statefulset.js';

export type Manifest = Record<string, unknown>;

/** A composed resource: its stable key in the Composition (the desired-resource name) and the manifest. */
export interface Composed {
  key: string;
  manifest: Manifest;
}

export function renderCluster(m: ClusterModel): Composed[] {
  const yaml = brokerConfigYaml(m);
  return [
    { key: 'config', manifest: configMap(m, yaml) },
    { key: 'headless-service', manifest: headlessService(m) },
    { key: 'client-service', manifest: clientService(m) },
    { key: 'statefulset', manifest: statefulSet(m, yaml) },
  ];
}
