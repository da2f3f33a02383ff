/**
 * Issue 15's live proofs on a real control plane (test/helpers/controlplane.ts: real kube-apiserver, Crossplane
 * v2.2.1 with its own certificates and RBAC, provider-kubernetes v1.2.1, kwok for nodes):
 *
 * 1. operator adoption without an outage (docs/upgrading.md, "Moving from the operator"): the operator's CRD, a
 *    StreamBusCluster and the objects it owns, running; detached, annotated Observe; then the Crossplane 2 API
 *    (apis/v2/xrd.yaml, compositions/v2/) is installed and adopts the CRD; then the take-over: pod and PVC UIDs
 *    unchanged, the XR Ready;
 * 2. on the same control plane, the five seed manifests, applied unchanged, are namespaced StreamBusCluster XRs that
 *    become Ready (phase Running); their connection details land in the composed Secret `<name>-connection`;
 * 3. on a fresh control plane, the v2 Configuration installed alone, from the local registry: Crossplane resolves its
 *    dependsOn (the Function under the name the Compositions call, provider-kubernetes) through ImageConfig rewrites,
 *    the harness plays the package runtime for both revisions, and a seed becomes Ready.
 *
 * Figures (time to Ready, conditions seen, the adoption evidence) are printed at the end and written to
 * .tmp/controlplane-v2-report.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ControlPlane, REGISTRY, controlPlaneAvailable, run, waitFor } from '../helpers/controlplane.js';
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
  adoption?: Obj;
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
        (report.adoption ? `\nadoption evidence: ${JSON.stringify(report.adoption, null, 2)}` : '') +
        (report.configuration ? `\nconfiguration: ${JSON.stringify(report.configuration, null, 2)}` : '') +
        `\nmemory (MiB RSS): ${JSON.stringify(report.memoryMiB)}\n`,
    );
  });

  describe('the API and the function installed directly: seed manifests as namespaced XRs, operator adoption', () => {
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
      // The API is installed by the first test, after the operator's cluster exists (as when moving from the
      // operator), or by whichever test runs first.
      await cp.seedInfrastructure({ full: true });
      report.boot.direct = { ...cp.timings };
    }, 1_200_000);

    afterAll(async () => {
      if (!cp) return;
      report.memoryMiB!.direct = cp.memory();
      if (failed) process.stdout.write(cp.logTails(40));
      await cp.stop();
    }, 120_000);

    it('a cluster made the operator\'s way is adopted (docs/upgrading.md, "Moving from the operator") with no pod restarted and no volume claim replaced', async () => {
      const ns = 'adopt';
      const name = 'streambus-minimal';
      const started = Date.now();
      const seed = seedOf('minimal');
      seed.metadata.namespace = ns;
      const xrdDoc = parse(readFileSync(join(ROOT, 'apis/v2/xrd.yaml'), 'utf8')) as Obj;
      const version = xrdDoc.spec.versions[0];
      // Volumes of its own, pre-bound to the claims the StatefulSet will make.
      await cp.apply([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
        ...['10Gi', '5Gi'].flatMap((size) =>
          [0, 1, 2].map((i) => ({
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name: `pv-adopt-${size.toLowerCase()}-${i}` },
            spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], storageClassName: 'standard', persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: ns, name: `${size === '10Gi' ? 'data' : 'raft'}-${name}-${i}` }, hostPath: { path: `/tmp/pv-adopt-${size}-${i}` } },
          })),
        ),
      ]);

      // 0. The operator's world: its CRD streambusclusters.streambus.io (installed by Helm: no controller reference),
      // its StreamBusCluster, and the objects it made for it, each owned by the StreamBusCluster (controller: true).
      const operatorCrd = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: XRS, labels: { 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': 'streambus-operator', 'helm.sh/resource-policy': 'keep' } },
        spec: {
          group: xrdDoc.spec.group,
          names: { kind: 'StreamBusCluster', listKind: 'StreamBusClusterList', plural: 'streambusclusters', singular: 'streambuscluster' },
          scope: 'Namespaced',
          versions: [{ name: version.name, served: true, storage: true, schema: { openAPIV3Schema: version.schema.openAPIV3Schema }, subresources: { status: {} } }],
        },
      };
      await cp.k(['apply', '--server-side', '--field-manager=helm', '-f', '-'], stringify(operatorCrd));
      await waitFor('the operator\'s CRD to be Established', async () => cond(await cp.get('crd', XRS), 'Established')?.status === 'True' || undefined, 60_000);
      await cp.k(['apply', '--server-side', '--field-manager=streambus-operator', '-f', '-'], stringify(seed));
      const operatorCr = (await cp.get(XRS, name, ns))!;
      const owner = { apiVersion: 'streambus.io/v1alpha1', kind: 'StreamBusCluster', name, uid: operatorCr.metadata.uid, controller: true, blockOwnerDeletion: true };
      // What the operator made for it. The function reproduces the operator's rendering (same names, same pod
      // template), so these are the function's render of the same manifest, written by another field manager,
      // labelled managed-by the operator on the objects' own metadata (not the pod template), without the
      // function's `streambus.io/applied` annotation, and owned by the operator's StreamBusCluster.
      const rendered = await run(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'render', '-q', '--api', 'namespaced', '-'], { input: stringify(seed) });
      expect(rendered.code, rendered.stderr).toBe(0);
      const byResource = new Map(parseAllDocuments(rendered.stdout).map((d) => d.toJS() as Obj).filter(Boolean).map((o) => [o.metadata.annotations['crossplane.io/composition-resource-name'] as string, o.spec.forProvider.manifest as Obj]));
      const operatorKinds: [string, string][] = [['config', 'configmap'], ['headless-service', 'service'], ['client-service', 'service'], ['statefulset', 'statefulset']];
      const operatorObjects = operatorKinds.map(([r]) => {
        const m = structuredClone(byResource.get(r)!);
        expect(m, r).toBeDefined();
        m.metadata.labels['app.kubernetes.io/managed-by'] = 'streambus-operator';
        delete m.metadata.annotations?.['streambus.io/applied'];
        m.metadata.ownerReferences = [owner];
        return m;
      });
      await cp.k(['apply', '--server-side', '--field-manager=streambus-operator', '-f', '-'], operatorObjects.map((o) => stringify(o)).join('---\n'));
      const settled = async () => {
        const sts = await cp.get('statefulset', name, ns);
        const pods = await cp.list('pods', ns, `app.kubernetes.io/instance=${name}`);
        const pvcs = await cp.list('pvc', ns);
        const ok =
          sts?.status?.readyReplicas === 3 &&
          sts.status.currentRevision === sts.status.updateRevision &&
          pods.length === 3 &&
          pods.every((p) => p.status?.phase === 'Running' && cond(p, 'Ready')?.status === 'True') &&
          pvcs.length === 6 &&
          pvcs.every((p) => p.status?.phase === 'Bound');
        return ok ? { sts, pods, pvcs } : undefined;
      };
      const before = await waitFor('the operator\'s cluster: 3 Running pods, 6 Bound PVCs', settled, 240_000, 1000, async () => JSON.stringify((await cp.get('statefulset', name, ns))?.status));
      const snapshot = async (s: { sts: Obj; pods: Obj[]; pvcs: Obj[] }) => ({
        streamBusCluster: (await cp.get(XRS, name, ns))?.metadata.uid as string,
        statefulSet: { uid: s.sts.metadata.uid, generation: s.sts.metadata.generation, currentRevision: s.sts.status.currentRevision, updateRevision: s.sts.status.updateRevision, managedBy: s.sts.metadata.labels['app.kubernetes.io/managed-by'] },
        pods: Object.fromEntries(s.pods.map((p) => [p.metadata.name, p.metadata.uid]).sort()),
        pvcs: Object.fromEntries(s.pvcs.map((p) => [p.metadata.name, p.metadata.uid]).sort()),
        podStartTimes: Object.fromEntries(s.pods.map((p) => [p.metadata.name, p.status.startTime]).sort()),
      });
      const operatorMade = await snapshot(before);
      const operatorSeconds = (Date.now() - started) / 1000;

      // Steps 2-4 of the guide. (2: there is no operator process here to scale down.) 3: detach the running objects
      // from the operator's StreamBusCluster. 4: annotate it to observe only, before the API is installed.
      for (const [r, kind] of operatorKinds) {
        await cp.k(['patch', kind, byResource.get(r)!.metadata.name, '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/metadata/ownerReferences"}]']);
      }
      await cp.k(['annotate', XRS, name, '-n', ns, 'streambus.io/management-policies=Observe']);

      // Step 5: install the Crossplane 2 API. The XRD controller adopts the operator's CRD; the operator's
      // StreamBusCluster becomes a namespaced XR in place (same object, same UID) and gets Objects that only observe.
      const observeStart = Date.now();
      await ensureApi();
      const crd = await cp.get('crd', XRS);
      const crdOwner = (crd?.metadata.ownerReferences as Obj[] | undefined)?.find((o) => o.controller);
      expect(crdOwner?.kind).toBe('CompositeResourceDefinition');
      const observed = await waitFor(
        'the StatefulSet Object (Observe) to be Synced and the XR to report the running brokers',
        async () => {
          const xr = await cp.get(XRS, name, ns);
          const objs = (await cp.list(OBJECTS, ns)).filter((o) => o.metadata.labels?.['crossplane.io/composite'] === name);
          const stsObj = objs.find((o) => o.spec.forProvider.manifest.kind === 'StatefulSet');
          return stsObj && cond(stsObj, 'Synced')?.status === 'True' && stsObj.status?.atProvider?.manifest && xr?.status?.readyReplicas === 3 ? { xr, objs } : undefined;
        },
        240_000,
        1000,
        async () => `${condLine(await cp.get(XRS, name, ns))}\n${(await cp.list(OBJECTS, ns)).map((o) => `${o.metadata.name}: ${JSON.stringify(o.spec.managementPolicies)} ${condLine(o)}`).join('\n')}`,
      );
      expect(observed.xr.metadata.uid).toBe(operatorMade.streamBusCluster);
      for (const o of observed.objs) expect(o.spec.managementPolicies, o.metadata.name).toEqual(['Observe']);
      const afterObserve = await snapshot((await settled())!);
      expect(afterObserve.pods).toEqual(operatorMade.pods);
      expect(afterObserve.pvcs).toEqual(operatorMade.pvcs);
      expect(afterObserve.statefulSet.managedBy).toBe('streambus-operator'); // nothing was written
      // The pod template the composition will apply equals the running one: taking over will not roll the brokers.
      const desiredSts = observed.objs.find((o) => o.spec.forProvider.manifest.kind === 'StatefulSet')!.spec.forProvider.manifest;
      const running = await cp.get('statefulset', name, ns);
      const templateEqual = canonical(desiredSts.spec.template.metadata) === canonical(pick(running!.spec.template.metadata, ['annotations', 'labels']));
      // The guide's pre-flight for step 6: a server-side dry run of what the Object will write. An unchanged
      // generation means an unchanged spec: nothing for the StatefulSet controller to roll.
      const dry = await cp.k(['apply', '--server-side', '--dry-run=server', '--field-manager=preflight', '--force-conflicts', '-o', 'json', '-f', '-'], JSON.stringify(desiredSts));
      const dryRun = JSON.parse(dry) as Obj;
      const preflight = { liveGeneration: running!.metadata.generation, dryRunGeneration: dryRun.metadata.generation, podTemplateUnchanged: canonical(dryRun.spec.template) === canonical(running!.spec.template) };
      expect(preflight.dryRunGeneration).toBe(preflight.liveGeneration);
      expect(preflight.podTemplateUnchanged).toBe(true);
      const observeSeconds = (Date.now() - observeStart) / 1000;
      const observeApplied = cond(observed.xr, 'ResourcesApplied');
      record('adoption step 5: API installed, Observe only', observeSeconds, observed.xr, `XR uid unchanged ${observed.xr.metadata.uid}; phase ${observed.xr.status.phase}, readyReplicas ${observed.xr.status.readyReplicas}; pod template metadata equal to the render: ${templateEqual}; ResourcesApplied: ${String(observeApplied?.message).slice(0, 300)}`);

      // Step 6: take over, management policies without Delete.
      const takeoverStart = Date.now();
      await cp.k(['annotate', XRS, name, '-n', ns, '--overwrite', 'streambus.io/management-policies=Observe,Create,Update,LateInitialize']);
      const { xr } = await waitFor(
        'the take-over: the objects written by the composition, the XR Ready',
        async () => {
          const x = await cp.get(XRS, name, ns);
          const sts = await cp.get('statefulset', name, ns);
          const objs = (await cp.list(OBJECTS, ns)).filter((o) => o.metadata.labels?.['crossplane.io/composite'] === name);
          const policiesSet = objs.length >= 6 && objs.every((o) => JSON.stringify(o.spec.managementPolicies) === JSON.stringify(['Observe', 'Create', 'Update', 'LateInitialize']));
          const written = sts?.metadata.labels['app.kubernetes.io/managed-by'] === 'function-streambus' && sts.metadata.annotations?.['streambus.io/applied'];
          return policiesSet && written && cond(x, 'Ready')?.status === 'True' && x?.status?.phase === 'Running' ? { xr: x } : undefined;
        },
        READY_TIMEOUT,
        1000,
        async () => `${condLine(await cp.get(XRS, name, ns))}\n${(await cp.list(OBJECTS, ns)).map((o) => `${o.metadata.name}: ${JSON.stringify(o.spec.managementPolicies)} ${condLine(o)}`).join('\n')}`,
      );
      const takeoverSeconds = (Date.now() - takeoverStart) / 1000;
      // Give the StatefulSet controller time to act on what was written (a roll would start within seconds), then check.
      await new Promise((r) => setTimeout(r, 20_000));
      const after = await snapshot((await settled())!);
      const final = await cp.get(XRS, name, ns);
      const revisions = (await cp.list('controllerrevisions', ns)).filter((r) => r.metadata.name.startsWith(`${name}-`)).map((r) => r.metadata.name);
      report.adoption = {
        namespace: ns,
        name,
        path: 'operator CRD + StreamBusCluster + owned objects; owner references removed; annotated Observe; v2 XRD installed (adopts the CRD); annotated Observe,Create,Update,LateInitialize',
        crdControllerAfterInstall: `${crdOwner?.kind}/${crdOwner?.name}`,
        operatorObjectsReadySeconds: round(operatorSeconds),
        observeOnlySeconds: round(observeSeconds),
        observeOnlyResourcesApplied: `${observeApplied?.status}/${observeApplied?.reason}: ${String(observeApplied?.message).slice(0, 400)}`,
        takeoverToReadySeconds: round(takeoverSeconds),
        podTemplateMetadataEqualToRender: templateEqual,
        preflightDryRun: preflight,
        before: operatorMade,
        afterObserve,
        after,
        controllerRevisions: revisions,
        xrConditions: condLine(final),
      };
      expect(after.streamBusCluster).toBe(operatorMade.streamBusCluster);
      expect(after.pods).toEqual(operatorMade.pods);
      expect(after.pvcs).toEqual(operatorMade.pvcs);
      expect(after.podStartTimes).toEqual(operatorMade.podStartTimes);
      expect(after.statefulSet.uid).toBe(operatorMade.statefulSet.uid);
      expect(after.statefulSet.updateRevision).toBe(operatorMade.statefulSet.updateRevision);
      expect(after.statefulSet.currentRevision).toBe(operatorMade.statefulSet.currentRevision);
      expect(revisions).toHaveLength(1);
      expect(cond(final, 'Ready')?.status).toBe('True');
      expect(final?.status.phase).toBe('Running');
      // The composition also made what the operator had not (PodDisruptionBudget, NetworkPolicy, connection Secret).
      expect(await cp.get('poddisruptionbudget', name, ns)).toBeDefined();
      expect(await cp.get('secret', `${name}-connection`, ns)).toBeDefined();
      record('adoption step 6: taken over, XR Ready, same pods and PVCs', takeoverSeconds, xr, `pods ${Object.values(after.pods).join(',')}; PVCs ${Object.keys(after.pvcs).length} unchanged`);
    }, 900_000);

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

function pick(o: Obj | undefined, keys: string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (o?.[k] !== undefined) out[k] = o[k];
  return out;
}

/** JSON with sorted keys, for comparing objects whatever order their keys came in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Obj)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

