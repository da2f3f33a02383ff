/**
 * The data path: which brokers clients are given.
 *
 * A broker that does not replicate (enforcement.ts, BROKER.replicatesData; StreamBus v1.0.1) keeps every topic and
 * message on the broker that received them, and its client uses only the first address it is given. A client
 * Service that spread connections over the brokers would let a consumer read only what happened to land on its
 * broker. So while the broker does not replicate, every client-facing address (the client Service's endpoints, the
 * connection details' bootstrapServers, status.endpoints) reaches one broker, the data broker:
 *
 *  - ordinal 0, selected by the label `statefulset.kubernetes.io/pod-name: <name>-0` that the StatefulSet controller
 *    puts on that pod. The pod name is stable for the life of the cluster: pod 0 is recreated under the same name
 *    on the same volume claims (data-<name>-0) after a crash, an eviction or a drain;
 *  - a rolling update replaces pods from the highest ordinal down, so the data broker restarts last and once;
 *  - a replica change (allowed only with the override annotation, plan.ts) adds or removes the highest ordinals,
 *    never ordinal 0, so the data path does not move.
 *
 * The other brokers keep their part in the Raft metadata group. When BROKER.replicatesData is true, every broker is
 * a data broker again and the addresses are all the brokers'.
 */
import { BROKER } from './enforcement.js';
import { podFqdn, type ClusterModel } from './model.js';

/** The pod label the StatefulSet controller sets to the pod's own name. */
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
/** The broker that holds the data while the broker does not replicate. */
export const DATA_BROKER_ORDINAL = 0;

/** Whether clients may use every broker (a replicating broker) or only the data broker. */
export function dataReplicated(_m: ClusterModel): boolean {
  return BROKER.replicatesData;
}

/** Ordinals of the brokers clients are given, in order. */
export function dataBrokerOrdinals(m: ClusterModel): number[] {
  if (!dataReplicated(m)) return [DATA_BROKER_ORDINAL];
  return Array.from({ length: m.replicas }, (_, i) => i);
}

/** The pod name of the data broker, when one broker holds all the data (undefined for a replicating broker). */
export function dataBrokerPod(m: ClusterModel): string | undefined {
  return dataReplicated(m) ? undefined : `${m.names.statefulSet}-${DATA_BROKER_ORDINAL}`;
}

/** The client Service's selector: the brokers' selector, narrowed to the data broker's pod while it alone holds data. */
export function clientSelector(m: ClusterModel): Record<string, string> {
  const pod = dataBrokerPod(m);
  return pod ? { ...m.selectorLabels, [POD_NAME_LABEL]: pod } : m.selectorLabels;
}

/** Client addresses (host:port) applications are given: the stable DNS names of the data brokers. */
export function clientEndpoints(m: ClusterModel): string[] {
  return dataBrokerOrdinals(m).map((i) => `${podFqdn(m, i)}:${m.ports.client}`);
}
