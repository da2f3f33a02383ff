/**
 * The product on a real control plane (test/helpers/controlplane.ts): real kube-apiserver, real Crossplane v2.2.1 with
 * its own certificates and RBAC, real provider-kubernetes v1.2.1, kwok for nodes. Installed as a platform team does
 * (Function package from the registry, XRD + Compositions, deploy/ RBAC and ProviderConfig); every assertion reads
 * the claim's own status the way `kubectl get` shows it.
 *
 * Figures (time to Ready, conditions seen, memory) are printed at the end and written to .tmp/controlplane-report.json.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ControlPlane, controlPlaneAvailable, waitFor } from '../helpers/controlplane.js';
import { EXAMPLES } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;

const available = controlPlaneAvailable();
const CLAIMS = 'streambusclusters.streambus.io';
const READY_TIMEOUT = 240_000;

const claimOf = (example: string): Obj => parse(readFileSync(join(ROOT, 'examples', example, 'claim.yaml'), 'utf8')) as Obj;
/** The Function name the Compositions call. */
const functionName = (): string => (parse(readFileSync(join(ROOT, 'compositions/composition.yaml'), 'utf8')) as Obj).spec.pipeline[0].functionRef.name;

const cond = (o: Obj | undefined, type: string): Obj | undefined => ((o?.status?.conditions ?? []) as Obj[]).find((c) => c.type === type);
const condLine = (o: Obj | undefined) => ((o?.status?.conditions ?? []) as Obj[]).map((c) => `${c.type}=${c.status}${c.reason ? `/${c.reason}` : ''}`).join(' ');

interface Report {
  boot: Record<string, number>;
  scenarios: { name: string; seconds: number; conditions: string; note?: string }[];
  memoryMiB?: Record<string, number>;
}
const report: Report = { boot: {}, scenarios: [] };

describe.skipIf(!available)('on a real control plane (kube-apiserver, Crossplane v2.2.1, provider-kubernetes v1.2.1, kwok)', () => {
  let cp: ControlPlane;
  let failed = false;
  const t0 = () => Date.now();
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });

  const claim = (ns: string, name: string) => cp.get(CLAIMS, name, ns);
  /** Waits until the claim is READY=True with phase Running; returns it and the seconds it took. */
  const waitReady = async (ns: string, name: string, since: number, timeout = READY_TIMEOUT) => {
    const c = await waitFor(
      `claim ${ns}/${name} Ready with phase Running`,
      async () => {
        const c = await claim(ns, name);
        return cond(c, 'Ready')?.status === 'True' && c?.status?.phase === 'Running' ? c : undefined;
      },
      timeout,
      1000,
      async () => `${condLine(await claim(ns, name))}\n${await cp.describe(CLAIMS, name, ns)}\n${cp.logTail('function-streambus', 10)}`,
    );
    return { claim: c, seconds: (Date.now() - since) / 1000 };
  };
  const sts = (ns: string, name: string) => cp.get('statefulset', name, ns);
  const record = (name: string, since: number, c: Obj | undefined, note?: string) =>
    report.scenarios.push({ name, seconds: Math.round((Date.now() - since) / 100) / 10, conditions: condLine(c), ...(note ? { note } : {}) });

  beforeAll(async () => {
    cp = await ControlPlane.start();
    await cp.installFunction(functionName());
    // The Direct-mode ClusterRole is applied later, by the scenario that first shows what happens without it.
    await cp.installApi({ directModeRbac: false });
    await cp.seedInfrastructure({ full: true });
    Object.assign(report.boot, cp.timings);
  }, 1_200_000);

  afterAll(async () => {
    if (!cp) return;
    report.memoryMiB = cp.memory();
    const total = Object.values(report.memoryMiB).reduce((a, b) => a + b, 0);
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    writeFileSync(join(ROOT, '.tmp', 'controlplane-report.json'), JSON.stringify({ ...report, memoryTotalMiB: total }, null, 2));
    process.stdout.write(
      `\n== real control plane report\nboot (ms): ${JSON.stringify(report.boot)}\n` +
        report.scenarios.map((s) => `- ${s.name}: ${s.seconds} s; ${s.conditions}${s.note ? `; ${s.note}` : ''}`).join('\n') +
        `\nmemory (MiB RSS): ${JSON.stringify(report.memoryMiB)} total ${total}\n`,
    );
    if (failed) process.stdout.write(cp.logTails(40));
    await cp.stop();
  }, 120_000);

  it('each of the five seed claims, applied unchanged, becomes Ready with phase Running', async () => {
    const started = t0();
    for (const ex of EXAMPLES) await cp.apply(readFileSync(join(ROOT, 'examples', ex, 'claim.yaml'), 'utf8'));
    const results = await Promise.all(
      EXAMPLES.map(async (ex) => {
        const c = claimOf(ex);
        const { claim: got, seconds } = await waitReady(c.metadata.namespace, c.metadata.name, started);
        return { ex, got, seconds, want: c.spec.replicas as number };
      }),
    );
    for (const { ex, got, seconds, want } of results) {
      expect(got.status.phase, ex).toBe('Running');
      expect(got.status.replicas, ex).toBe(want);
      expect(got.status.readyReplicas, ex).toBe(want);
      expect(cond(got, 'BrokersReady')?.status, ex).toBe('True');
      expect(cond(got, 'ResourcesApplied')?.status, ex).toBe('True');
      expect(cond(got, 'Synced')?.status, ex).toBe('True');
      report.scenarios.push({ name: `seed ${ex} (Object mode) Ready`, seconds: Math.round(seconds * 10) / 10, conditions: condLine(got) });
    }
    // The data path (issue 20): the claim says the broker does not replicate, and the client Service's endpoints, as
    // the real EndpointSlice controller computes them from the real StatefulSet controller's pod labels, are the data
    // broker alone; bootstrapServers names it.
    for (const { ex, got, want } of results) {
      const c = claimOf(ex);
      const name: string = c.metadata.name;
      expect(cond(got, 'DataReplicated'), ex).toMatchObject({ status: 'False', reason: want > 1 ? 'NotReplicatedByBroker' : 'SingleBroker' });
      expect(got.status.bootstrapServers, ex).toMatch(new RegExp(`^${name}-0\\.${name}-headless\\.${c.metadata.namespace}\\.svc\\.cluster\\.local:\\d+$`));
      const endpoints = await waitFor(
        `the client Service ${c.metadata.namespace}/${name}'s EndpointSlices to list its ready endpoints`,
        async () => {
          const slices = await cp.list('endpointslices', c.metadata.namespace, `kubernetes.io/service-name=${name}`);
          const eps = slices.flatMap((sl) => (sl.endpoints ?? []) as Obj[]).filter((e) => e.conditions?.ready);
          return eps.length > 0 ? eps.map((e) => e.targetRef?.name as string).sort() : undefined;
        },
        60_000,
      );
      expect(endpoints, `${ex}: the client Service's ready endpoints`).toEqual([`${name}-0`]);
    }
    // The secure example's AppArmor annotation names no container of ours: the StatefulSet exists (the apiserver took it).
    const secure = await sts('default', 'streambus-secure');
    expect(secure?.spec.template.spec.containers[0].securityContext.appArmorProfile).toEqual({ type: 'RuntimeDefault' });
    // Production: required anti-affinity and the node selector put one broker on each streaming node.
    const pods = await cp.list('pods', 'production', 'app.kubernetes.io/instance=streambus-production');
    expect(new Set(pods.map((p) => p.spec.nodeName))).toEqual(new Set([0, 1, 2, 3, 4].map((i) => `streaming-${i}`)));
  }, 600_000);

  it('Crossplane calls the function with its own client certificate, over mutual TLS, and the function answers', async () => {
    // Runs after the seed claims: Crossplane has called the function for them. The proof is the function's own log:
    // the TLS clients it accepted presented the certificate of the crossplane-tls-client Secret that
    // `crossplane core init` generated (compared by SHA-256 fingerprint), and RunFunction calls were answered ok.
    const secret = await cp.get('secret', 'crossplane-tls-client', 'crossplane-system');
    expect(secret?.data['tls.crt']).toBeTruthy();
    const crossplaneCert = new X509Certificate(Buffer.from(secret!.data['tls.crt'], 'base64'));
    const logs = cp.logLines('function-streambus').flatMap((l) => {
      try {
        return [JSON.parse(l) as Obj];
      } catch {
        return [];
      }
    });
    const accepted = logs.filter((l) => l.msg === 'accepted a TLS client');
    expect(accepted.length, 'the function accepted at least one TLS client').toBeGreaterThan(0);
    expect([...new Set(accepted.map((l) => l.fingerprint256))]).toEqual([crossplaneCert.fingerprint256]);
    const firstAccepted = logs.indexOf(accepted[0]!);
    const answered = logs.slice(firstAccepted).filter((l) => l.msg === 'RunFunction' && (l.result === 'ok' || l.result === 'warning'));
    expect(answered.length, 'RunFunction calls answered after the handshake').toBeGreaterThan(0);
    const seeds = EXAMPLES.map((ex) => (parse(readFileSync(join(ROOT, 'examples', ex, 'claim.yaml'), 'utf8')) as Obj).metadata.name as string);
    expect([...new Set(answered.map((l) => l.claimName))]).toEqual(expect.arrayContaining(seeds));
    // The only certificates refused are the start-up probe's two: Crossplane's never was. (The harness's own port
    // check, a TCP connect and close, is logged as "TLS handshake failed: socket hang up".)
    const refused = logs.filter((l) => l.msg === 'refused a TLS client' && !/^TLS handshake failed/.test(l.problem));
    expect(refused.map((l) => l.problem).sort()).toEqual(['no client certificate', 'the client certificate is not signed by a CA in ca.crt']);
  });

  it('the real apiserver refuses, from the XRD alone, what the README says kubectl apply refuses (server-side dry run)', async () => {
    const base = parse(readFileSync(join(ROOT, 'examples', 'minimal', 'claim.yaml'), 'utf8')) as Obj;
    const dryRun = async (patch: (c: Obj) => void) => {
      const c = structuredClone(base);
      c.metadata.name = 'parity-check';
      patch(c);
      const r = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(c));
      return { code: r.code, out: (r.stdout + r.stderr).trim() };
    };
    const cases: [string, (c: Obj) => void, RegExp | undefined][] = [
      ['memory: 1GB', (c) => (c.spec.resources = { limits: { memory: '1GB' } }), /spec\.resources\.limits\.memory/],
      ['a request above its limit', (c) => (c.spec.resources = { requests: { cpu: '4' }, limits: { cpu: '1' } }), /spec\.resources/],
      ['a request above its limit, written differently', (c) => (c.spec.resources = { requests: { memory: '2Gi' }, limits: { memory: '1024Mi' } }), /spec\.resources/],
      ['a fractional extended resource', (c) => (c.spec.resources = { requests: { 'nvidia.com/gpu': '500m' }, limits: { 'nvidia.com/gpu': '500m' } }), /spec\.resources\.requests/],
      ['a non-ASCII label value', (c) => (c.spec.podLabels = { team: 'équipe' }), /spec\.podLabels\.team/],
      ['the example itself', () => undefined, undefined],
      ['equal quantities written differently', (c) => (c.spec.resources = { requests: { memory: '1Gi' }, limits: { memory: '1024Mi' } }), undefined],
    ];
    const seen: Record<string, string> = {};
    for (const [name, patch, field] of cases) {
      const r = await dryRun(patch);
      seen[name] = r.out.split('\n')[0]!.slice(0, 300);
      if (field) {
        expect(r.code, `${name}: ${r.out}`).not.toBe(0);
        expect(r.out, name).toMatch(/is invalid|Invalid value|Unsupported value|should match/);
        expect(r.out, name).toMatch(field);
      } else {
        expect(r.code, `${name}: ${r.out}`).toBe(0);
      }
    }
    report.scenarios.push({ name: 'apiserver refusals (server-side dry run)', seconds: 0, conditions: JSON.stringify(seen) });
  });

  it('Direct mode without its ClusterRole: refused, the apiserver\'s "forbidden" reported on the XR, nothing Ready', async () => {
    const started = t0();
    const c = claimOf('dev');
    c.metadata.namespace = 'direct-dev';
    c.spec.compositionRef = { name: 'streambus-cluster-direct' };
    await cp.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'direct-dev' } }, c]);
    // Crossplane cannot apply the first composed resource; it says so in a Warning event on the XR (ComposeResources)
    // and leaves the claim waiting (Ready=False). This is what docs/troubleshooting.md tells a user to look for.
    const xrName = await waitFor('the claim to have its XR', async () => (await claim('direct-dev', 'streambus-dev'))?.spec?.resourceRef?.name as string | undefined, 60_000);
    const event = await waitFor(
      'a Warning event on the XR saying Crossplane may not compose the kinds',
      async () => {
        const evs = await cp.list('events', undefined, undefined);
        return evs.find((e) => e.involvedObject?.name === xrName && e.type === 'Warning' && /forbidden/.test(String(e.message)));
      },
      120_000,
      1000,
    );
    expect(event.reason).toBe('ComposeResources');
    expect(event.message).toMatch(/is forbidden: User "system:serviceaccount:crossplane-system:crossplane" cannot (patch|create|get)/);
    const got = await claim('direct-dev', 'streambus-dev');
    expect(cond(got, 'Ready')?.status).toBe('False');
    record('Direct mode without the ClusterRole: refused', started, got, `XR event ${event.reason}: ${String(event.message).slice(0, 220)}`);
  }, 300_000);

  it('Direct mode with the project\'s ClusterRole: the dev and multi-tenant claims become Ready', async () => {
    await cp.apply(readFileSync(join(ROOT, 'deploy/rbac/direct-mode-clusterrole.yaml'), 'utf8'));
    const started = t0();
    const mt = claimOf('multi-tenant');
    mt.metadata.namespace = 'direct-mt';
    mt.spec.compositionRef = { name: 'streambus-cluster-direct' };
    await cp.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'direct-mt' } }, mt]);
    await cp.apply([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'streambus-tls-certs', namespace: 'direct-mt' }, data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5' } }]);
    const [dev, multi] = await Promise.all([waitReady('direct-dev', 'streambus-dev', started), waitReady('direct-mt', 'streambus-multitenant', started)]);
    for (const r of [dev, multi]) expect(cond(r.claim, 'BrokersReady')?.status).toBe('True');
    // Direct mode composes the raw objects and the connection Secret.
    expect(await cp.get('secret', 'streambus-dev-connection', 'direct-dev')).toBeDefined();
    record('Direct mode dev Ready (after the ClusterRole)', started, dev.claim, `${dev.seconds.toFixed(1)} s`);
    record('Direct mode multi-tenant Ready', started, multi.claim, `${multi.seconds.toFixed(1)} s`);
  }, 600_000);

  describe('day 2 on the real loop (the minimal claim, Object mode)', () => {
    const ns = 'default';
    const name = 'streambus-minimal';
    const patch = (p: Obj) => cp.k(['patch', CLAIMS, name, '-n', ns, '--type=merge', '-p', JSON.stringify(p)]);

    it('a storage shrink is refused with a condition on the claim, and the StatefulSet is unchanged', async () => {
      const started = t0();
      const before = await sts(ns, name);
      await patch({ spec: { storage: { size: '5Gi' } } });
      const c = await waitFor('ConfigurationValid=False StorageShrinkRefused on the claim', async () => {
        const c = await claim(ns, name);
        return cond(c, 'ConfigurationValid')?.reason === 'StorageShrinkRefused' ? c : undefined;
      }, 120_000, 1000, async () => condLine(await claim(ns, name)));
      expect(cond(c, 'ConfigurationValid')?.message).toMatch(/spec\.storage\.size: keeping 10Gi \(requested 5Gi\)/);
      const after = await sts(ns, name);
      expect(after?.spec.volumeClaimTemplates).toEqual(before?.spec.volumeClaimTemplates);
      expect(after?.metadata.generation).toBe(before?.metadata.generation);
      await patch({ spec: { storage: { size: '10Gi' } } });
      record('storage shrink refused', started, c, String(cond(c, 'ConfigurationValid')?.message).slice(0, 160));
    }, 300_000);

    it('a replica change is refused with a condition on the claim, and the StatefulSet keeps 3 brokers', async () => {
      const started = t0();
      await patch({ spec: { replicas: 5 } });
      const c = await waitFor('ConfigurationValid=False ReplicaChangeRefused on the claim', async () => {
        const c = await claim(ns, name);
        return cond(c, 'ConfigurationValid')?.reason === 'ReplicaChangeRefused' ? c : undefined;
      }, 120_000, 1000, async () => condLine(await claim(ns, name)));
      expect((await sts(ns, name))?.spec.replicas).toBe(3);
      expect(c.status.replicas).toBe(3);
      await patch({ spec: { replicas: 3 } });
      await waitFor('ConfigurationValid=True again', async () => cond(await claim(ns, name), 'ConfigurationValid')?.status === 'True', 120_000);
      record('replica change refused', started, c);
    }, 300_000);

    it('an image change rolls the brokers: updateRevision changes, phase Updating, then Running', async () => {
      const started = t0();
      const before = await sts(ns, name);
      const phases: string[] = [];
      // Which broker pods are replaced, in what order, how often (the StatefulSet controller's rolling update).
      const uidOf = async () => Object.fromEntries((await cp.list('pods', ns, `app.kubernetes.io/instance=${name}`)).map((p) => [p.metadata.name as string, p.metadata.uid as string]));
      const lastUid = await uidOf();
      const replaced: string[] = [];
      await patch({ spec: { image: { tag: 'v1.0.1' } } });
      const done = await waitFor('the roll to finish with phase Running on the new revision', async () => {
        for (const [pod, uid] of Object.entries(await uidOf())) {
          if (lastUid[pod] !== uid) {
            replaced.push(pod);
            lastUid[pod] = uid;
          }
        }
        const c = await claim(ns, name);
        const p = String(c?.status?.phase);
        if (phases[phases.length - 1] !== p) phases.push(p);
        const s = await sts(ns, name);
        const rolled = s?.status?.updateRevision !== before?.status?.updateRevision && s?.status?.currentRevision === s?.status?.updateRevision;
        return rolled && p === 'Running' && phases.includes('Updating') && s?.spec.template.spec.containers[0].image.endsWith(':v1.0.1') ? c : undefined;
      }, 300_000, 300, async () => `phases ${phases.join(' → ')}`);
      expect(phases).toContain('Updating');
      expect(phases[phases.length - 1]).toBe('Running');
      // The data broker (ordinal 0) is restarted last, and once: the data path is interrupted once per roll.
      expect(replaced, 'pods replaced during the roll, in order').toEqual([`${name}-2`, `${name}-1`, `${name}-0`]);
      record('image change rolled', started, done, `phases seen: ${phases.join(' → ')}; pods replaced in order: ${replaced.join(', ')}`);
    }, 400_000);

    it('a broker pod deleted gives Degraded, then Running again', async () => {
      const started = t0();
      const phases: string[] = [];
      const track = async () => {
        const c = await claim(ns, name);
        const p = String(c?.status?.phase);
        if (phases[phases.length - 1] !== p) phases.push(p);
        return { c, p };
      };
      // The nodes are cordoned first, so the replacement pod waits (Pending) until the test lets it schedule: the
      // Degraded window is as long as the test needs, however slowly the machine reconciles.
      const nodes = (await cp.list('nodes')).map((n) => n.metadata.name as string);
      await cp.k(['cordon', ...nodes]);
      try {
        await cp.k(['delete', 'pod', `${name}-1`, '-n', ns, '--grace-period=5', '--wait=false']);
        // The claim's status fields and its conditions are copied from the XR separately: wait for both to agree.
        const degraded = await waitFor('phase Degraded with 2/3 brokers ready and BrokersReady=False', async () => {
          const { c, p } = await track();
          return p === 'Degraded' && cond(c, 'BrokersReady')?.status === 'False' ? c : undefined;
        }, 240_000, 500, async () => `phases ${phases.join(' → ')}`);
        expect(degraded.status.readyReplicas).toBe(2);
        expect(cond(degraded, 'BrokersReady')).toMatchObject({ status: 'False', reason: 'BrokersNotReady' });
      } finally {
        await cp.k(['uncordon', ...nodes]);
      }
      const c = await waitFor('phase Running again', async () => {
        const { c, p } = await track();
        return p === 'Running' && c?.status?.readyReplicas === 3 ? c : undefined;
      }, 240_000, 500, async () => `phases ${phases.join(' → ')}`);
      expect(phases.every((p) => p === 'Running' || p === 'Degraded'), phases.join(' → ')).toBe(true);
      expect(phases.slice(-2)).toEqual(['Degraded', 'Running']);
      record('broker pod deleted: Degraded then Running', started, c, `phases seen: ${phases.join(' → ')}`);
    }, 600_000);

    it('a node drain evicts the data broker through the PodDisruptionBudget; clients are never pointed at another broker', async () => {
      const started = t0();
      const podName = `${name}-0`;
      const before = await cp.get('pod', podName, ns);
      const node: string = before?.spec.nodeName;
      expect(node).toBeTruthy();
      // Sample the client Service's endpoints (the real EndpointSlice controller) all through the drain.
      const seen = new Set<string>();
      let emptySamples = 0;
      let samples = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const slices = await cp.list('endpointslices', ns, `kubernetes.io/service-name=${name}`).catch(() => []);
          const names = slices.flatMap((sl) => ((sl.endpoints ?? []) as Obj[]).map((e) => e.targetRef?.name as string));
          for (const n of names) seen.add(n);
          if (names.length === 0) emptySamples++;
          samples++;
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
      try {
        // kubectl drain goes through the Eviction API, which the PodDisruptionBudget (maxUnavailable 1) governs.
        // Other brokers of the cluster on the same node are evicted too, one at a time as the budget allows (each waits
        // for the previous one to be Ready again, ~60 s of graceful termination each): kubectl gets the drain's own bound.
        const drained = await cp.kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', `--pod-selector=app.kubernetes.io/instance=${name}`, '--timeout=300s'], undefined, 330_000);
        expect(drained.code, `kubectl drain: ${drained.stderr}`).toBe(0);
        const back = await waitFor(`${podName} running again elsewhere, Ready, the client Service's only endpoint`, async () => {
          const p = await cp.get('pod', podName, ns);
          if (!p || p.metadata.uid === before?.metadata.uid || p.spec.nodeName === node) return undefined;
          const ready = ((p.status?.conditions ?? []) as Obj[]).some((c) => c.type === 'Ready' && c.status === 'True');
          const slices = await cp.list('endpointslices', ns, `kubernetes.io/service-name=${name}`);
          const eps = slices.flatMap((sl) => ((sl.endpoints ?? []) as Obj[]).filter((e) => e.conditions?.ready).map((e) => e.targetRef?.name as string));
          return ready && eps.length === 1 && eps[0] === podName ? p : undefined;
        }, 300_000, 1000);
        // The same volume claims: the data comes back with the pod.
        expect((back.spec.volumes as Obj[]).filter((v) => v.persistentVolumeClaim).map((v) => v.persistentVolumeClaim.claimName).sort()).toEqual([`data-${podName}`, `raft-${podName}`]);
      } finally {
        sampling = false;
        await sampler;
        await cp.k(['uncordon', node]);
      }
      expect([...seen], 'every endpoint the client Service ever had during the drain').toEqual([podName]);
      const c = await waitFor('phase Running again', async () => {
        const c = await claim(ns, name);
        return c?.status?.phase === 'Running' ? c : undefined;
      }, 240_000, 1000);
      record('node drain: data broker evicted and back; client endpoints only ever the data broker', started, c, `${samples} endpoint samples, ${emptySamples} with no endpoint (the data path's outage while ${podName} moved)`);
    }, 900_000);

    it('deleting the claim removes every composed object and keeps the PersistentVolumeClaims', async () => {
      const started = t0();
      const xrName = (await claim(ns, name))?.spec?.resourceRef?.name as string;
      const objects = (await cp.list('objects.kubernetes.crossplane.io')).filter((o) => o.metadata.name.startsWith(`${xrName}-`));
      expect(objects.length).toBeGreaterThanOrEqual(5);
      const pvcsBefore = await cp.list('pvc', ns, `app.kubernetes.io/instance=${name}`);
      expect(pvcsBefore).toHaveLength(6);
      await cp.k(['delete', CLAIMS, name, '-n', ns, '--wait=false']);
      await waitFor('every composed object to be gone', async () => {
        const left = [
          ...(await cp.list('objects.kubernetes.crossplane.io')).filter((o) => o.metadata.name.startsWith(`${xrName}-`)).map((o) => `Object ${o.metadata.name}`),
          ...(await cp.list('statefulsets,services,configmaps,networkpolicies,poddisruptionbudgets', ns, `app.kubernetes.io/instance=${name}`)).map((o) => `${o.kind} ${o.metadata.name}`),
          ...((await claim(ns, name)) ? ['the claim'] : []),
        ];
        return left.length === 0 || undefined;
      }, 300_000, 2000);
      const pvcsAfter = await cp.list('pvc', ns, `app.kubernetes.io/instance=${name}`);
      expect(pvcsAfter.map((p) => p.metadata.uid).sort()).toEqual(pvcsBefore.map((p) => p.metadata.uid).sort());
      record('claim deleted: composed objects gone, 6 PVCs kept', started, undefined);
    }, 400_000);

    it('with deleteClaimsOnDelete the PersistentVolumeClaims go too', async () => {
      const started = t0();
      const c = claimOf('dev');
      c.metadata.namespace = 'cleanup';
      c.spec.storage.deleteClaimsOnDelete = true;
      await cp.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cleanup' } }, c]);
      await waitReady('cleanup', 'streambus-dev', started);
      expect(await cp.list('pvc', 'cleanup')).toHaveLength(2);
      await cp.k(['delete', CLAIMS, 'streambus-dev', '-n', 'cleanup', '--wait=false']);
      await waitFor('the PVCs to be deleted with the cluster', async () => (await cp.list('pvc', 'cleanup')).length === 0 || undefined, 300_000, 2000);
      record('deleteClaimsOnDelete: PVCs deleted with the claim', started, undefined);
    }, 500_000);
  });

  it('a composed object the apiserver refuses is named on the claim, with the apiserver\'s reason, in the first function condition', async () => {
    const started = t0();
    // A platform policy the function knows nothing about: a ValidatingAdmissionPolicy refusing multi-broker StatefulSets.
    await cp.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'policed', labels: { 'e2e/policy': 'single-broker' } } },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: 'single-broker' },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['statefulsets'] }] },
          validations: [{ expression: 'object.spec.replicas <= 1', message: 'this namespace allows one broker per cluster' }],
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: 'single-broker' },
        spec: { policyName: 'single-broker', validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'e2e/policy': 'single-broker' } } } },
      },
    ]);
    // Admission policies take effect within a second or two of being created.
    await new Promise((r) => setTimeout(r, 3000));
    const c = claimOf('minimal');
    c.metadata.namespace = 'policed';
    await cp.apply([c]);
    const got = await waitFor('ResourcesApplied=False naming the StatefulSet on the claim', async () => {
      const g = await claim('policed', 'streambus-minimal');
      return cond(g, 'ResourcesApplied')?.status === 'False' ? g : undefined;
    }, 240_000, 1000, async () => condLine(await claim('policed', 'streambus-minimal')));
    const applied = cond(got, 'ResourcesApplied')!;
    expect(applied.reason).toBe('ApplyFailed');
    expect(applied.message).toContain('statefulset (StatefulSet policed/streambus-minimal) was refused');
    expect(applied.message).toContain('this namespace allows one broker per cluster');
    // It is the first condition the function adds (Crossplane's Synced and Ready come before it).
    const own = (got.status.conditions as Obj[]).filter((x) => !['Synced', 'Ready'].includes(x.type));
    expect(own[0]?.type).toBe('ResourcesApplied');
    expect(cond(got, 'BrokersReady')?.message).toContain('this namespace allows one broker per cluster');
    record('apiserver refusal named on the claim', started, got, String(applied.message).slice(0, 200));
  }, 400_000);
});
