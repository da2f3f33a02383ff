/**
 * Issue 15's live proofs on a real control plane (test/helpers/controlplane.ts: real kube-apiserver, Crossplane
 * v2.2.1 with its own certificates and RBAC, provider-kubernetes v1.2.1, kwok for nodes):
 *
 * (Moving from the operator is proven with the real StreamBus operator in test/e2e/operator-adoption.test.ts.)
 *
 * 1. the five seed manifests, applied unchanged, are namespaced StreamBusCluster XRs that
 *    become Ready (phase Running); their connection details land in the composed Secret `<name>-connection`;
 * 2. on a fresh control plane, the v2 Configuration installed alone, from the local registry: Crossplane resolves its
 *    dependsOn (the Function under the name the Compositions call, provider-kubernetes) through ImageConfig rewrites,
 *    the harness plays the package runtime for both revisions, and a seed becomes Ready.
 *
 * Figures (time to Ready, conditions seen) are printed at the end and written to
 * .tmp/controlplane-v2-report.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ControlPlane, REGISTRY, controlPlaneAvailable, waitFor } from '../helpers/controlplane.js';
import { EXAMPLES } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;

const available = controlPlaneAvailable();
const XRS = 'streambusclusters.streambus.io';
const OBJECTS = 'objects.kubernetes.m.crossplane.io';
const READY_TIMEOUT = 300_000;

const seedOf = (example: string): Obj => parse(readFileSync(join(ROOT, 'examples', example, 'claim.yaml'), 'utf8')) as Obj;
/** The Function name the v2 Compositions call (the name Crossplane gives the dependency it installs). */
const functionName = (): string => (parse(readFileSync(join(ROOT, 'compositions/v2/composition.yaml'), 'utf8')) as Obj).spec.pipeline[0].functionRef.name;

const cond = (o: Obj | undefined, type: string): Obj | undefined => ((o?.status?.conditions ?? []) as Obj[]).find((c) => c.type === type);
const condLine = (o: Obj | undefined) => ((o?.status?.conditions ?? []) as Obj[]).map((c) => `${c.type}=${c.status}${c.reason ? `/${c.reason}` : ''}`).join(' ');
const round = (s: number) => Math.round(s * 10) / 10;

interface Report {
  boot: Record<string, Record<string, number>>;
  scenarios: { name: string; seconds: number; conditions: string; note?: string }[];
  configuration?: Obj;
  memoryMiB?: Record<string, Record<string, number>>;
}
const report: Report = { boot: {}, scenarios: [], memoryMiB: {} };
const record = (name: string, seconds: number, o: Obj | undefined, note?: string) => report.scenarios.push({ name, seconds: round(seconds), conditions: condLine(o), ...(note ? { note } : {}) });

/** Waits until the namespaced XR is Ready=True with phase Running; returns it and the seconds since `since`. */
async function waitReady(cp: ControlPlane, ns: string, name: string, since: number, timeout = READY_TIMEOUT): Promise<{ xr: Obj; seconds: number }> {
  const xr = await waitFor(
    `XR ${ns}/${name} Ready with phase Running`,
    async () => {
      const x = await cp.get(XRS, name, ns);
      return cond(x, 'Ready')?.status === 'True' && x?.status?.phase === 'Running' ? x : undefined;
    },
    timeout,
    1000,
    async () => `${condLine(await cp.get(XRS, name, ns))}\n${await cp.describe(XRS, name, ns)}\n${cp.logTail('function-streambus', 10)}`,
  );
  return { xr, seconds: (Date.now() - since) / 1000 };
}

describe.skipIf(!available)('the Crossplane 2 API on a real control plane (kube-apiserver, Crossplane v2.2.1, provider-kubernetes v1.2.1, kwok)', () => {
  afterAll(() => {
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    writeFileSync(join(ROOT, '.tmp', 'controlplane-v2-report.json'), JSON.stringify(report, null, 2));
    process.stdout.write(
      `\n== real control plane report (Crossplane 2 API)\nboot (ms): ${JSON.stringify(report.boot)}\n` +
        report.scenarios.map((s) => `- ${s.name}: ${s.seconds} s; ${s.conditions}${s.note ? `; ${s.note}` : ''}`).join('\n') +
        (report.configuration ? `\nconfiguration: ${JSON.stringify(report.configuration, null, 2)}` : '') +
        `\nmemory (MiB RSS): ${JSON.stringify(report.memoryMiB)}\n`,
    );
  });

  describe('the API and the function installed directly: seed manifests as namespaced XRs', () => {
    let cp: ControlPlane;
    let failed = false;
    afterEach((ctx) => {
      if (ctx.task.result?.state === 'fail') failed = true;
    });
    let apiInstalled = false;
    const ensureApi = async () => {
      if (apiInstalled) return;
      await cp.installApiV2({ directModeRbac: false });
      apiInstalled = true;
    };

    beforeAll(async () => {
      cp = await ControlPlane.start();
      await cp.installFunction(functionName());
      // The API is installed by whichever test runs first.
      await cp.seedInfrastructure({ full: true });
      report.boot.direct = { ...cp.timings };
    }, 1_200_000);

    afterAll(async () => {
      if (!cp) return;
      report.memoryMiB!.direct = cp.memory();
      if (failed) process.stdout.write(cp.logTails(40));
      await cp.stop();
    }, 120_000);

    it('the five seed manifests, applied unchanged, are namespaced XRs that become Ready with phase Running', async () => {
      await ensureApi();
      const started = Date.now();
      for (const ex of EXAMPLES) await cp.apply(readFileSync(join(ROOT, 'examples', ex, 'claim.yaml'), 'utf8'));
      const results = await Promise.all(
        EXAMPLES.map(async (ex) => {
          const s = seedOf(ex);
          const { xr, seconds } = await waitReady(cp, s.metadata.namespace, s.metadata.name, started);
          return { ex, xr, seconds, want: s.spec.replicas as number };
        }),
      );
      for (const { ex, xr, seconds, want } of results) {
        // The seed's own object is the XR: namespaced, its kind and group the operator's, no claim in between.
        expect(xr.apiVersion, ex).toBe('streambus.io/v1alpha1');
        expect(xr.kind, ex).toBe('StreamBusCluster');
        expect(xr.metadata.namespace, ex).toBe(seedOf(ex).metadata.namespace);
        expect(xr.spec.claimRef, ex).toBeUndefined();
        expect(xr.status.phase, ex).toBe('Running');
        expect(xr.status.replicas, ex).toBe(want);
        expect(xr.status.readyReplicas, ex).toBe(want);
        for (const t of ['BrokersReady', 'ResourcesApplied', 'Synced']) expect(cond(xr, t)?.status, `${ex} ${t}`).toBe('True');
        record(`seed ${ex} as a namespaced XR (Object mode) Ready`, seconds, xr);
      }
      // Object mode composes namespaced provider-kubernetes Objects in the XR's namespace, using the
      // ClusterProviderConfig `default` (deploy/provider-kubernetes/in-cluster.yaml).
      const objects = await cp.list(OBJECTS, 'default');
      const minimal = objects.filter((o) => o.metadata.labels?.['crossplane.io/composite'] === 'streambus-minimal');
      expect(minimal.length).toBeGreaterThanOrEqual(6);
      for (const o of minimal) expect(o.spec.providerConfigRef).toEqual({ kind: 'ClusterProviderConfig', name: 'default' });
      const pods = await cp.list('pods', 'production', 'app.kubernetes.io/instance=streambus-production');
      expect(new Set(pods.map((p) => p.spec.nodeName))).toEqual(new Set([0, 1, 2, 3, 4].map((i) => `streaming-${i}`)));
    }, 900_000);

    it('connection details are in the composed Secret <name>-connection in the XR\'s namespace', async () => {
      for (const ex of EXAMPLES) {
        const s = seedOf(ex);
        const secret = await cp.get('secret', `${s.metadata.name}-connection`, s.metadata.namespace);
        expect(secret, ex).toBeDefined();
        const data = Object.fromEntries(Object.entries(secret!.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
        expect(data.bootstrapServers, ex).toContain(`${s.metadata.name}-0.${s.metadata.name}-headless.${s.metadata.namespace}.svc.cluster.local:`);
        expect(data.httpEndpoint, ex).toMatch(new RegExp(`^https?://${s.metadata.name}\\.${s.metadata.namespace}\\.svc\\.cluster\\.local:\\d+$`));
        // Composed by an Object of the XR, not written by hand.
        const owner = (await cp.list(OBJECTS, s.metadata.namespace)).find((o) => o.spec.forProvider.manifest.kind === 'Secret' && o.spec.forProvider.manifest.metadata.name === `${s.metadata.name}-connection`);
        expect(owner?.metadata.labels['crossplane.io/composite'], ex).toBe(s.metadata.name);
      }
      const minimal = await cp.get('secret', 'streambus-minimal-connection', 'default');
      record('connection Secrets of the five XRs', 0, undefined, `keys of streambus-minimal-connection: ${Object.keys(minimal!.data).sort().join(', ')}`);
    }, 120_000);
  });

  describe('the v2 Configuration installed alone: Crossplane resolves its dependsOn from the local registry', () => {
    let cp: ControlPlane;
    let failed = false;
    afterEach((ctx) => {
      if (ctx.task.result?.state === 'fail') failed = true;
    });

    beforeAll(async () => {
      cp = await ControlPlane.start();
      await cp.seedInfrastructure({ full: false });
      report.boot.configuration = { ...cp.timings };
    }, 1_200_000);

    afterAll(async () => {
      if (!cp) return;
      report.memoryMiB!.configuration = cp.memory();
      if (failed) process.stdout.write(cp.logTails(40));
      await cp.stop();
    }, 120_000);

    it('installs the Function (as the Compositions name it) and provider-kubernetes, becomes Healthy, and a seed becomes Ready', async () => {
      const fn = functionName();
      const provider = 'crossplane-contrib-provider-kubernetes';
      const configuration = parse(readFileSync(join(ROOT, 'deploy/configuration-v2.yaml'), 'utf8')) as Obj;
      const seen: Obj = { steps: [] as string[] };
      report.configuration = seen;
      const step = (s: string) => (seen.steps as string[]).push(`${new Date().toISOString()} ${s}`);
      const started = Date.now();

      // The packages in the local registry, under the paths the Configuration's dependsOn names (after the rewrite).
      const pkgs = await cp.buildPackages();
      const providerPkg = await cp.buildProviderPackage('v1.2.1');
      await cp.pushPackage(pkgs.function, `${REGISTRY}/streambus-io/function-streambus:v0.1.0`);
      await cp.pushPackage(pkgs.configurationV2, `${REGISTRY}/streambus-io/configuration-streambus-v2:v0.1.0`);
      await cp.pushPackage(providerPkg, `${REGISTRY}/crossplane-contrib/provider-kubernetes:v1.2.1`);
      step('pushed function-streambus:v0.1.0, configuration-streambus-v2:v0.1.0, provider-kubernetes:v1.2.1');
      // ImageConfigs: the public paths the packages name, served from the local registry.
      await cp.apply(
        [
          ['streambus-io', 'streambus-io'],
          ['crossplane-contrib', 'crossplane-contrib'],
        ].map(([from, to]) => ({
          apiVersion: 'pkg.crossplane.io/v1beta1',
          kind: 'ImageConfig',
          metadata: { name: `local-registry-${from}` },
          spec: { matchImages: [{ type: 'Prefix', prefix: `xpkg.crossplane.io/${from}` }], rewriteImage: { prefix: `${REGISTRY}/${to}` } },
        })),
      );
      // provider-kubernetes declares SafeStart: without an activation policy the package manager leaves its managed
      // resource definitions Inactive and installs none of their CRDs. This harness's Crossplane has no default
      // policy (Crossplane's Helm chart would make one activating "*"), so the project's own policy is the only one.
      await cp.apply(readFileSync(join(ROOT, 'deploy/provider-kubernetes/activation-policy.yaml'), 'utf8'));
      // Only the Configuration, as deploy/configuration-v2.yaml has it (package xpkg.crossplane.io/streambus-io/...).
      await cp.apply(readFileSync(join(ROOT, 'deploy/configuration-v2.yaml'), 'utf8'));
      step(`applied deploy/configuration-v2.yaml (${configuration.spec.package})`);

      const diagnose = async () =>
        [
          ['configurations.pkg.crossplane.io', configuration.metadata.name],
          ['functions.pkg.crossplane.io', fn],
          ['providers.pkg.crossplane.io', provider],
        ]
          .map(async ([k, n]) => `${k}/${n}: ${condLine(await cp.get(k!, n!))}`)
          .reduce(async (a, b) => `${await a}\n${await b}`, Promise.resolve(''));
      const revisionOf = async (kind: string, pkg: string) =>
        waitFor(`a ${kind} of ${pkg} (made by Crossplane)`, async () => (await cp.list(kind, undefined, `pkg.crossplane.io/package=${pkg}`))[0], 300_000, 1000, diagnose);

      // Crossplane installs both dependencies itself; the harness plays the External runtime for each revision.
      await Promise.all([
        (async () => {
          const rev = await revisionOf('functionrevisions.pkg.crossplane.io', fn);
          step(`Crossplane made Function ${fn}, revision ${rev.metadata.name}`);
          await cp.serveFunctionRevision(rev.metadata.name);
          step('function runtime reported');
        })(),
        (async () => {
          const rev = await revisionOf('providerrevisions.pkg.crossplane.io', provider);
          step(`Crossplane made Provider ${provider}, revision ${rev.metadata.name}`);
          await cp.serveProviderRevision(rev.metadata.name);
          step('provider runtime reported');
        })(),
      ]);
      const healthy = (kind: string, name: string) =>
        waitFor(`${kind} ${name} Healthy`, async () => {
          const o = await cp.get(kind, name);
          return cond(o, 'Healthy')?.status === 'True' ? o : undefined;
        }, 300_000, 1000, async () => `${await diagnose()}\n${await cp.describe(kind, name)}`);
      const [fnObj, provObj, cfgObj] = [
        await healthy('functions.pkg.crossplane.io', fn),
        await healthy('providers.pkg.crossplane.io', provider),
        await healthy('configurations.pkg.crossplane.io', configuration.metadata.name),
      ];
      const healthySeconds = (Date.now() - started) / 1000;
      step('Configuration, Function and Provider Healthy');
      expect(cond(cfgObj, 'Installed')?.status).toBe('True');
      // The names Crossplane gave the dependencies: derived from the paths in dependsOn, not the rewritten ones.
      expect(fnObj.spec.package).toMatch(/^xpkg\.crossplane\.io\/streambus-io\/function-streambus[:@]/);
      expect(fnObj.status.resolvedPackage).toMatch(new RegExp(`^${REGISTRY.replaceAll('.', '\\.')}/streambus-io/function-streambus`));
      expect(provObj.status.resolvedPackage).toMatch(new RegExp(`^${REGISTRY.replaceAll('.', '\\.')}/crossplane-contrib/provider-kubernetes`));
      Object.assign(seen, {
        function: { name: fn, package: fnObj.spec.package, resolvedPackage: fnObj.status.resolvedPackage, conditions: condLine(fnObj), appliedImageConfigRefs: fnObj.status.appliedImageConfigRefs },
        provider: { name: provider, package: provObj.spec.package, resolvedPackage: provObj.status.resolvedPackage, conditions: condLine(provObj), appliedImageConfigRefs: provObj.status.appliedImageConfigRefs },
        configuration: { name: configuration.metadata.name, package: cfgObj.spec.package, resolvedPackage: cfgObj.status.resolvedPackage, conditions: condLine(cfgObj) },
        healthySeconds: round(healthySeconds),
      });
      record('Configuration alone: dependencies installed, all Healthy', healthySeconds, cfgObj);
      // What the package manager did with provider-kubernetes' CRDs (SafeStart: managed resource CRDs become
      // ManagedResourceDefinitions; the harness applied the CRDs before, with conversion: None).
      const mrdName = 'objects.kubernetes.m.crossplane.io';
      const mrd = await waitFor(`the ManagedResourceDefinition ${mrdName} Active and Established`, async () => {
        const m = await cp.get('managedresourcedefinitions.apiextensions.crossplane.io', mrdName);
        return m?.spec?.state === 'Active' && cond(m, 'Established')?.status === 'True' ? m : undefined;
      }, 120_000, 1000, async () => cp.describe('managedresourcedefinitions.apiextensions.crossplane.io', mrdName)).catch((e: Error) => ({ error: e.message.slice(0, 1500) }) as Obj);
      const mrds = await cp.list('managedresourcedefinitions.apiextensions.crossplane.io').catch((e: Error) => [{ metadata: { name: `(cannot list: ${e.message.slice(0, 200)})` } }]);
      const crdFacts = async (crdName: string) => {
        const c = await cp.get('crd', crdName);
        return {
          conversion: c?.spec.conversion ? { ...c.spec.conversion, ...(c.spec.conversion.webhook ? { webhook: { ...c.spec.conversion.webhook, clientConfig: { ...c.spec.conversion.webhook.clientConfig, caBundle: c.spec.conversion.webhook.clientConfig?.caBundle ? '(set)' : undefined } } } : {}) } : undefined,
          owners: ((c?.metadata.ownerReferences ?? []) as Obj[]).map((o) => `${o.kind}/${o.name}${o.controller ? ' (controller)' : ''}`),
        };
      };
      expect(mrd.spec?.state, mrd.error).toBe('Active'); // activated by deploy/provider-kubernetes/activation-policy.yaml
      seen.providerPackageObjects = {
        namespacedObjectMrd: mrd.error ? mrd.error : `${mrdName} state=${mrd.spec.state} ${condLine(mrd)}`,
        managedResourceDefinitions: mrds.map((m) => `${m.metadata.name} state=${(m as Obj).spec?.state ?? '?'} ${condLine(m)}`),
        crds: {
          'objects.kubernetes.crossplane.io': await crdFacts('objects.kubernetes.crossplane.io'),
          'objects.kubernetes.m.crossplane.io': await crdFacts('objects.kubernetes.m.crossplane.io'),
          'clusterproviderconfigs.kubernetes.m.crossplane.io': await crdFacts('clusterproviderconfigs.kubernetes.m.crossplane.io'),
        },
      };

      // The API came from the package: a seed becomes Ready through the Composition that calls the function by name.
      const xrd = await waitFor('the XRD from the Configuration to be Established', async () => {
        const x = await cp.get('compositeresourcedefinitions.apiextensions.crossplane.io', XRS);
        return cond(x, 'Established')?.status === 'True' ? x : undefined;
      }, 120_000);
      expect(xrd.metadata.ownerReferences?.some((r: Obj) => r.kind === 'ConfigurationRevision')).toBe(true);
      const seedStart = Date.now();
      await cp.apply(readFileSync(join(ROOT, 'examples/minimal/claim.yaml'), 'utf8'));
      const { xr, seconds } = await waitReady(cp, 'default', 'streambus-minimal', seedStart);
      expect(xr.status.readyReplicas).toBe(3);
      seen.seedReadySeconds = round(seconds);
      record('Configuration alone: seed minimal Ready', seconds, xr);
    }, 1_200_000);
  });
});
