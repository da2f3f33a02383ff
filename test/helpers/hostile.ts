/**
 * The hostile-input catalogue: invalid or hostile RunFunction requests, each of which must get exactly one FATAL
 * result whose message names the offending field, with every previously desired resource passed through.
 * Used in-process (test/unit/hostile.test.ts) and over the real gRPC server (test/e2e/hostile.test.ts).
 */
import { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { clone, compositionInput, exampleXr, request } from './fixtures.js';
import { runFunction } from '../../src/function/handler.js';

type Obj = Record<string, any>;

/** What earlier pipeline steps (and this function, last time) desired: must survive every refusal. */
export const PREVIOUS_DESIRED: Record<string, Obj> = {
  statefulset: {
    apiVersion: 'kubernetes.crossplane.io/v1alpha2',
    kind: 'Object',
    metadata: { name: 'streambus-production-wml6q-statefulset' },
    spec: { forProvider: { manifest: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'kept', namespace: 'production' } } } },
  },
  'earlier-step-bucket': { apiVersion: 's3.aws.upbound.io/v1beta1', kind: 'Bucket', metadata: { name: 'from-an-earlier-step' }, spec: { forProvider: { region: 'eu-west-1' } } },
};

export interface HostileCase {
  name: string;
  /** Builds the request (a fresh one each call). */
  build: () => RunFunctionRequest;
  /** The pipeline step and field the FATAL message must start with / name. */
  step: string;
  field: string | RegExp;
  /**
   * How the case travels over gRPC: `same` (identical refusal), `skip` (cannot be encoded: in-process only, e.g.
   * a Date or a non-object XR; protobuf Structs carry only JSON objects).
   */
  wire?: 'same' | 'skip';
}

const base = () => clone(exampleXr('production')) as Obj;
const req = (xr: unknown, input: unknown = compositionInput()) => {
  const r = request({}, { desired: PREVIOUS_DESIRED, input: input as Obj, tag: 'hostile' });
  (r.observed!.composite as Obj).resource = xr;
  r.input = input as Obj;
  return r;
};
/** A request for the production example with `patch` applied to its XR. */
const xrCase = (patch: (xr: Obj) => void) => () => {
  const x = base();
  patch(x);
  return req(x);
};
const specCase = (patch: (s: Obj) => void) => xrCase((x) => patch(x.spec));
const inputCase = (patch: (i: Obj) => void) => () => {
  const i = clone(compositionInput()) as Obj;
  patch(i);
  return req(base(), i);
};
/**
 * A running production cluster (observed: what the function rendered for the unchanged XR, in `mode`), with
 * `observe` applied to the observed composed resources and `patch` to the XR: hostile observed state.
 */
const runningCase =
  (observe: (o: Record<string, Obj>) => void, patch: (x: Obj) => void = () => {}, mode: 'Object' | 'Direct' = 'Object', switchTo?: 'Object' | 'Direct') =>
  () => {
    const input = clone(compositionInput()) as Obj;
    input.spec.mode = mode;
    const first = runFunction(request(base(), { input }));
    const observed: Record<string, Obj> = {};
    for (const [k, v] of Object.entries(first.desired!.resources)) observed[k] = clone(v.resource as Obj);
    observe(observed);
    const x = base();
    x.status = { phase: 'Running' };
    patch(x);
    if (switchTo) input.spec.mode = switchTo;
    const r = req(x, input);
    r.observed!.resources = Object.fromEntries(Object.entries(observed).map(([k, v]) => [k, { resource: v, connectionDetails: {}, ready: 0 }]));
    return r;
  };
const stsManifest = (o: Record<string, Obj>) => (o.statefulset!.kind === 'Object' ? o.statefulset!.spec.forProvider.manifest : o.statefulset!);
const policyCase = (policy: Obj, patch: (s: Obj) => void = () => {}) => () => {
  const i = clone(compositionInput()) as Obj;
  i.spec.policy = policy;
  const x = base();
  patch(x.spec);
  return req(x, i);
};

const nested = (depth: number, leaf: unknown = 'x'): Obj => {
  let o: any = leaf;
  for (let i = 0; i < depth; i++) o = { a: o };
  return o;
};

export const HOSTILE: HostileCase[] = [
  // ---- issue 14: what Kubernetes would refuse later, refused first (FATAL naming the field)
  { name: 'toleration value that is not a label value', build: specCase((s) => (s.tolerations[0].value = 'stream bus')), step: 'ValidateSpec', field: 'spec.tolerations[0].value' },
  { name: 'resource name Kubernetes does not allow', build: specCase((s) => (s.resources.requests.gpu = '1')), step: 'ValidateSpec', field: 'spec.resources.requests.gpu' },
  { name: 'a resource named constructor', build: specCase((s) => (s.resources.requests = { constructor: '1' })), step: 'ValidateSpec', field: 'spec.resources.requests.constructor' },
  { name: 'a limit named toString', build: specCase((s) => (s.resources.limits = { toString: '1' })), step: 'ValidateSpec', field: 'spec.resources.limits.toString' },
  {
    name: 'fractional extended resource',
    build: specCase((s) => { s.resources.requests['nvidia.com/gpu'] = '500m'; s.resources.limits['nvidia.com/gpu'] = '500m'; }),
    step: 'ValidateSpec',
    field: 'spec.resources.requests["nvidia.com/gpu"]',
  },
  { name: 'overcommitted extended resource', build: specCase((s) => (s.resources.requests['nvidia.com/gpu'] = '1')), step: 'ValidateSpec', field: 'spec.resources.limits["nvidia.com/gpu"]' },
  { name: 'memory written 1GB', build: specCase((s) => (s.resources.limits.memory = '1GB')), step: 'ValidateSpec', field: 'spec.resources.limits.memory' },
  { name: 'cpu as a fractional number', build: specCase((s) => (s.resources.requests.cpu = 0.5)), step: 'ValidateSpec', field: 'spec.resources.requests.cpu' },
  { name: 'image repository that does not parse', build: specCase((s) => (s.image.repository = 'registry.io//broker')), step: 'ValidateSpec', field: 'spec.image.repository' },
  { name: 'image repository with a tag in it', build: specCase((s) => (s.image.repository = 'streambus/broker:v1:v2')), step: 'ValidateSpec', field: 'spec.image.repository' },
  { name: 'control character in the tracing endpoint (an env var)', build: specCase((s) => (s.observability.tracing = { enabled: true, endpoint: 'otel:4317\u0007' })), step: 'ValidateSpec', field: 'spec.observability.tracing.endpoint' },
  { name: 'newline in the tracing endpoint', build: specCase((s) => (s.observability.tracing = { enabled: true, endpoint: 'otel:4317\nOTEL_X=1' })), step: 'ValidateSpec', field: 'spec.observability.tracing.endpoint' },
  { name: 'non-ASCII pod label value', build: specCase((s) => (s.podLabels.team = 'équipe')), step: 'ValidateSpec', field: 'spec.podLabels.team' },
  {
    name: 'AppArmor annotation naming a container the pod does not have',
    build: specCase((s) => (s.podAnnotations['container.apparmor.security.beta.kubernetes.io/sidecar'] = 'runtime/default')),
    step: 'ApplyPlatformPolicy',
    field: 'spec.podAnnotations["container.apparmor.security.beta.kubernetes.io/sidecar"]',
  },
  {
    name: 'seccomp annotation with a profile Kubernetes does not know',
    build: specCase((s) => (s.podAnnotations['seccomp.security.alpha.kubernetes.io/pod'] = 'permissive')),
    step: 'ApplyPlatformPolicy',
    field: 'spec.podAnnotations["seccomp.security.alpha.kubernetes.io/pod"]',
  },

  // ---- issue 14: platform policy (input.spec.policy; the defaults unless set)
  { name: 'priorityClassName system-node-critical', build: specCase((s) => (s.priorityClassName = 'system-node-critical')), step: 'ApplyPlatformPolicy', field: /^spec\.priorityClassName: .*allowedPriorityClasses/ },
  { name: 'a toleration of every taint', build: specCase((s) => s.tolerations.push({ operator: 'Exists' })), step: 'ApplyPlatformPolicy', field: /^spec\.tolerations\[1\]: .*policy\.tolerations: Keyed/ },
  { name: 'a toleration of the control plane', build: specCase((s) => s.tolerations.push({ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' })), step: 'ApplyPlatformPolicy', field: 'spec.tolerations[1].key' },
  {
    name: 'AppArmor unconfined',
    build: specCase((s) => (s.podAnnotations['container.apparmor.security.beta.kubernetes.io/broker'] = 'unconfined')),
    step: 'ApplyPlatformPolicy',
    field: /^spec\.podAnnotations\["container\.apparmor\.security\.beta\.kubernetes\.io\/broker"\]: .*securityAnnotations: Confined/,
  },
  { name: 'seccomp unconfined', build: specCase((s) => (s.podAnnotations['seccomp.security.alpha.kubernetes.io/pod'] = 'unconfined')), step: 'ApplyPlatformPolicy', field: /securityAnnotations: Confined/ },
  { name: 'XR labelled with namespace kube-system', build: xrCase((x) => (x.metadata.labels['crossplane.io/claim-namespace'] = 'kube-system')), step: 'ApplyPlatformPolicy', field: /deniedNamespaces/ },
  { name: 'XR labelled with namespace crossplane-system', build: xrCase((x) => (x.metadata.labels['crossplane.io/claim-namespace'] = 'crossplane-system')), step: 'ApplyPlatformPolicy', field: /crossplane-system.*deniedNamespaces/ },
  { name: 'registry outside the allowed ones', build: policyCase({ allowedImageRegistries: ['ghcr.io'] }), step: 'ApplyPlatformPolicy', field: /^spec\.image\.repository: registry "docker\.io".*allowedImageRegistries/ },
  { name: 'priority class outside the allowed ones', build: policyCase({ allowedPriorityClasses: ['streaming'] }, (s) => (s.priorityClassName = 'batch')), step: 'ApplyPlatformPolicy', field: /^spec\.priorityClassName: "batch" is not allowed/ },
  { name: 'tolerations when the policy allows none', build: policyCase({ tolerations: 'None' }), step: 'ApplyPlatformPolicy', field: /^spec\.tolerations: .*tolerations: None/ },
  { name: 'node selector when the policy allows none', build: policyCase({ allowNodeSelector: false }), step: 'ApplyPlatformPolicy', field: /^spec\.nodeSelector: .*allowNodeSelector: false/ },

  // ---- issue 14: hostile observed state of a running cluster
  {
    name: 'applied replicas NaN in the Object',
    build: runningCase((o) => (stsManifest(o).spec.replicas = NaN)),
    step: 'PlanDay2Changes',
    field: /^spec\.replicas: .*holds NaN, outside/,
  },
  { name: 'applied replicas 100000 in the Object', build: runningCase((o) => (stsManifest(o).spec.replicas = 100_000)), step: 'PlanDay2Changes', field: /^spec\.replicas: .*holds 100000/ },
  { name: 'applied replicas 0 in the Object', build: runningCase((o) => (stsManifest(o).spec.replicas = 0)), step: 'PlanDay2Changes', field: /^spec\.replicas: .*holds 0/ },
  { name: 'applied replicas 2.5 in the Object', build: runningCase((o) => (stsManifest(o).spec.replicas = 2.5)), step: 'PlanDay2Changes', field: /^spec\.replicas: .*holds 2\.5/ },
  {
    name: 'applied replica record forged in Direct mode',
    build: runningCase((o) => (stsManifest(o).metadata.annotations['streambus.io/applied'] = '{"replicas":1000000,"raftPort":9093}'), () => {}, 'Direct'),
    step: 'PlanDay2Changes',
    field: /^spec\.replicas: .*annotation holds 1000000/,
  },
  { name: 'a running Object cluster switched to Direct', build: runningCase(() => {}, () => {}, 'Object', 'Direct'), step: 'PlanDay2Changes', field: /^input\.spec\.mode: this running cluster is composed in Object mode/ },
  { name: 'a running Direct cluster switched to Object', build: runningCase(() => {}, () => {}, 'Direct', 'Object'), step: 'PlanDay2Changes', field: /^input\.spec\.mode: this running cluster is composed in Direct mode/ },
  {
    name: 'kept Raft port 9093 with config.port moved to 9093',
    build: runningCase(() => {}, (x) => (x.spec.config = { ...x.spec.config, port: 9093, grpcPort: 9500 })),
    step: 'PlanDay2Changes',
    field: /^spec\.config\.port: 9093 is the Raft port the running cluster keeps \(spec\.config\.grpcPort cannot change\)/,
  },
  {
    name: 'the observed statefulset is a Deployment',
    build: runningCase((o) => (o.statefulset = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } })),
    step: 'ReadAppliedState',
    field: /^resources\.statefulset: /,
  },

  // ---- the request itself
  { name: 'empty request', build: () => RunFunctionRequest.fromPartial({}), step: 'ReadCompositeResource', field: /observed composite resource/ },
  {
    name: 'no observed composite',
    build: () => RunFunctionRequest.fromPartial({ meta: { tag: 't' }, desired: { resources: Object.fromEntries(Object.entries(PREVIOUS_DESIRED).map(([k, v]) => [k, { resource: v }])) } }),
    step: 'ReadCompositeResource',
    field: /observed composite resource/,
  },
  { name: 'XR resource is an array', build: () => req([1, 2, 3]), step: 'ReadCompositeResource', field: /observed composite resource/, wire: 'skip' },
  { name: 'XR resource is a string', build: () => req('apiVersion: v1'), step: 'ReadCompositeResource', field: /observed composite resource/, wire: 'skip' },
  { name: 'XR without metadata', build: xrCase((x) => delete x.metadata), step: 'ResolveIdentity', field: 'metadata.name' },
  { name: 'XR name is a number', build: xrCase((x) => (x.metadata.name = 42)), step: 'ResolveIdentity', field: 'metadata.name' },
  { name: 'XR metadata is a string', build: xrCase((x) => (x.metadata = 'name: x')), step: 'ResolveIdentity', field: 'metadata.name' },
  { name: 'XR name with upper case and a space', build: xrCase((x) => (x.metadata.name = 'My Cluster')), step: 'ResolveIdentity', field: 'metadata.name' },
  { name: 'XR name too long for <xr>-<resource> Object names', build: xrCase((x) => (x.metadata.name = `x${'a'.repeat(239)}`)), step: 'ResolveIdentity', field: 'metadata.name' },
  { name: 'XR metadata.generation is NaN', build: xrCase((x) => (x.metadata.generation = NaN)), step: 'ReadCompositeResource', field: 'metadata.generation' },

  // ---- identity: names that break DNS-1123/1035 limits once suffixed
  {
    name: 'no claim namespace anywhere',
    build: xrCase((x) => {
      delete x.metadata.labels;
      delete x.spec.claimRef;
    }),
    step: 'ResolveIdentity',
    field: 'metadata.labels["crossplane.io/claim-namespace"]',
  },
  { name: 'claim namespace with upper case', build: xrCase((x) => (x.metadata.labels['crossplane.io/claim-namespace'] = 'Production')), step: 'ResolveIdentity', field: 'crossplane.io/claim-namespace' },
  { name: 'claim namespace of 64 characters', build: xrCase((x) => (x.metadata.labels['crossplane.io/claim-namespace'] = 'n'.repeat(64))), step: 'ResolveIdentity', field: 'crossplane.io/claim-namespace' },
  { name: 'claim name of 53 characters (pod labels overflow once suffixed)', build: xrCase((x) => (x.metadata.labels['crossplane.io/claim-name'] = `s${'b'.repeat(52)}`)), step: 'ResolveIdentity', field: 'claim metadata.name' },
  { name: 'claim name with upper case', build: xrCase((x) => (x.metadata.labels['crossplane.io/claim-name'] = 'StreamBus')), step: 'ResolveIdentity', field: 'claim metadata.name' },
  { name: 'claim name starting with a digit (not a DNS-1035 Service name)', build: xrCase((x) => (x.metadata.labels['crossplane.io/claim-name'] = '1bus')), step: 'ResolveIdentity', field: 'claim metadata.name' },
  { name: 'claim name with a dot', build: xrCase((x) => (x.metadata.labels['crossplane.io/claim-name'] = 'stream.bus')), step: 'ResolveIdentity', field: 'claim metadata.name' },

  // ---- spec of the wrong type
  { name: 'spec is a string', build: xrCase((x) => (x.spec = 'replicas: 3')), step: 'ValidateSpec', field: /^spec: expected object, got string/ },
  { name: 'spec is an array', build: xrCase((x) => (x.spec = [{ replicas: 3 }])), step: 'ValidateSpec', field: /^spec: expected object, got array/ },
  { name: 'spec is null', build: xrCase((x) => (x.spec = null)), step: 'ValidateSpec', field: /^spec: expected object, got null/ },
  { name: 'spec is a number', build: xrCase((x) => (x.spec = 3)), step: 'ValidateSpec', field: /^spec: expected object, got number/ },

  // ---- replicas
  { name: 'negative replicas', build: specCase((s) => (s.replicas = -3)), step: 'ValidateSpec', field: 'spec.replicas' },
  { name: 'zero replicas', build: specCase((s) => (s.replicas = 0)), step: 'ValidateSpec', field: 'spec.replicas' },
  { name: 'huge replicas', build: specCase((s) => (s.replicas = 1e12)), step: 'ValidateSpec', field: 'spec.replicas' },
  { name: 'fractional replicas', build: specCase((s) => (s.replicas = 2.5)), step: 'ValidateSpec', field: 'spec.replicas' },
  { name: 'replicas as a string', build: specCase((s) => (s.replicas = '3')), step: 'ValidateSpec', field: 'spec.replicas' },
  { name: 'replicas as a boolean', build: specCase((s) => (s.replicas = true)), step: 'ValidateSpec', field: 'spec.replicas' },
  { name: 'replicas null', build: specCase((s) => (s.replicas = null)), step: 'ValidateSpec', field: 'spec.replicas' },
  { name: 'replicas NaN', build: specCase((s) => (s.replicas = NaN)), step: 'ValidateSpec', field: 'spec.replicas' },
  { name: 'replicas Infinity', build: specCase((s) => (s.replicas = Infinity)), step: 'ValidateSpec', field: 'spec.replicas' },
  { name: 'replicas -Infinity', build: specCase((s) => (s.replicas = -Infinity)), step: 'ValidateSpec', field: 'spec.replicas' },

  // ---- config, ports and enums
  { name: 'port 0', build: specCase((s) => (s.config.port = 0)), step: 'ValidateSpec', field: 'spec.config.port' },
  { name: 'port 70000', build: specCase((s) => (s.config.port = 70000)), step: 'ValidateSpec', field: 'spec.config.port' },
  { name: 'httpPort as a string', build: specCase((s) => (s.config.httpPort = '8081')), step: 'ValidateSpec', field: 'spec.config.httpPort' },
  { name: 'unknown log level', build: specCase((s) => (s.config.logLevel = 'verbose')), step: 'ValidateSpec', field: 'spec.config.logLevel' },
  { name: 'config is a string', build: specCase((s) => (s.config = 'logLevel=debug')), step: 'ValidateSpec', field: 'spec.config' },
  { name: 'unknown pull policy', build: specCase((s) => (s.image.pullPolicy = 'Sometimes')), step: 'ValidateSpec', field: 'spec.image.pullPolicy' },
  { name: 'unknown authentication method', build: specCase((s) => (s.security.authentication.method = 'kerberos')), step: 'ValidateSpec', field: 'spec.security.authentication.method' },
  { name: 'unknown log format', build: specCase((s) => (s.observability.logging.format = 'xml')), step: 'ValidateSpec', field: 'spec.observability.logging.format' },
  { name: 'sampling rate above 1', build: specCase((s) => (s.observability.tracing.samplingRate = 2)), step: 'ValidateSpec', field: 'spec.observability.tracing.samplingRate' },
  { name: 'tenant id starting with "-"', build: specCase((s) => (s.multiTenancy.tenantOverrides = [{ tenantId: '-evil', quotas: {} }])), step: 'ValidateSpec', field: 'spec.multiTenancy.tenantOverrides[0].tenantId' },

  // ---- image: injection through the image reference
  { name: 'image repository with a shell injection', build: specCase((s) => (s.image.repository = 'evil.io/x; rm -rf /')), step: 'ValidateSpec', field: 'spec.image.repository' },
  { name: 'image tag with a YAML injection', build: specCase((s) => (s.image.tag = 'v1\nsecurityContext: {privileged: true}')), step: 'ValidateSpec', field: 'spec.image.tag' },
  { name: 'version of 200 characters', build: specCase((s) => (s.version = 'v'.repeat(200))), step: 'ValidateSpec', field: 'spec.version' },
  { name: 'pull secret that is not a Secret name', build: specCase((s) => (s.image.pullSecrets = ['Bad_Name'])), step: 'ValidateSpec', field: 'spec.image.pullSecrets[0]' },

  // ---- storage and quantities
  { name: 'negative storage size', build: specCase((s) => (s.storage.size = '-5Gi')), step: 'ValidateSpec', field: 'spec.storage.size' },
  { name: 'storage size that is not a quantity', build: specCase((s) => (s.storage.size = 'lots')), step: 'ValidateSpec', field: 'spec.storage.size' },
  { name: 'storage size as a number', build: specCase((s) => (s.storage.raftSize = 10)), step: 'ValidateSpec', field: 'spec.storage.raftSize' },
  { name: 'StorageClass with upper case', build: specCase((s) => (s.storage.class = 'Fast_SSD')), step: 'ValidateSpec', field: 'spec.storage.class' },
  { name: 'cpu request that is a word', build: specCase((s) => (s.resources.requests.cpu = 'lots')), step: 'ValidateSpec', field: 'spec.resources.requests.cpu' },
  { name: 'cpu request with two decimal points', build: specCase((s) => (s.resources.requests.cpu = '1.2.3')), step: 'ValidateSpec', field: 'spec.resources.requests.cpu' },
  { name: 'memory limit with a misplaced suffix', build: specCase((s) => (s.resources.limits.memory = '8Gi5')), step: 'ValidateSpec', field: 'spec.resources.limits.memory' },
  { name: 'negative memory limit string', build: specCase((s) => (s.resources.limits.memory = '-1Gi')), step: 'ValidateSpec', field: 'spec.resources.limits.memory' },
  { name: 'negative memory request number', build: specCase((s) => (s.resources.requests.memory = -1)), step: 'ValidateSpec', field: 'spec.resources.requests.memory' },
  { name: 'cpu limit Infinity', build: specCase((s) => (s.resources.limits.cpu = Infinity)), step: 'ValidateSpec', field: 'spec.resources.limits.cpu' },
  { name: 'resource name with a space', build: specCase((s) => (s.resources.requests['nvidia gpu'] = '1')), step: 'ValidateSpec', field: 'spec.resources.requests["nvidia gpu"]' },

  // ---- label and annotation injection
  { name: 'pod label key with a space', build: specCase((s) => (s.podLabels['team name'] = 'x')), step: 'ValidateSpec', field: 'spec.podLabels["team name"]' },
  { name: 'pod label value with a YAML injection', build: specCase((s) => (s.podLabels.team = 'a\nprivileged: true')), step: 'ValidateSpec', field: 'spec.podLabels.team' },
  { name: 'pod label value of 64 characters', build: specCase((s) => (s.podLabels.team = 'p'.repeat(64))), step: 'ValidateSpec', field: 'spec.podLabels.team' },
  { name: 'pod label value that is a number', build: specCase((s) => (s.podLabels.team = 7)), step: 'ValidateSpec', field: 'spec.podLabels.team' },
  { name: 'pod label key with an upper-case prefix', build: specCase((s) => (s.podLabels['Example.COM/team'] = 'x')), step: 'ValidateSpec', field: 'spec.podLabels["Example.COM/team"]' },
  { name: 'pod annotation key with two slashes', build: specCase((s) => (s.podAnnotations['a/b/c'] = 'x')), step: 'ValidateSpec', field: 'spec.podAnnotations["a/b/c"]' },
  { name: 'pod annotations over 256 KiB', build: specCase((s) => (s.podAnnotations.blob = 'x'.repeat(300 * 1024))), step: 'ValidateSpec', field: 'spec.podAnnotations' },
  { name: 'node selector value with a space', build: specCase((s) => (s.nodeSelector.workload = 'stream ing')), step: 'ValidateSpec', field: 'spec.nodeSelector.workload' },
  { name: 'toleration key with a "!"', build: specCase((s) => (s.tolerations[0].key = 'dedicated!')), step: 'ValidateSpec', field: 'spec.tolerations[0].key' },
  { name: 'tolerations is an object', build: specCase((s) => (s.tolerations = { key: 'x' })), step: 'ValidateSpec', field: 'spec.tolerations' },

  // ---- structure: depth, size, NaN, prototype pollution, non-JSON values
  { name: 'affinity nested 200 levels deep', build: specCase((s) => (s.affinity = nested(200))), step: 'ValidateSpec', field: /^spec\.affinity\.a\.a/, wire: 'skip' },
  { name: 'affinity nested 70 levels deep', build: specCase((s) => (s.affinity = nested(70))), step: 'ValidateSpec', field: /^spec\.affinity\.a\.a/ },
  { name: '3 MiB spec (one string)', build: specCase((s) => (s.affinity = { blob: 'x'.repeat(3 * 1024 * 1024) })), step: 'ValidateSpec', field: 'spec.affinity' },
  {
    name: '2 MiB spec (100,000 small keys)',
    build: specCase((s) => (s.affinity = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key${i}`, 'vvvvvvvv'])))),
    step: 'ValidateSpec',
    field: 'spec.affinity',
  },
  { name: 'NaN deep inside affinity', build: specCase((s) => (s.affinity.nodeAffinity.weight = NaN)), step: 'ValidateSpec', field: 'spec.affinity.nodeAffinity.weight' },
  { name: '__proto__ key in spec (JSON)', build: specCase((s) => Object.assign(s, JSON.parse('{"__proto__": {"replicas": 99}}'))), step: 'ValidateSpec', field: 'spec["__proto__"]', wire: 'skip' },
  { name: '__proto__ key in podLabels (JSON)', build: specCase((s) => (s.podLabels = JSON.parse('{"__proto__": {"polluted": "yes"}, "team": "a"}'))), step: 'ValidateSpec', field: 'spec.podLabels["__proto__"]', wire: 'skip' },
  { name: 'prototype swapped on spec.config', build: specCase((s) => Object.setPrototypeOf(s.config, { port: 1 })), step: 'ValidateSpec', field: 'spec.config["__proto__"]', wire: 'skip' },
  { name: 'constructor.prototype key in podLabels', build: specCase((s) => (s.podLabels = JSON.parse('{"constructor": {"prototype": {"polluted": "yes"}}}'))), step: 'ValidateSpec', field: "spec.podLabels.constructor" },
  { name: 'a Date in the spec', build: specCase((s) => (s.podAnnotations.when = new Date(0))), step: 'ValidateSpec', field: 'spec.podAnnotations.when', wire: 'skip' },
  { name: 'a function in the spec', build: specCase((s) => (s.config.port = () => 9092)), step: 'ValidateSpec', field: 'spec.config.port', wire: 'skip' },

  // ---- function input
  { name: 'input is a string', build: () => req(base(), 'mode: Direct'), step: 'ValidateInput', field: /^input: expected object/, wire: 'skip' },
  { name: 'input is an array', build: () => req(base(), [{ spec: {} }]), step: 'ValidateInput', field: /^input: expected object/, wire: 'skip' },
  { name: 'unknown input mode', build: inputCase((i) => (i.spec.mode = 'Sideways')), step: 'ValidateInput', field: 'input.spec.mode' },
  { name: 'cluster domain with upper case', build: inputCase((i) => (i.spec.clusterDomain = 'Cluster.Local')), step: 'ValidateInput', field: 'input.spec.clusterDomain' },
  { name: 'wrong input apiVersion', build: inputCase((i) => (i.apiVersion = 'streambus.fn.crossplane.io/v9')), step: 'ValidateInput', field: 'input.apiVersion' },
  { name: 'input spec is a number', build: inputCase((i) => (i.spec = 5)), step: 'ValidateInput', field: 'input.spec' },
  { name: 'NaN in the input', build: inputCase((i) => (i.spec.extra = NaN)), step: 'ValidateInput', field: 'input.spec.extra' },
  { name: 'input nested 70 levels deep', build: inputCase((i) => (i.metadata = nested(70))), step: 'ValidateInput', field: /^input\.metadata\.a\.a/ },
];

/** True when `message` names the case's field. */
export function namesField(c: HostileCase, message: string): boolean {
  const rest = message.startsWith(`${c.step}: `) ? message.slice(c.step.length + 2) : undefined;
  if (rest === undefined) return false;
  return typeof c.field === 'string' ? rest.includes(c.field) : c.field.test(rest);
}
