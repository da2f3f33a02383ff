/**
 * kube-linter v0.8.3 (the real upstream build, ../shared/tools, sha256-checked by scripts/install-tools.sh) over what
 * every example renders (`function-streambus render`, Objects unwrapped), with kube-linter's default checks.
 *
 * Every finding must be one of the few below, each with a reason; anything else fails the test. The
 * PodDisruptionBudget's `unhealthyPodEvictionPolicy` is set on purpose (docs/architecture.md, the data path), and
 * kube-linter's `pdb-unhealthy-pod-eviction-policy` check is shown to fire on the same PDB without it, so its
 * silence means something.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderClaim } from '../helpers/brokers.js';
import { EXAMPLES } from '../helpers/fixtures.js';
import { requireTool, ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;
const run = promisify(execFile);
const linter = requireTool('kube-linter', 'the rendered manifests are linted with kube-linter v0.8.3');

interface Finding {
  check: string;
  kind: string;
  namespace: string;
  name: string;
  message: string;
}

/** Findings that are expected, and why. Keyed by check; `when` says which object may carry it. */
const EXPECTED: Record<string, { why: string; when: (f: Finding) => boolean }> = {
  'dangling-service': {
    why:
      'the client Service selects the data broker by statefulset.kubernetes.io/pod-name, a label the StatefulSet controller ' +
      'puts on each pod and kube-linter does not know (the real controllers list <name>-0 as its endpoint: controlplane.test.ts)',
    when: (f) => f.kind === 'Service' && /statefulset\.kubernetes\.io\/pod-name/.test(f.message),
  },
  'latest-tag': {
    why: 'the operator\'s example manifests, kept unchanged, pin streambus/broker:latest (the platform default is a pinned tag)',
    when: (f) => f.kind === 'StatefulSet' && /streambus\/broker:latest/.test(f.message),
  },
  'no-anti-affinity': {
    why: 'the multi-tenant manifest brings its own affinity (by hostname); kube-linter wants a zone term',
    when: (f) => f.kind === 'StatefulSet' && f.name === 'streambus-multitenant',
  },
};

async function lint(dir: string): Promise<Finding[]> {
  const r = await run(linter!, ['lint', dir, '--format', 'json'], { maxBuffer: 32 * 1024 * 1024 }).catch((e: { stdout?: string; code?: number }) => {
    // kube-linter exits 1 when it finds something; its JSON is still on stdout.
    if (e.code === 1 && e.stdout) return { stdout: e.stdout };
    throw e;
  });
  const json = JSON.parse(r.stdout) as Obj;
  return ((json.Reports ?? []) as Obj[]).map((x) => ({
    check: x.Check,
    kind: x.Object.K8sObject.GroupVersionKind.Kind,
    namespace: x.Object.K8sObject.Namespace,
    name: x.Object.K8sObject.Name,
    message: x.Diagnostic.Message,
  }));
}

describe.skipIf(!linter)('kube-linter v0.8.3 on every example\'s render', () => {
  const work = mkdtempSync(join(tmpdir(), 'sb-kube-linter-'));
  const rendered = new Map<string, Obj[]>();
  beforeAll(async () => {
    for (const ex of EXAMPLES) rendered.set(ex, await renderClaim(join(ROOT, 'examples', ex, 'claim.yaml')));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each(EXAMPLES)('%s: only the expected findings, each with its reason', async (ex) => {
    const dir = join(work, ex);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'rendered.yaml'), rendered.get(ex)!.map((m) => `---\n${stringify(m)}`).join(''));
    const findings = await lint(dir);
    const unexpected = findings.filter((f) => !EXPECTED[f.check]?.when(f));
    expect(unexpected, JSON.stringify(unexpected, null, 2)).toEqual([]);
    expect(findings.map((f) => f.check)).not.toContain('pdb-unhealthy-pod-eviction-policy');
    for (const f of findings) process.stdout.write(`${ex}: ${f.check} on ${f.kind} ${f.namespace}/${f.name} (expected: ${EXPECTED[f.check]!.why})\n`);
  });

  it('the PDB check fires on the same PodDisruptionBudget without unhealthyPodEvictionPolicy (so its silence above means something)', async () => {
    const pdb = structuredClone(rendered.get('minimal')!.find((m) => m.kind === 'PodDisruptionBudget')!);
    expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    delete pdb.spec.unhealthyPodEvictionPolicy;
    const dir = join(work, 'pdb-unset');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'pdb.yaml'), stringify(pdb));
    const findings = await lint(dir);
    expect(findings.map((f) => f.check)).toEqual(['pdb-unhealthy-pod-eviction-policy']);
  });
});
