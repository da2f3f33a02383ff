/**
 * Readiness of composed resources, one rule per kind, judged from the observed object.
 * Crossplane counts READY_UNSPECIFIED as not ready, so every composed resource gets an explicit decision.
 */
import type { Manifest } from './index.js';
import { sub } from '../k8s/json.js';

type Rule = (o: Manifest) => boolean;
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** Caught up: the controller has seen the object's current generation. */
function observedCurrentGeneration(o: Manifest): boolean {
  const gen = sub(o, 'metadata').generation;
  const seen = sub(o, 'status').observedGeneration;
  return typeof gen !== 'number' || (typeof seen === 'number' && seen >= gen);
}

export const READINESS_RULES: Record<string, Rule> = {
  /** Every replica ready, at the current revision, for the current spec (as function-auto-ready, plus generation). */
  StatefulSet: (o) => {
    const spec = sub(o, 'spec');
    const status = sub(o, 'status');
    const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
    return (
      observedCurrentGeneration(o) &&
      num(status.replicas) === want &&
      num(status.readyReplicas) === want &&
      num(status.updatedReplicas) === want &&
      (status.updateRevision === undefined || status.currentRevision === status.updateRevision)
    );
  },
  /** A ClusterIP or headless Service works once it exists; a LoadBalancer once it has an ingress. */
  Service: (o) => {
    if (sub(o, 'spec').type !== 'LoadBalancer') return true;
    const ingress = sub(sub(o, 'status'), 'loadBalancer').ingress;
    return Array.isArray(ingress) && ingress.length > 0;
  },
  ConfigMap: () => true,
  Secret: () => true,
  /** Enforced by the network plugin from the moment it exists; there is no status to wait for. */
  NetworkPolicy: () => true,
  /** The quota controller has computed usage once status.hard is filled in. */
  ResourceQuota: (o) => Object.keys(sub(sub(o, 'status'), 'hard')).length > 0,
  /** The disruption controller has evaluated the budget for the current spec. */
  PodDisruptionBudget: (o) => observedCurrentGeneration(o) && sub(o, 'status').observedGeneration !== undefined,
  /** Prometheus Operator objects carry no readiness of their own: existing is all there is. */
  ServiceMonitor: () => true,
  PrometheusRule: () => true,
  ClusterRole: () => true,
};

/** True when the observed object of the given kind is ready; false when absent or not (yet) ready. */
export function isReady(kind: string, observed: Manifest | undefined): boolean {
  if (!observed) return false;
  const rule = READINESS_RULES[kind];
  return rule ? rule(observed) : true;
}
