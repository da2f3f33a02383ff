/** Validates a rendered manifest against the Kubernetes OpenAPI schema of its kind (kubernetes-models). */
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ResourceQuota } from 'kubernetes-models/v1';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

type Obj = Record<string, unknown>;
type Model = new (o: Obj) => { validate(): void };

const MODELS: Record<string, Model> = {
  'v1/ConfigMap': ConfigMap as unknown as Model,
  'v1/Secret': Secret as unknown as Model,
  'v1/Service': Service as unknown as Model,
  'v1/ResourceQuota': ResourceQuota as unknown as Model,
  'apps/v1/StatefulSet': StatefulSet as unknown as Model,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as Model,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as Model,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole as unknown as Model,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor as unknown as Model,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule as unknown as Model,
};

/** Throws with the schema error when the manifest is invalid; throws when no schema is known for its kind. */
export function validateManifest(m: Obj): void {
  const key = `${String(m.apiVersion)}/${String(m.kind)}`;
  const Ctor = MODELS[key];
  if (!Ctor) throw new Error(`no schema known for ${key}`);
  new Ctor(m).validate();
}
