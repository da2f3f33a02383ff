/**
 * Moving from the StreamBus operator (docs/upgrading.md, "Moving from the operator"), with the REAL operator: the
 * unmodified upstream v1.0.1 binary (../shared/tools/streambus-operator-v1.0.1, sha256-checked by
 * scripts/install-tools.sh `operator`), its own CRD and RBAC, run out of cluster as its ServiceAccount against a real
 * control plane (test/helpers/controlplane.ts: kube-apiserver v1.34.1, Crossplane v2.2.1, provider-kubernetes v1.2.1).
 *
 * The operator makes two clusters from the seed manifests examples/minimal and examples/dev, applied unchanged
 * (its finalizer, its controller owner references, its StatefulSet: container `streambus`, volume claim templates
 * `data` and `raft-data`, selector app.kubernetes.io/{name=streambus,instance,managed-by=streambus-operator,component}).
 * Then the guide's steps, and what really happens at each:
 *  - the pre-flight dry run refuses the take-over in place (a StatefulSet's selector and templates are immutable);
 *  - `dev` first tries what the previous guide said (take over in place: refused, harmless) and an orphaned
 *    StatefulSet replaced without relabelling the pods (the new one cannot create its pods: AlreadyExists);
 *  - both then follow the guide: the operator's StatefulSet deleted with --cascade=orphan, its pods relabelled so the
 *    composed StatefulSet adopts them, the take-over; the StatefulSet controller rolls them, highest ordinal first.
 * Proven: the StreamBusCluster, ConfigMap, Services, PersistentVolumeClaims and PersistentVolumes keep their UIDs, and
 * the new pods claim the operator's PVCs; which pods rolled, in what order, and the fewest Ready brokers seen (sampled
 * every second); nothing deleted by garbage collection.
 *
 * STAND-IN: kwok fakes the pods (it marks every pod Running and Ready). On a real node the operator's pods never become
 * Ready (they crash-loop: broker-contract.md §7), so the "ready brokers" figures here are kwok's; the guide says what a
 * real node shows. Figures and steps: .tmp/operator-adoption-report.json, printed at the end.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ControlPlane, controlPlaneAvailable, waitFor } from '../helpers/controlplane.js';
import { ROOT, requireTool } from '../helpers/tools.js';

type Obj = Record<string, any>;

const OPERATOR_DIR = join(ROOT, '..', 'shared', 'tools', 'streambus-operator-v1.0.1');
const available = controlPlaneAvailable();
const operatorBin = available ? requireTool('streambus-operator', 'the real StreamBus operator, for the adoption scenario (scripts/install-tools.sh operator)') : undefined;
const XRS = 'streambusclusters.streambus.io';
const OBJECTS = 'objects.kubernetes.m.crossplane.io';
const TAKE_OVER = 'Observe,Create,Update,LateInitialize';
const OPERATOR_FINALIZER = 'streambus.io/finalizer';

/** Every leaf of an object as a dotted path (arrays as leaves). */
const leafPaths = (o: unknown, prefix = ''): string[] =>
  o && typeof o === 'object' && !Array.isArray(o) ? Object.entries(o as Obj).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k)).sort() : [prefix];
const seedOf = (example: string): Obj => parse(readFileSync(join(ROOT, 'examples', example, 'claim.yaml'), 'utf8')) as Obj;
const functionName = (): string => (parse(readFileSync(join(ROOT, 'compositions/v2/composition.yaml'), 'utf8')) as Obj).spec.pipeline[0].functionRef.name;
const cond = (o: Obj | undefined, type: string): Obj | undefined => ((o?.status?.conditions ?? []) as Obj[]).find((c) => c.type === type);
const condLine = (o: Obj | undefined) => ((o?.status?.conditions ?? []) as Obj[]).map((c) => `${c.type}=${c.status}${c.reason ? `/${c.reason}` : ''}`).join(' ');
const isReady = (p: Obj) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && cond(p, 'Ready')?.status === 'True';
const round = (s: number) => Math.round(s * 10) / 10;
const ordinal = (podName: string) => Number(podName.slice(podName.lastIndexOf('-') + 1));

interface PodFacts {
  uid: string;
  ready: boolean;
  revision: string | undefined;
  owner: string | null;
  claims: string[];
}
interface PvcFacts {
  uid: string;
  volume: string;
  phase: string;
  owners: number;
}
interface Cluster {
  example: string;
  name: string;
  ns: string;
  replicas: number;
}
const CLUSTERS: Cluster[] = ['minimal', 'dev'].map((example) => {
  const s = seedOf(example);
  return { example, name: s.metadata.name as string, ns: s.metadata.namespace as string, replicas: s.spec.replicas as number };
});

const report: Obj = { steps: [] as string[], clusters: {} as Obj };
const t0 = Date.now();
const step = (s: string) => {
  const line = `+${round((Date.now() - t0) / 1000)} s ${s}`;
  (report.steps as string[]).push(line);
  process.stdout.write(`[operator-adoption] ${line}\n`);
};

describe.skipIf(!available || !operatorBin)('moving from the real StreamBus operator v1.0.1 (real control plane; kwok pods: a stand-in for nodes)', () => {
  let cp: ControlPlane;
  let failed = false;
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });

  beforeAll(async () => {
    cp = await ControlPlane.start();
    await cp.installFunction(functionName());
    await cp.seedInfrastructure({ full: false });
    report.boot = { ...cp.timings };
  }, 1_200_000);

  afterAll(async () => {
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    writeFileSync(join(ROOT, '.tmp', 'operator-adoption-report.json'), JSON.stringify(report, null, 2));
    process.stdout.write(`\n== moving from the real operator: report (.tmp/operator-adoption-report.json)\n${JSON.stringify(report, null, 2)}\n`);
    if (!cp) return;
    if (failed) process.stdout.write(cp.logTails(40));
    await cp.stop();
  }, 120_000);

  /** Everything that must survive, and what the pods are, for one cluster. */
  const snapshot = async (c: Cluster) => {
    const uid = async (kind: string, name: string) => (await cp.get(kind, name, c.ns))?.metadata.uid as string | undefined;
    const claimName = new RegExp(`^(data|raft|raft-data)-${c.name}-\\d+$`);
    const pvcs = (await cp.list('pvc', c.ns)).filter((p) => claimName.test(p.metadata.name));
    const pods = await cp.list('pods', c.ns, `app.kubernetes.io/instance=${c.name}`);
    const sts = await cp.get('statefulset', c.name, c.ns);
    return {
      streamBusCluster: await uid(XRS, c.name),
      configMap: await uid('configmap', `${c.name}-config`),
      headlessService: await uid('service', `${c.name}-headless`),
      clientService: await uid('service', c.name),
      clientServiceClusterIP: (await cp.get('service', c.name, c.ns))?.spec.clusterIP as string | undefined,
      statefulSet: sts ? { uid: sts.metadata.uid, selector: sts.spec.selector.matchLabels, volumeClaimTemplates: (sts.spec.volumeClaimTemplates as Obj[]).map((t) => t.metadata.name), containers: (sts.spec.template.spec.containers as Obj[]).map((x) => x.name), owners: ((sts.metadata.ownerReferences ?? []) as Obj[]).map((o) => `${o.kind}/${o.name}${o.controller ? ' (controller)' : ''}`) } : undefined,
      pvcs: Object.fromEntries(pvcs.map((p) => [p.metadata.name, { uid: p.metadata.uid, volume: p.spec.volumeName, phase: p.status?.phase, owners: ((p.metadata.ownerReferences ?? []) as Obj[]).length }]).sort()) as Record<string, PvcFacts>,
      pvs: Object.fromEntries(await Promise.all(pvcs.filter((p) => p.spec.volumeName).map(async (p) => [p.spec.volumeName, (await cp.get('pv', p.spec.volumeName))?.metadata.uid] as const))),
      pods: Object.fromEntries(
        pods
          .map((p) => [p.metadata.name, { uid: p.metadata.uid, ready: isReady(p), revision: p.metadata.labels?.['controller-revision-hash'], owner: ((p.metadata.ownerReferences ?? []) as Obj[]).find((o) => o.controller)?.uid ?? null, claims: ((p.spec.volumes ?? []) as Obj[]).filter((v) => v.persistentVolumeClaim).map((v) => v.persistentVolumeClaim.claimName).sort() }])
          .sort(),
      ) as Record<string, PodFacts>,
    };
  };

  /** Polls the cluster's pods every second until stopped: the fewest Ready seen, and when each ordinal got a new pod. */
  const sampler = (c: Cluster, before: Record<string, { uid: string }>) => {
    let stop = false;
    const s = { samples: 0, minReady: Number.POSITIVE_INFINITY, zeroReadySeconds: 0, replacedAt: {} as Record<string, number>, readyTimeline: [] as string[] };
    const start = Date.now();
    let lastZero: number | undefined;
    const loop = (async () => {
      let last = '';
      while (!stop) {
        const pods = await cp.list('pods', c.ns, `app.kubernetes.io/instance=${c.name}`).catch(() => undefined);
        if (pods) {
          const now = Date.now();
          const ready = pods.filter(isReady).length;
          s.samples++;
          s.minReady = Math.min(s.minReady, ready);
          if (ready === 0) {
            if (lastZero !== undefined) s.zeroReadySeconds += (now - lastZero) / 1000;
            lastZero = now;
          } else lastZero = undefined;
          for (const p of pods) {
            const n = p.metadata.name as string;
            if (before[n] && before[n]!.uid !== p.metadata.uid && s.replacedAt[n] === undefined) s.replacedAt[n] = round((now - start) / 1000);
          }
          const line = pods.map((p) => `${ordinal(p.metadata.name)}:${before[p.metadata.name]?.uid === p.metadata.uid ? 'operator' : 'new'}${isReady(p) ? '+ready' : p.metadata.deletionTimestamp ? '-terminating' : '-notready'}`).sort().join(' ');
          if (line !== last) s.readyTimeline.push(`+${round((now - start) / 1000)} s ready=${ready} ${line}`);
          last = line;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    return {
      stats: s,
      stop: async () => {
        stop = true;
        await loop;
        return { ...s, minReady: Number.isFinite(s.minReady) ? s.minReady : null, zeroReadySeconds: round(s.zeroReadySeconds) };
      },
    };
  };

  it('the operator makes the seeds\' clusters; the guide\'s steps move them to the composition: same StreamBusCluster, Services, ConfigMap and volume claims, pods rolled highest ordinal first', async () => {
    // ------------------------------------------------------------------ the operator, as its README installs it
    await cp.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'streambus-system' } }]);
    // Client-side apply, as `kubectl apply -f config/crd/` does: the CRD has no controller owner reference.
    await cp.k(['apply', '-f', '-'], readFileSync(join(OPERATOR_DIR, 'config/crd/streambus.io_streambusclusters.yaml'), 'utf8'));
    await cp.k(['apply', '-f', '-'], readFileSync(join(OPERATOR_DIR, 'config/rbac/rbac.yaml'), 'utf8'));
    await cp.crdsEstablished([XRS]);
    const token = (await cp.k(['create', 'token', 'streambus-operator', '-n', 'streambus-system', '--duration=2h'])).trim();
    const kubeconfig = join(cp.dir, 'operator.kubeconfig');
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'e2e', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority': join(cp.dir, 'pki', 'ca.crt') } }],
        users: [{ name: 'streambus-operator', user: { token } }],
        contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'streambus-operator' } }],
        'current-context': 'e2e',
      }),
    );
    const operator = cp.spawn('streambus-operator', cp.ns, [operatorBin!, '-kubeconfig', kubeconfig, '-metrics-bind-address', '127.0.0.1:0', '-health-probe-bind-address', '127.0.0.1:0']);
    step(`started the real operator (pid ${operator.pid}) as ServiceAccount streambus-system/streambus-operator with its own RBAC`);
    // kubectl's default field validation is Strict: the operator's CRD refuses fields it does not know. A user of the
    // operator could only apply such a manifest with --validate=false, which makes the apiserver drop those fields.
    const admitted: Record<string, Obj> = {};
    for (const c of CLUSTERS) {
      const manifest = readFileSync(join(ROOT, 'examples', c.example, 'claim.yaml'), 'utf8');
      const strict = await cp.kubectl(['apply', '-f', '-'], manifest);
      admitted[c.name] = { strict: strict.code === 0 ? 'accepted' : strict.stderr.trim().slice(0, 400) };
      if (strict.code !== 0) {
        expect(strict.stderr).toMatch(/strict decoding error: unknown field/);
        await cp.k(['apply', '--validate=false', '-f', '-'], manifest);
        admitted[c.name]!.appliedWith = '--validate=false';
      }
    }
    step(`applied examples/{${CLUSTERS.map((c) => c.example).join(',')}}/claim.yaml unchanged: ${JSON.stringify(admitted)}`);

    const operatorMade: Record<string, Awaited<ReturnType<typeof snapshot>>> = {};
    for (const c of CLUSTERS) {
      operatorMade[c.name] = await waitFor(
        `the operator's cluster ${c.ns}/${c.name}: StatefulSet, ${c.replicas} Ready pods, ${2 * c.replicas} Bound PVCs`,
        async () => {
          const s = await snapshot(c);
          const pods = Object.values(s.pods);
          const pvcs = Object.values(s.pvcs);
          return s.statefulSet && pods.length === c.replicas && pods.every((p) => p.ready) && pvcs.length === 2 * c.replicas && pvcs.every((p) => p.phase === 'Bound') ? s : undefined;
        },
        300_000,
        2000,
        // On a timeout, everything that could hold it up: the operator, the StatefulSet, each pod and claim, the
        // namespace's events, the controllers that bind claims (kube-controller-manager) and make pods Ready (kwok).
        async () => {
          const pods = (await cp.list('pods', c.ns, `app.kubernetes.io/instance=${c.name}`)).map((p) => `${p.metadata.name} ${p.status?.phase} node=${p.spec.nodeName ?? '-'} ${((p.status?.conditions ?? []) as Obj[]).map((x) => `${x.type}=${x.status}${x.reason ? `(${x.reason})` : ''}`).join(',')}`);
          const pvcs = (await cp.list('pvc', c.ns)).map((p) => `${p.metadata.name} ${p.status?.phase} ${p.spec.storageClassName ?? '-'} ${p.spec.resources?.requests?.storage} → ${p.spec.volumeName ?? '-'}`);
          const events = (await cp.kubectl(['get', 'events', '-n', c.ns, '--sort-by=.lastTimestamp'])).stdout.split('\n').slice(-12).join('\n');
          return [
            cp.logTail('streambus-operator', 15),
            `StatefulSet status: ${JSON.stringify((await cp.get('statefulset', c.name, c.ns))?.status)}`,
            `pods:\n  ${pods.join('\n  ')}`,
            `claims:\n  ${pvcs.join('\n  ')}`,
            `events:\n${events}`,
            cp.logTail('kube-controller-manager', 10),
            cp.logTail('kwok', 10),
          ].join('\n');
        },
      );
      const cr = (await cp.get(XRS, c.name, c.ns))!;
      const sts = (await cp.get('statefulset', c.name, c.ns))!;
      const seedPaths = leafPaths(seedOf(c.example).spec);
      const storedPaths = leafPaths(cr.spec);
      report.clusters[c.name] = {
        operatorMade: {
          ...operatorMade[c.name],
          finalizers: cr.metadata.finalizers,
          status: { phase: cr.status?.phase, replicas: cr.status?.replicas, readyReplicas: cr.status?.readyReplicas },
          admission: admitted[c.name],
          specFieldsDroppedByTheOperatorCrd: seedPaths.filter((x) => !storedPaths.includes(x)),
          specFieldsDefaultedByTheOperatorCrd: storedPaths.filter((x) => !seedPaths.includes(x)),
          podManagementPolicy: sts.spec.podManagementPolicy,
          serviceName: sts.spec.serviceName,
          configMapKeys: Object.keys((await cp.get('configmap', `${c.name}-config`, c.ns))?.data ?? {}),
          ownersOfConfigMapAndServices: await Promise.all(
            [['configmap', `${c.name}-config`], ['service', `${c.name}-headless`], ['service', c.name]].map(async ([k, n]) => `${k}/${n}: ${((await cp.get(k!, n!, c.ns))?.metadata.ownerReferences ?? []).map((o: Obj) => `${o.kind}/${o.name}${o.controller ? ' (controller)' : ''}`).join(',')}`),
          ),
        },
      };
      // What the real operator made: its finalizer, controller owner references, its own StatefulSet shape.
      expect(cr.metadata.finalizers).toContain(OPERATOR_FINALIZER);
      const s = operatorMade[c.name]!;
      expect(s.statefulSet!.owners).toEqual([`StreamBusCluster/${c.name} (controller)`]);
      expect(s.statefulSet!.containers).toEqual(['streambus']);
      expect(s.statefulSet!.volumeClaimTemplates).toEqual(['data', 'raft-data']);
      expect(s.statefulSet!.selector['app.kubernetes.io/managed-by']).toBe('streambus-operator');
      expect(Object.keys(s.pvcs).sort()).toEqual([...Array(c.replicas).keys()].flatMap((i) => [`data-${c.name}-${i}`, `raft-data-${c.name}-${i}`]).sort());
      for (const p of Object.values(s.pvcs)) expect(p.owners).toBe(0); // the StatefulSet's default retention: the claims are not owned
    }
    step('the operator\'s clusters run (kwok: pods Running and Ready; on a real node they crash-loop, broker-contract.md §7)');

    // ------------------------------------------------------------------ step 2: stop the operator
    await cp.kill('streambus-operator');
    expect(operator.exitCode !== null || operator.signalCode !== null).toBe(true);
    step('step 2: stopped the operator');

    // ------------------------------------------------------------------ steps 3-4: detach, annotate
    for (const c of CLUSTERS) {
      for (const [kind, n] of [['configmap', `${c.name}-config`], ['service', `${c.name}-headless`], ['service', c.name], ['statefulset', c.name]] as const) {
        await cp.k(['patch', kind, n, '-n', c.ns, '--type=json', '-p', '[{"op":"remove","path":"/metadata/ownerReferences"}]']);
      }
      // The operator's headless Service names its Raft port 7000 `raft`; the function's names its own (9093) so. A
      // server-side apply keeps the entries another manager set, so both would stay: two ports named `raft`, refused.
      await cp.k(['patch', 'service', `${c.name}-headless`, '-n', c.ns, '--type=json', '-p', '[{"op":"remove","path":"/spec/ports"}]']);
      const cr = (await cp.get(XRS, c.name, c.ns))!;
      const idx = (cr.metadata.finalizers as string[]).indexOf(OPERATOR_FINALIZER);
      await cp.k(['patch', XRS, c.name, '-n', c.ns, '--type=json', '-p', JSON.stringify([{ op: 'test', path: `/metadata/finalizers/${idx}`, value: OPERATOR_FINALIZER }, { op: 'remove', path: `/metadata/finalizers/${idx}` }])]);
      // The operator's status.endpoints is an object ({brokers, http, metrics}); the XRD's is a list (as the operator's
      // README documents it). Left in place, it blocks every reconcile of the XR (shown below with dev).
      if (c.example !== 'dev') await cp.k(['patch', XRS, c.name, '-n', c.ns, '--subresource=status', '--type=json', '-p', '[{"op":"remove","path":"/status"}]']);
      await cp.k(['annotate', XRS, c.name, '-n', c.ns, 'streambus.io/management-policies=Observe', 'streambus.io/raft-claim-template=raft-data']);
    }
    step('steps 3-4: owner references removed from the ConfigMap, Services and StatefulSet; the headless Service\'s ports removed; the operator\'s finalizer and status removed (dev: status kept, to show why); annotated Observe and raft-claim-template=raft-data');

    // ------------------------------------------------------------------ step 5: the Crossplane 2 API adopts the CRD
    const apiStart = Date.now();
    await cp.installApiV2({ directModeRbac: false });
    const crdOwner = ((await cp.get('crd', XRS))?.metadata.ownerReferences as Obj[] | undefined)?.find((o) => o.controller);
    expect(crdOwner?.kind).toBe('CompositeResourceDefinition');
    step(`step 5: v2 XRD and Compositions installed; CRD ${XRS} now controlled by ${crdOwner?.kind}/${crdOwner?.name}`);
    {
      // dev kept the operator's status: Crossplane cannot write the XR at all until it is removed.
      const c = CLUSTERS.find((x) => x.example === 'dev')!;
      const blocked = await waitFor(
        `${c.name}: the XR blocked by the operator's status.endpoints`,
        async () => {
          const s = cond(await cp.get(XRS, c.name, c.ns), 'Synced');
          return s?.status === 'False' && /status\.endpoints/.test(String(s.message)) ? s : undefined;
        },
        240_000,
        2000,
        async () => condLine(await cp.get(XRS, c.name, c.ns)),
      );
      expect((await cp.list(OBJECTS, c.ns)).filter((o) => o.metadata.labels?.['crossplane.io/composite'] === c.name)).toEqual([]);
      report.clusters[c.name].operatorStatusKept = { xrSynced: `${blocked.status}/${blocked.reason}`, message: String(blocked.message).slice(0, 500), composedObjects: 0 };
      step(`${c.name}: with the operator's status left, the XR is Synced=False: ${String(blocked.message).slice(0, 200)}`);
      await cp.k(['patch', XRS, c.name, '-n', c.ns, '--subresource=status', '--type=json', '-p', '[{"op":"remove","path":"/status"}]']);
      step(`${c.name}: operator's status removed`);
    }
    const stsObjectOf = async (c: Cluster) => (await cp.list(OBJECTS, c.ns)).find((o) => o.metadata.labels?.['crossplane.io/composite'] === c.name && o.spec.forProvider.manifest.kind === 'StatefulSet');
    for (const c of CLUSTERS) {
      // provider-kubernetes v1.2.1 observes with a server-side dry run of what it would apply: the ConfigMap and the
      // Services observe (Synced), the operator's StatefulSet is already refused (its immutable fields).
      const observed = await waitFor(
        `${c.ns}/${c.name}: the Objects (Observe) of the ConfigMap and Services Synced; the StatefulSet's refused`,
        async () => {
          const objs = (await cp.list(OBJECTS, c.ns)).filter((o) => o.metadata.labels?.['crossplane.io/composite'] === c.name);
          const kind = (k: string) => objs.filter((o) => o.spec.forProvider.manifest.kind === k);
          const synced = [...kind('ConfigMap'), ...kind('Service')];
          const sts = kind('StatefulSet')[0];
          const refusal = cond(sts, 'Synced');
          return synced.length === 3 && synced.every((o) => cond(o, 'Synced')?.status === 'True') && refusal?.status === 'False' && /Forbidden: updates to statefulset spec/.test(String(refusal.message)) ? { sts: sts!, refusal, objs } : undefined;
        },
        300_000,
        2000,
        async () => `${condLine(await cp.get(XRS, c.name, c.ns))}\n${(await cp.list(OBJECTS, c.ns)).map((o) => `${o.metadata.name}: ${JSON.stringify(o.spec.managementPolicies)} ${condLine(o)} ${String(cond(o, 'Synced')?.message ?? '').slice(0, 400)}`).join('\n')}\n${cp.logTail('provider-kubernetes', 10)}`,
      );
      const obj = observed.sts;
      const xr = (await cp.get(XRS, c.name, c.ns))!;
      expect(xr.metadata.uid).toBe(operatorMade[c.name]!.streamBusCluster);
      expect(obj.spec.managementPolicies).toEqual(['Observe']);
      const desired = obj.spec.forProvider.manifest as Obj;
      expect((desired.spec.volumeClaimTemplates as Obj[]).map((t) => t.metadata.name)).toEqual(['data', 'raft-data']);
      // The guide's pre-flight: a server-side dry run of what the Object would write, against the operator's StatefulSet.
      const dry = await cp.kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=preflight', '--force-conflicts', '-o', 'json', '-f', '-'], JSON.stringify(desired));
      const live = await snapshot(c);
      expect(live.pods).toEqual(operatorMade[c.name]!.pods); // Observe wrote nothing
      expect(dry.code).not.toBe(0);
      expect(dry.stderr).toMatch(/Forbidden: updates to statefulset spec for fields other than/);
      report.clusters[c.name].step5 = {
        secondsAfterApiInstall: round((Date.now() - apiStart) / 1000),
        xrFinalizers: xr.metadata.finalizers,
        xrConditions: condLine(xr),
        preflightDryRun: dry.stderr.trim().slice(0, 600),
        statefulSetObjectInObserve: `Synced=${observed.refusal.status}/${observed.refusal.reason}: ${String(observed.refusal.message).slice(0, 400)}`,
        objects: observed.objs.map((o) => `${o.metadata.name}: ${condLine(o)}`),
        renderedSelector: desired.spec.selector.matchLabels,
      };
    }
    step('step 5: the ConfigMap and Service Objects observe; the StatefulSet Object and the pre-flight dry run refuse the take-over in place (immutable selector and templates)');

    // ------------------------------------------------------------------ dev: what the previous guide said, and a replacement without relabelling
    const dev = CLUSTERS.find((c) => c.example === 'dev')!;
    {
      const c = dev;
      await cp.k(['annotate', XRS, c.name, '-n', c.ns, '--overwrite', `streambus.io/management-policies=${TAKE_OVER}`]);
      const refused = await waitFor(
        `${c.name}: the in-place take-over refused by the apiserver`,
        async () => {
          const o = await stsObjectOf(c);
          const s = cond(o, 'Synced');
          return o && JSON.stringify(o.spec.managementPolicies) === JSON.stringify(TAKE_OVER.split(',')) && s?.status === 'False' && /Forbidden/.test(String(s.message)) ? s : undefined;
        },
        240_000,
        2000,
        async () => condLine(await stsObjectOf(c)),
      );
      await new Promise((r) => setTimeout(r, 20_000)); // time for a write, had one been made
      const live = await snapshot(c);
      expect(live.statefulSet!.uid).toBe(operatorMade[c.name]!.statefulSet!.uid);
      expect(live.pods).toEqual(operatorMade[c.name]!.pods);
      report.clusters[c.name].inPlaceTakeOver = { objectSynced: `${refused.status}/${refused.reason}`, message: String(refused.message).slice(0, 600), statefulSetAndPodsUnchanged: true };
      step(`${c.name}: the in-place take-over (the previous guide): the Object reports Synced=False, nothing changed`);

      await cp.k(['delete', 'statefulset', c.name, '-n', c.ns, '--cascade=orphan', '--wait=true']);
      // Kubernetes v1.34's StatefulSet controller records no event for it: it logs the error and requeues with backoff.
      const logLine = `error syncing StatefulSet ${c.ns}/${c.name}, requeuing: pods \\"${c.name}-0\\" already exists`;
      const replaced = await waitFor(
        `${c.name}: the composed StatefulSet created, unable to create its pods`,
        async () => {
          const sts = await cp.get('statefulset', c.name, c.ns);
          if (!sts || sts.metadata.uid === operatorMade[c.name]!.statefulSet!.uid) return undefined;
          const lines = cp.logTail('kube-controller-manager', 400).split('\n').filter((l) => l.includes(logLine));
          return lines.length >= 2 && (sts.status?.replicas ?? 0) === 0 ? { sts, lines } : undefined;
        },
        240_000,
        2000,
        async () => `${JSON.stringify((await cp.get('statefulset', c.name, c.ns))?.status)}\n${cp.logTail('kube-controller-manager', 5)}`,
      );
      const live2 = await snapshot(c);
      expect(live2.pods).toEqual(Object.fromEntries(Object.entries(operatorMade[c.name]!.pods).map(([n, p]) => [n, { ...p, owner: null }])));
      report.clusters[c.name].orphanedWithoutRelabel = { statefulSetStatus: replaced.sts.status, kubeControllerManager: replaced.lines.slice(0, 4).map((l) => l.slice(0, 300)), podsOrphanedNotAdopted: Object.keys(live2.pods) };
      step(`${c.name}: StatefulSet deleted with --cascade=orphan; the composed one cannot create its pods (already exists; retried with a growing backoff) until they match its selector`);
    }

    // ------------------------------------------------------------------ step 6, by the guide: orphan, relabel, take over; the roll
    for (const c of CLUSTERS) {
      const before = operatorMade[c.name]!;
      const watch = sampler(c, before.pods);
      const started = Date.now();
      if (c !== dev) await cp.k(['delete', 'statefulset', c.name, '-n', c.ns, '--cascade=orphan', '--wait=true']);
      await waitFor(`${c.name}: the orphaned pods lose their owner reference`, async () => {
        const pods = await cp.list('pods', c.ns, `app.kubernetes.io/instance=${c.name}`);
        return pods.length === c.replicas && pods.every((p) => !(p.metadata.ownerReferences ?? []).some((o: Obj) => o.uid === before.statefulSet!.uid)) ? true : undefined;
      }, 120_000, 1000);
      await cp.k(['label', 'pods', '-n', c.ns, '-l', `app.kubernetes.io/instance=${c.name},app.kubernetes.io/managed-by=streambus-operator`, '--overwrite', 'app.kubernetes.io/name=streambus-broker']);
      if (c !== dev) await cp.k(['annotate', XRS, c.name, '-n', c.ns, '--overwrite', `streambus.io/management-policies=${TAKE_OVER}`]);
      const done = await waitFor(
        `${c.name}: the composed StatefulSet has rolled every pod, the XR Ready`,
        async () => {
          const sts = await cp.get('statefulset', c.name, c.ns);
          const xr = await cp.get(XRS, c.name, c.ns);
          const s = await snapshot(c);
          const pods = Object.values(s.pods);
          const rolled =
            sts && sts.metadata.uid !== before.statefulSet!.uid && sts.status?.updatedReplicas === c.replicas && sts.status?.readyReplicas === c.replicas && sts.status.currentRevision === sts.status.updateRevision &&
            pods.length === c.replicas && pods.every((p) => p.ready && p.owner === sts.metadata.uid && p.revision === sts.status.updateRevision);
          return rolled && cond(xr, 'Ready')?.status === 'True' && xr?.status?.phase === 'Running' ? { s, xr, sts } : undefined;
        },
        420_000,
        2000,
        async () => `${condLine(await cp.get(XRS, c.name, c.ns))}\n${JSON.stringify((await cp.get('statefulset', c.name, c.ns))?.status)}\n${watch.stats.readyTimeline.slice(-5).join('\n')}`,
      );
      const seconds = (Date.now() - started) / 1000;
      const roll = await watch.stop();
      const after = done.s;
      const order = Object.entries(roll.replacedAt).sort((a, b) => a[1] - b[1]).map(([n]) => n);
      report.clusters[c.name].step6 = {
        secondsToRolledAndReady: round(seconds),
        replacementOrder: order,
        replacedAtSeconds: roll.replacedAt,
        fewestReadyBrokersSeen: roll.minReady,
        secondsWithZeroReady: roll.zeroReadySeconds,
        samples: roll.samples,
        readyTimeline: roll.readyTimeline,
        xrConditions: condLine(done.xr),
        configMapKeys: Object.keys((await cp.get('configmap', `${c.name}-config`, c.ns))?.data ?? {}),
      };
      report.clusters[c.name].after = after;
      step(`step 6 ${c.name}: rolled in ${round(seconds)} s, order ${order.join(' → ')}, fewest Ready ${roll.minReady}`);

      // Kept: the StreamBusCluster (now the XR), the ConfigMap, the Services (and the client Service's address),
      // every PVC and PV (same UIDs, same bindings), and no new claim was made.
      for (const k of ['streamBusCluster', 'configMap', 'headlessService', 'clientService', 'clientServiceClusterIP'] as const) expect(after[k], k).toBe(before[k]);
      expect(after.pvcs).toEqual(before.pvcs);
      expect(after.pvs).toEqual(before.pvs);
      // Replaced: the StatefulSet (new UID, the composition's selector and templates) and every pod, each claiming
      // the operator's volumes data-<pod> and raft-data-<pod>.
      expect(after.statefulSet!.uid).not.toBe(before.statefulSet!.uid);
      expect(after.statefulSet!.selector).toEqual({ 'app.kubernetes.io/name': 'streambus-broker', 'app.kubernetes.io/instance': c.name });
      expect(after.statefulSet!.volumeClaimTemplates).toEqual(['data', 'raft-data']);
      for (const [n, p] of Object.entries(after.pods)) {
        expect(p.uid, n).not.toBe(before.pods[n]!.uid);
        expect(p.claims, n).toEqual([`data-${n}`, `raft-data-${n}`]);
      }
      // The StatefulSet controller rolled them: highest ordinal first, one at a time.
      expect(order).toEqual(Object.keys(before.pods).sort((a, b) => ordinal(b) - ordinal(a)));
      if (c.replicas > 1) expect(roll.minReady).toBe(c.replicas - 1); // kwok: the operator's pods are Ready (a real node: never)
      const xr = done.xr;
      expect(xr.metadata.finalizers ?? []).not.toContain(OPERATOR_FINALIZER);
      expect(cond(xr, 'Ready')?.status).toBe('True');
      // Composed what the operator never made: the connection Secret, and the PodDisruptionBudget (not for one broker).
      expect(await cp.get('secret', `${c.name}-connection`, c.ns)).toBeDefined();
      if (c.replicas > 1) expect(await cp.get('poddisruptionbudget', c.name, c.ns)).toBeDefined();
    }
    report.totalSeconds = round((Date.now() - t0) / 1000);
  }, 1_500_000);
});
