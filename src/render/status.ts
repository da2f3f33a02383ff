/**
 * The XR's status, computed from the observed StatefulSet and the model.
 *
 * Phase rules (documented in the README):
 *  - Pending   the StatefulSet has not been observed yet (nothing created so far);
 *  - Creating  the StatefulSet exists, not every broker has been ready yet, and the cluster was never Running;
 *  - Updating  the StatefulSet is rolling (updateRevision ≠ currentRevision, or its controller lags the spec);
 *  - Running   every broker is ready at the current revision;
 *  - Degraded  the cluster was up before, some brokers are not ready, but a Raft quorum of them is;
 *  - Failed    the cluster was up before and fewer than a quorum of brokers are ready.
 */
import type { StreamBusClusterStatus } from '../api/schema.js';
import { sub } from '../k8s/json.js';
import { connectionDetails } from './connection.js';
import { clientEndpoints } from './dataplane.js';
import type { ClusterModel } from './model.js';
import type { Manifest } from './index.js';
import { READINESS_RULES } from './readiness.js';
/** A count read from a live object: anyone can write there, so only a whole number 0..1,000,000 counts. */
const num = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1_000_000 ? v : 0);

export type Phase = NonNullable<StreamBusClusterStatus['phase']>;

export interface ClusterHealth {
  phase: Phase;
  readyReplicas: number;
  allReady: boolean;
}

export function quorum(replicas: number): number {
  return Math.floor(replicas / 2) + 1;
}

export function clusterHealth(m: ClusterModel, sts: Manifest | undefined, previousPhase: string | undefined): ClusterHealth {
  if (!sts) return { phase: 'Pending', readyReplicas: 0, allReady: false };
  const status = sub(sts, 'status');
  const readyReplicas = num(status.readyReplicas);
  // Ready means the cluster as planned: a live StatefulSet scaled by hand to another count is not (the next apply
  // scales it back).
  const allReady = READINESS_RULES.StatefulSet!(sts) && sub(sts, 'spec').replicas === m.replicas;
  const wasUp = previousPhase === 'Running' || previousPhase === 'Updating' || previousPhase === 'Degraded' || previousPhase === 'Failed';
  const gen = sub(sts, 'metadata').generation;
  const rolling =
    (status.updateRevision !== undefined && status.currentRevision !== status.updateRevision) ||
    (typeof gen === 'number' && typeof status.observedGeneration === 'number' && status.observedGeneration < gen);
  let phase: Phase;
  if (allReady) phase = 'Running';
  else if (!wasUp) phase = 'Creating';
  else if (readyReplicas < quorum(m.replicas)) phase = 'Failed';
  else if (rolling) phase = 'Updating';
  else phase = 'Degraded';
  return { phase, readyReplicas, allReady };
}

export function endpointsStatus(m: ClusterModel): Pick<StreamBusClusterStatus, 'endpoints' | 'bootstrapServers' | 'httpEndpoint' | 'metricsEndpoint'> {
  const d = connectionDetails(m);
  return { endpoints: clientEndpoints(m), bootstrapServers: d.bootstrapServers, httpEndpoint: d.httpEndpoint, metricsEndpoint: d.metricsEndpoint };
}
