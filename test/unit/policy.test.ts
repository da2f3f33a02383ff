/**
 * Platform policy (input.spec.policy): the defaults keep every seed example rendering (from its claim, as
 * Crossplane makes the XR) and refuse what only a cluster administrator should decide; each refusal is a FATAL
 * result naming the claim's field and the policy. Plus the pod-level hardening that needs no policy.
 */
import { describe, expect, it } from 'vitest';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { claimToXr } from '../../src/cli/claim.js';
import { FunctionInputSpec } from '../../src/api/schema.js';
import { podAnnotationContainerRefs } from '../../src/render/containers.js';
import { runFunction } from '../../src/function/handler.js';
import { compositionInput, EXAMPLES, exampleXr, loadYaml, request } from '../helpers/fixtures.js';

type Obj = Record<string, any>;

const fatal = (rsp: ReturnType<typeof runFunction>) => rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
const sts = (rsp: ReturnType<typeof runFunction>) => {
  const r = rsp.desired!.resources.statefulset!.resource as Obj;
  return r.kind === 'Object' ? r.spec.forProvider.manifest : r;
};

describe('default policy', () => {
  it('denies kube-system, kube-public, kube-node-lease and crossplane-system', () => {
    expect(FunctionInputSpec.parse({}).policy.deniedNamespaces).toEqual(['kube-system', 'kube-public', 'kube-node-lease', 'crossplane-system']);
  });

  for (const ex of EXAMPLES) {
    it(`renders the ${ex} claim (both modes)`, () => {
      const xr = claimToXr(loadYaml(`examples/${ex}/claim.yaml`)) as Obj;
      for (const mode of ['Object', 'Direct']) {
        const rsp = runFunction(request(xr, { input: { spec: { ...compositionInput().spec, mode } } }));
        expect(fatal(rsp), `${ex} ${mode}`).toEqual([]);
      }
    });
  }
});

describe('policy refusals name the field and the policy', () => {
  const run = (policy: Obj, patch: (s: Obj) => void = () => {}, xrPatch: (x: Obj) => void = () => {}) => {
    const x = structuredClone(exampleXr('production')) as Obj;
    patch(x.spec);
    xrPatch(x);
    return fatal(runFunction(request(x, { input: { spec: { policy } } })))[0]?.message;
  };

  it.each<[string, Obj, (s: Obj) => void, RegExp | undefined]>([
    ['allowed registry: docker.io listed', { allowedImageRegistries: ['docker.io'] }, () => {}, undefined],
    ['registry not listed', { allowedImageRegistries: ['ghcr.io'] }, () => {}, /^ApplyPlatformPolicy: spec\.image\.repository: registry "docker\.io".*input\.spec\.policy\.allowedImageRegistries: ghcr\.io/],
    ['default repository from a registry not listed', { allowedImageRegistries: ['registry.example.com'] }, (s) => delete s.image.repository, /^ApplyPlatformPolicy: input\.spec\.defaultImageRepository: registry "ghcr\.io"/],
    ['a host:port registry listed', { allowedImageRegistries: ['registry.example.com:5000'] }, (s) => (s.image.repository = 'registry.example.com:5000/streambus/broker'), undefined],
    ['system priority class by default', {}, (s) => (s.priorityClassName = 'system-cluster-critical'), /spec\.priorityClassName: .*system PriorityClass/],
    ['ordinary priority class by default', {}, (s) => (s.priorityClassName = 'streaming'), undefined],
    ['priority class listed', { allowedPriorityClasses: ['streaming'] }, (s) => (s.priorityClassName = 'streaming'), undefined],
    ['priority class not listed', { allowedPriorityClasses: ['streaming'] }, (s) => (s.priorityClassName = 'batch'), /allowedPriorityClasses: streaming/],
    ['keyed toleration by default', {}, () => {}, undefined],
    ['toleration of every taint by default', {}, (s) => s.tolerations.push({ operator: 'Exists' }), /spec\.tolerations\[1\]: a toleration without a key/],
    ['toleration of every taint allowed by Any', { tolerations: 'Any' }, (s) => s.tolerations.push({ operator: 'Exists' }), undefined],
    ['no tolerations allowed', { tolerations: 'None' }, () => {}, /^ApplyPlatformPolicy: spec\.tolerations: .*tolerations: None/],
    ['node selector not allowed', { allowNodeSelector: false }, () => {}, /spec\.nodeSelector: .*allowNodeSelector: false/],
    ['control-plane node selector', {}, (s) => (s.nodeSelector['node-role.kubernetes.io/control-plane'] = ''), /spec\.nodeSelector\["node-role\.kubernetes\.io\/control-plane"\]/],
    ['confined AppArmor by default', {}, (s) => (s.podAnnotations['container.apparmor.security.beta.kubernetes.io/broker'] = 'runtime/default'), undefined],
    ['unconfined AppArmor by default', {}, (s) => (s.podAnnotations['container.apparmor.security.beta.kubernetes.io/broker'] = 'unconfined'), /securityAnnotations: Confined/],
    ['unconfined AppArmor allowed by Any', { securityAnnotations: 'Any' }, (s) => (s.podAnnotations['container.apparmor.security.beta.kubernetes.io/broker'] = 'unconfined'), undefined],
    ['no security annotations allowed', { securityAnnotations: 'None' }, (s) => (s.podAnnotations['seccomp.security.alpha.kubernetes.io/pod'] = 'runtime/default'), /securityAnnotations: None/],
    ['AppArmor for a container that does not exist', { securityAnnotations: 'Any' }, (s) => (s.podAnnotations['container.apparmor.security.beta.kubernetes.io/sidecar'] = 'runtime/default'), /names container "sidecar", but the broker pods have only "broker"/],
    ['the seed\'s AppArmor annotation for "manager" (handled elsewhere)', {}, (s) => (s.podAnnotations['container.apparmor.security.beta.kubernetes.io/manager'] = 'runtime/default'), undefined],
  ])('%s', (_n, policy, patch, want) => {
    const msg = run(policy, patch);
    if (want === undefined) expect(msg).toBeUndefined();
    else expect(msg).toMatch(want);
  });

  it('a namespace the platform denies', () => {
    const msg = run({ deniedNamespaces: ['production'] });
    expect(msg).toMatch(/"production" is a namespace no StreamBus cluster is composed into \(input\.spec\.policy\.deniedNamespaces\)/);
    expect(run({ deniedNamespaces: [] }, () => {}, (x) => (x.metadata.labels['crossplane.io/claim-namespace'] = 'kube-system'))).toBeUndefined();
  });
});

describe('pod hardening', () => {
  it('brokers mount no ServiceAccount token', () => {
    for (const ex of EXAMPLES) expect(sts(runFunction(request(exampleXr(ex)))).spec.template.spec.automountServiceAccountToken, ex).toBe(false);
  });

  it('lists every pod annotation that names a container (the hook for renaming them)', () => {
    expect(
      podAnnotationContainerRefs({
        'container.apparmor.security.beta.kubernetes.io/manager': 'runtime/default',
        'container.seccomp.security.alpha.kubernetes.io/broker': 'runtime/default',
        'seccomp.security.alpha.kubernetes.io/pod': 'runtime/default',
        'prometheus.io/scrape': 'true',
      }).map((r) => [r.kind, r.container]),
    ).toEqual([
      ['apparmor', 'manager'],
      ['seccomp', 'broker'],
    ]);
  });
});
