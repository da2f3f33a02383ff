/**
 * The install guide (docs/install.md), the manifests it applies (deploy/) and the Dockerfile, checked against each
 * other and against what the function actually composes: every path the guide applies exists, every manifest parses
 * with the expected apiVersion/kind, names agree (Function `streambus-io-function-streambus`, ProviderConfig `default`, package
 * references and versions, ServiceAccounts, runtime configs), and the RBAC covers every kind the function composes.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { runFunction } from '../../src/function/handler.js';
import { StreamBusClusterSpec } from '../../src/api/schema.js';
import { EXAMPLES, compositionInput, exampleXr, loadYaml, loadYamlAll, request } from '../helpers/fixtures.js';
import { satisfies, splitRef } from '../helpers/semver.js';
import { ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;

const guide = readFileSync(join(ROOT, 'docs', 'install.md'), 'utf8');
const version = `v${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}`;
/** The name Crossplane gives the function when it installs it as a dependency (xpkg.ToDNSLabel of the repository path). */
const FUNCTION_NAME = 'streambus-io-function-streambus';
const CROSSPLANE_NAMESPACE = 'crossplane-system';

function yamlFilesUnder(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFilesUnder(`${dir}/${e.name}`) : /\.ya?ml$/.test(e.name) ? [`${dir}/${e.name}`] : [],
  );
}

const deployFiles = yamlFilesUnder('deploy').sort();
const manifests = deployFiles.flatMap((file) => loadYamlAll(file).map((doc) => ({ file, doc })));
const all = (kind: string) => manifests.filter((m) => m.doc.kind === kind);
const one = (kind: string, name?: string) => {
  const found = all(kind).filter((m) => name === undefined || m.doc.metadata?.name === name);
  expect(found.map((m) => m.file), `exactly one ${kind}${name ? ` ${name}` : ''} in deploy/`).toHaveLength(1);
  return found[0]!.doc;
};
const compositions = yamlFilesUnder('compositions').flatMap((f) => loadYamlAll(f)).filter((d) => d.kind === 'Composition');
const configurationMeta = loadYaml('configuration/crossplane.yaml');
const dependency = (kind: string) => (configurationMeta.spec.dependsOn as Obj[]).find((d) => d.kind === kind)!;

/** The shell commands in the guide's ```sh blocks, continuation lines joined. */
const commands = [...guide.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1]!.replace(/\\\n\s*/g, ' ').split('\n'))
  .map((l) => l.replace(/\s+#.*$/, '').trim())
  .filter((l) => l && !l.startsWith('#'));

const ALLOWED = new Set([
  'pkg.crossplane.io/v1/Provider',
  'pkg.crossplane.io/v1/Function',
  'pkg.crossplane.io/v1/Configuration',
  'pkg.crossplane.io/v1beta1/DeploymentRuntimeConfig',
  'pkg.crossplane.io/v1beta1/ImageConfig',
  'kubernetes.crossplane.io/v1alpha1/ProviderConfig',
  'kubernetes.m.crossplane.io/v1alpha1/ClusterProviderConfig',
  'apiextensions.crossplane.io/v1alpha1/ManagedResourceActivationPolicy',
  'rbac.authorization.k8s.io/v1/ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
  'streambus.io/v1alpha1/StreamBusCluster',
]);

describe('docs/install.md', () => {
  it('applies only manifests that exist, and every manifest in deploy/ is used by it', () => {
    const paths = commands.flatMap((c) => (/^kubectl\b/.test(c) ? [...c.matchAll(/(?:^|\s)-f\s+(\S+)/g)].map((m) => m[1]!) : []));
    expect(paths.length).toBeGreaterThan(5);
    for (const p of paths) expect(existsSync(join(ROOT, p)), `${p} (from docs/install.md)`).toBe(true);
    const used = new Set(
      paths.flatMap((p) => (statSync(join(ROOT, p)).isDirectory() ? yamlFilesUnder(p.replace(/\/$/, '')) : [relative(ROOT, join(ROOT, p))])),
    );
    for (const f of deployFiles) expect(used, `${f} is in deploy/ but docs/install.md never applies it`).toContain(f);
  });

  it('is linked from the README', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('docs/install.md');
  });

  it('installs provider-kubernetes and the function before the Configuration, and claims after it', () => {
    const at = (needle: string) => commands.findIndex((c) => c.startsWith('kubectl apply') && c.includes(needle));
    const order = ['deploy/runtime-configs.yaml', 'deploy/provider-kubernetes/provider.yaml', 'deploy/function.yaml', 'deploy/configuration.yaml', 'deploy/claim.yaml'].map(at);
    expect(order.every((i) => i >= 0), String(order)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('names the kubeconfig Secret the remote ProviderConfig reads', () => {
    const ref = all('ProviderConfig').find((m) => m.doc.spec.credentials.source === 'Secret')!.doc.spec.credentials.secretRef;
    const create = commands.find((c) => c.includes('create secret generic'));
    expect(create).toBeDefined();
    expect(create).toContain(`-n ${ref.namespace} `);
    expect(create).toContain(` ${ref.name} `);
    expect(create).toContain(`--from-file=${ref.key}=`);
  });

  it('selects Direct mode by a label every Direct-mode Composition carries', () => {
    expect(guide).toContain('streambus.io/mode: direct');
    const direct = compositions.filter((c) => (c.spec.pipeline as Obj[]).some((s) => s.input?.spec?.mode === 'Direct'));
    if (direct.length === 0) process.stderr.write('\n!! no Direct-mode Composition in compositions/ yet: docs/install.md step 4 documents one\n\n');
    for (const c of direct) expect(c.metadata.labels?.['streambus.io/mode'], c.metadata.name).toBe('direct');
    for (const c of compositions.filter((x) => !direct.includes(x))) expect(c.metadata.labels?.['streambus.io/mode'], c.metadata.name).not.toBe('direct');
  });
});

describe('deploy/ manifests', () => {
  it('parse, and are all of a kind the guide means to install', () => {
    expect(deployFiles.length).toBeGreaterThan(0);
    for (const { file, doc } of manifests) {
      expect(ALLOWED, `${file}: ${doc.apiVersion}/${doc.kind}`).toContain(`${doc.apiVersion}/${doc.kind}`);
      expect(doc.metadata?.name, file).toMatch(/^[a-z0-9]([a-z0-9:.-]*[a-z0-9])?$/);
    }
    // The ProviderConfig and ClusterProviderConfig `default` come in two alternatives; everything else is defined once.
    const keys = manifests.filter((m) => !['ProviderConfig', 'ClusterProviderConfig'].includes(m.doc.kind)).map((m) => `${m.doc.kind}/${m.doc.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('install the Function under the name Crossplane gives the dependency, the package and version the Configuration depends on', () => {
    const fn = one('Function');
    expect(fn.metadata.name).toBe(FUNCTION_NAME);
    // Crossplane's resolver: xpkg.ToDNSLabel(ref.Context().RepositoryStr()) (internal/controller/pkg/resolver, v2.2.1).
    expect(splitRef(fn.spec.package)[0]!.split('/').slice(1).join('/').replace(/[./:]/g, '-')).toBe(FUNCTION_NAME);
    for (const c of compositions) for (const s of c.spec.pipeline as Obj[]) expect(s.functionRef.name, c.metadata.name).toBe(FUNCTION_NAME);
    const [repo, tag] = splitRef(fn.spec.package);
    expect(repo).toBe(dependency('Function').package);
    expect(tag).toBe(version);
    expect(satisfies(tag!, dependency('Function').version)).toBe(true);
    expect(repo).toBe(splitRef(loadYaml('examples/functions.yaml').spec.package)[0]);
  });

  it('install provider-kubernetes from the package the Configuration depends on, within its range', () => {
    const p = one('Provider');
    const [repo, tag] = splitRef(p.spec.package);
    expect(repo).toBe(dependency('Provider').package);
    expect(satisfies(tag!, dependency('Provider').version), `${tag} in ${dependency('Provider').version}`).toBe(true);
  });

  it.each([
    ['configuration/crossplane.yaml', 'deploy/configuration.yaml'],
    ['configuration-v2/crossplane.yaml', 'deploy/configuration-v2.yaml'],
  ])('install the Configuration of this release (%s)', (metaFile, deployFile) => {
    const meta = loadYaml(metaFile);
    const c = loadYaml(deployFile);
    expect(c.kind).toBe('Configuration');
    const [repo, tag] = splitRef(c.spec.package);
    expect(repo).toBe(`xpkg.crossplane.io/streambus-io/${meta.metadata.name}`);
    expect(tag).toBe(version);
    expect(c.metadata.name).toBe(meta.metadata.name);
    // Both Configurations depend on the same function package, which deploy/function.yaml installs.
    expect((meta.spec.dependsOn as Obj[]).find((d) => d.kind === 'Function')).toEqual(dependency('Function'));
    // ...and on provider-kubernetes, in a range the Provider deploy/ installs satisfies.
    const provider = (meta.spec.dependsOn as Obj[]).find((d) => d.kind === 'Provider')!;
    const [providerRepo, providerTag] = splitRef(one('Provider').spec.package);
    expect(providerRepo).toBe(provider.package);
    expect(satisfies(providerTag!, provider.version), `${providerTag} in ${provider.version}`).toBe(true);
  });

  it('give the function and provider-kubernetes their runtime configs through ImageConfigs, also when installed as dependencies', () => {
    const fnPackage = splitRef(one('Function').spec.package)[0]!;
    const providerPackage = splitRef(one('Provider').spec.package)[0]!;
    for (const [pkg, installed] of [[fnPackage, one('Function')], [providerPackage, one('Provider')]] as const) {
      const ic = all('ImageConfig').filter((m) => (m.doc.spec.matchImages as Obj[]).some((mi) => pkg.startsWith(mi.prefix)));
      expect(ic, pkg).toHaveLength(1);
      expect(ic[0]!.file).toBe('deploy/imageconfig-runtime.yaml');
      // The same runtime config whether we install the package or Crossplane installs it as a dependency.
      expect(ic[0]!.doc.spec.runtime.configRef.name).toBe(installed.spec.runtimeConfigRef.name);
      one('DeploymentRuntimeConfig', ic[0]!.doc.spec.runtime.configRef.name);
    }
  });

  it('reference DeploymentRuntimeConfigs that exist', () => {
    for (const { file, doc } of [...all('Provider'), ...all('Function')]) {
      const ref = doc.spec.runtimeConfigRef;
      expect(ref, file).toMatchObject({ apiVersion: 'pkg.crossplane.io/v1beta1', kind: 'DeploymentRuntimeConfig' });
      one('DeploymentRuntimeConfig', ref.name);
    }
  });

  it('give provider-kubernetes a ServiceAccount that the in-cluster binding names', () => {
    const drc = one('DeploymentRuntimeConfig', one('Provider').spec.runtimeConfigRef.name);
    const sa = drc.spec.serviceAccountTemplate.metadata.name;
    const binding = one('ClusterRoleBinding');
    new ClusterRoleBinding(binding).validate();
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: CROSSPLANE_NAMESPACE }]);
    expect(binding.roleRef).toMatchObject({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole' });
    one('ClusterRole', binding.roleRef.name);
    expect(guide).toContain(`--clusterrole=${binding.roleRef.name}`);
  });

  it('define the ProviderConfig `default` the Object-mode Compositions use, in-cluster or from a kubeconfig', () => {
    // Cluster-scoped Objects (legacy API) use a ProviderConfig; namespaced Objects (Crossplane 2 API) the
    // ClusterProviderConfig of the same name and credentials.
    const cpcs = all('ClusterProviderConfig');
    expect(cpcs.map((m) => `${m.file}:${m.doc.metadata.name}`).sort()).toEqual(all('ProviderConfig').map((m) => `${m.file}:${m.doc.metadata.name}`).sort());
    for (const m of cpcs) expect(m.doc.spec).toEqual(all('ProviderConfig').find((p) => p.file === m.file)!.doc.spec);
    for (const c of compositions) for (const s of c.spec.pipeline as Obj[]) expect(s.input.spec.providerConfigKind ?? 'ClusterProviderConfig', c.metadata.name).toBe('ClusterProviderConfig');
    const pcs = all('ProviderConfig');
    expect(pcs.map((m) => m.doc.spec.credentials.source).sort()).toEqual(['InjectedIdentity', 'Secret']);
    const object = compositions.filter((c) => (c.spec.pipeline as Obj[]).some((s) => (s.input?.spec?.mode ?? 'Object') === 'Object'));
    expect(object.length).toBeGreaterThan(0);
    for (const c of object) for (const s of c.spec.pipeline as Obj[]) expect(s.input.spec.providerConfigName ?? 'default').toBe('default');
    for (const { doc } of pcs) expect(doc.metadata.name).toBe('default');
    const secret = pcs.find((m) => m.doc.spec.credentials.source === 'Secret')!.doc.spec.credentials.secretRef;
    expect(Object.keys(secret).sort()).toEqual(['key', 'name', 'namespace']);
    expect(secret.namespace).toBe(CROSSPLANE_NAMESPACE);
  });

  it('run the function as the image user, non-root, on a read-only root filesystem', () => {
    const drc = one('DeploymentRuntimeConfig', one('Function').spec.runtimeConfigRef.name);
    const tmpl = drc.spec.deploymentTemplate.spec;
    // A Deployment with this template (the runtime container's image is Crossplane's to set) is schema-valid.
    const containers = (tmpl.template.spec.containers as Obj[]).map((c) => ({ image: 'placeholder', ...c }));
    new Deployment({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { ...tmpl, template: { ...tmpl.template, spec: { ...tmpl.template.spec, containers } } } } as never).validate();
    const runtime = containers.find((c) => c.name === 'package-runtime')!;
    expect(runtime).toBeDefined();
    expect(runtime.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const user = /^USER\s+(\d+):(\d+)\s*$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    expect(runtime.securityContext.runAsUser).toBe(Number(user![1]));
    expect(tmpl.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('include a claim the XRD serves, valid for the schema and rendered without errors', () => {
    const claim = one('StreamBusCluster');
    const xrd = loadYaml('apis/xrd.yaml');
    expect(claim.apiVersion).toBe(`${xrd.spec.group}/${xrd.spec.versions[0].name}`);
    expect(claim.kind).toBe(xrd.spec.claimNames.kind);
    expect(commands).toContain(`kubectl create namespace ${claim.metadata.namespace}`);
    expect(StreamBusClusterSpec.safeParse(claim.spec).success).toBe(true);
    const xr = {
      apiVersion: claim.apiVersion,
      kind: xrd.spec.names.kind,
      metadata: { name: `${claim.metadata.name}-x7k2p`, labels: { 'crossplane.io/claim-name': claim.metadata.name, 'crossplane.io/claim-namespace': claim.metadata.namespace } },
      spec: claim.spec,
    };
    const rsp = runFunction(request(xr));
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
    const sts = (rsp.desired!.resources.statefulset!.resource as Obj).spec.forProvider.manifest;
    expect(sts.metadata.namespace).toBe(claim.metadata.namespace);
    expect(sts.spec.template.spec.containers[0].image).toMatch(/^ghcr\.io\/gstreamio\/streambus\/broker:/); // the platform default
  });
});

/** `group/resource` → verbs granted by the rules of these ClusterRoles. */
function grants(roles: Obj[]): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const r of roles) {
    new ClusterRole(r).validate();
    for (const rule of r.rules as Obj[])
      for (const group of rule.apiGroups ?? [])
        for (const res of rule.resources ?? []) {
          const k = `${group}/${res}`;
          g.set(k, new Set([...(g.get(k) ?? []), ...(rule.verbs as string[])]));
        }
  }
  return g;
}

const plural = (kind: string) => (kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`).toLowerCase();
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** group/resource of every object the function composes for every example, in the given mode. */
function composedResources(mode: 'Object' | 'Direct'): Set<string> {
  const out = new Set<string>();
  // Both APIs: the legacy XR of each example, and the example itself as a namespaced XR (Crossplane 2).
  for (const [name, xr] of EXAMPLES.flatMap((n) => [[n, exampleXr(n)], [n, loadYaml(`examples/${n}/claim.yaml`)]] as const)) {
    const input = compositionInput();
    const rsp = runFunction(request(xr, { input: { ...input, spec: { ...(input.spec as Obj), mode } } }));
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL), name).toEqual([]);
    for (const r of Object.values(rsp.desired!.resources)) {
      const o = r.resource as Obj;
      const m = mode === 'Object' ? o.spec.forProvider.manifest : o;
      const group = String(m.apiVersion).includes('/') ? String(m.apiVersion).split('/')[0] : '';
      out.add(`${group}/${plural(m.kind)}`);
    }
  }
  return out;
}

describe('RBAC covers every kind the function composes', () => {
  const check = (roles: Obj[], needed: Set<string>) => {
    const g = grants(roles);
    for (const r of needed) for (const v of VERBS) expect(g.get(r)?.has(v) || g.get(r)?.has('*'), `${r} ${v}`).toBe(true);
  };

  it('provider-kubernetes (Object mode): deploy/provider-kubernetes/clusterrole.yaml', () => {
    const needed = composedResources('Object');
    expect(needed).toContain('apps/statefulsets');
    check(all('ClusterRole').filter((m) => m.file.startsWith('deploy/provider-kubernetes/')).map((m) => m.doc), needed);
  });

  it('Crossplane itself (Direct mode): deploy/rbac/, aggregated into Crossplane\'s ClusterRole', () => {
    const roles = all('ClusterRole').filter((m) => m.file.startsWith('deploy/rbac/')).map((m) => m.doc);
    expect(roles.length).toBeGreaterThan(0);
    for (const r of roles) expect(r.metadata.labels?.['rbac.crossplane.io/aggregate-to-crossplane'], r.metadata.name).toBe('true');
    check(roles, composedResources('Direct'));
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const from = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)];
  const arg = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];

  it('builds in one stage and runs on a current Node LTS', () => {
    expect(from).toHaveLength(2);
    expect(from[0]![2]).toBe('build');
    expect(arg).toMatch(/^node:(\d+)-alpine$/);
    const major = Number(/^node:(\d+)/.exec(arg!)![1]);
    expect(major % 2).toBe(0); // only even lines become LTS
    expect(major).toBeGreaterThanOrEqual(26); // Active LTS since 2026-10-28 (24 is in maintenance)
    // The build stage's image (CI passes one with a shell and npm: scripts/build-images.sh) defaults to the same.
    expect(/^ARG NODE_BUILD_IMAGE=(\S+)$/m.exec(dockerfile)?.[1]).toBe(arg);
    expect(from[0]![1]).toBe('${NODE_BUILD_IMAGE}');
    expect(from[1]![1]).toBe('${NODE_IMAGE}');
  });

  it('ships the tree scripts/assemble-runtime.mjs makes (the tree test/e2e/runtime-tree.test.ts serves from)', () => {
    expect(dockerfile).toMatch(/^RUN npm run build && node scripts\/assemble-runtime\.mjs \/fn\b/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/fn \/fn$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/fn\/function-streambus\.mjs"\]$/m);
    expect(existsSync(join(ROOT, 'src', 'main.ts'))).toBe(true);
    // Every file the build stage copies passes .dockerignore.
    const allowed = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) for (const f of m[1]!.split(/\s+/)) expect(allowed, f).toContain(f);
  });

  it('runs non-root on port 9443 with TLS from /tls/server', () => {
    const user = /^USER\s+(\d+):(\d+)\s*$/m.exec(dockerfile);
    expect(Number(user![1])).toBeGreaterThan(0);
    expect(dockerfile).toMatch(/^EXPOSE 9443$/m);
    expect(dockerfile).toMatch(/TLS_SERVER_CERTS_DIR=\/tls\/server/);
  });
});
