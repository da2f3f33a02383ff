/**
 * The Function package as a platform team installs it, with its runtime embedded (scripts/build-images.sh:
 * `crossplane xpkg build --embed-runtime-image-tarball` of the image buildah built from the Dockerfile), on a real
 * control plane (test/helpers/controlplane.ts: kube-apiserver, Crossplane v2.2.1, provider-kubernetes, kwok):
 *
 *  - the package is pushed to the harness's local registry with `crossplane xpkg push`, and `crossplane xpkg extract`
 *    reads it back from there as a release check would;
 *  - Crossplane pulls it and its FunctionRevision becomes RevisionHealthy (Crossplane's own verdict: the package was
 *    pulled and parsed, once the runtime named its TLS Secret);
 *  - the runtime's part is still played by the harness (Crossplane runs with `--package-runtime External`: a
 *    Deployment needs a real node, the real-node issue), but with the real thing: the package's OWN image (the
 *    embedded runtime's layers plus package.yaml) unpacked and started with runc in the control plane's network
 *    namespace, as Crossplane's Deployment would run it (UID 2000, read-only root, no capabilities, /tls/server,
 *    no arguments); the harness only signs its certificate and reports the endpoint and RuntimeHealthy;
 *  - Crossplane then calls that container over mutual TLS and the minimal seed claim becomes Ready.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ControlPlane, controlPlaneAvailable, REGISTRY, run, waitFor } from '../helpers/controlplane.js';
import { IN_CI, ROOT, TOOLS_BIN } from '../helpers/tools.js';

type Obj = Record<string, any>;
const XPKG = join(ROOT, '.tools', 'images', 'function-streambus.xpkg');
const CLAIMS = 'streambusclusters.streambus.io';

const available = controlPlaneAvailable();
const haveImage = existsSync(XPKG);
if (available && !haveImage) {
  const msg = `${XPKG} is missing (run scripts/build-images.sh)`;
  if (IN_CI) throw new Error(`CI=true and ${msg}`);
  process.stderr.write(`\n!!!!!!!!!! SKIPPED: the embedded-runtime package test: ${msg} !!!!!!!!!!\n\n`);
}

const functionName = (): string => (parse(readFileSync(join(ROOT, 'compositions/composition.yaml'), 'utf8')) as Obj).spec.pipeline[0].functionRef.name;
const cond = (o: Obj | undefined, type: string): Obj | undefined => ((o?.status?.conditions ?? []) as Obj[]).find((c) => c.type === type);
const condLine = (o: Obj | undefined) => ((o?.status?.conditions ?? []) as Obj[]).map((c) => `${c.type}=${c.status}${c.reason ? `/${c.reason}` : ''}`).join(' ');

describe.skipIf(!available || !haveImage)('the Function package with its runtime embedded, on a real control plane (Crossplane v2.2.1)', () => {
  let cp: ControlPlane;
  const t0 = Date.now();
  let installed = 0;

  beforeAll(async () => {
    cp = await ControlPlane.start();
    const t = Date.now();
    await cp.installFunction(functionName(), 'v0.1.0', { xpkg: XPKG, runImage: true });
    installed = Date.now() - t;
    await cp.installApi();
    await cp.seedInfrastructure({ full: false });
  }, 1_200_000);

  afterAll(async () => {
    if (!cp) return;
    process.stdout.write(`\n== embedded-runtime package: boot ${JSON.stringify(cp.timings)} ms; push+pull+Healthy+container ${installed} ms; whole test ${Math.round((Date.now() - t0) / 1000)} s\n`);
    await cp.stop();
  }, 120_000);

  it('Crossplane pulled the embedded-runtime package from the registry and marked its revision RevisionHealthy', async () => {
    const rev = cp.functionRevision!;
    process.stdout.write(`\nFunctionRevision ${rev.metadata.name}: ${condLine(rev)}; image ${rev.spec.image}; resolved ${rev.status?.resolvedImage}\n`);
    // RevisionHealthy is Crossplane's own verdict (package pulled, parsed, its objects established); it waits for the
    // runtime's TLS Secret name, which the harness (playing the External runtime) sets. RuntimeHealthy is the harness's.
    expect(cond(rev, 'RevisionHealthy')).toMatchObject({ status: 'True' });
    expect(cond(rev, 'RuntimeHealthy')).toMatchObject({ status: 'True' });
    expect(rev.spec.image).toBe(`${REGISTRY}/streambus-io/function-streambus:v0.1.0`);
    const fn = await cp.get('functions.pkg.crossplane.io', functionName());
    expect(cond(fn, 'Healthy')?.status).toBe('True');
    expect(cond(fn, 'Installed')?.status).toBe('True');
    // The package's input CRD is only a schema for Compositions: Crossplane does not install a Function's CRDs.
    const crds = await cp.list('customresourcedefinitions');
    expect(crds.map((c) => c.metadata.name)).not.toContain('inputs.streambus.fn.crossplane.io');
  });

  it('crossplane xpkg extract reads the pushed package back from the registry: the Function meta and its input CRD', async () => {
    const dir = mkdtempSync(join(tmpdir(), `sb-extract-${process.pid}-`));
    try {
      const r = await run('ip', ['netns', 'exec', cp.ns, join(TOOLS_BIN, 'crossplane'), 'xpkg', 'extract', `${REGISTRY}/streambus-io/function-streambus:v0.1.0`, '-o', join(dir, 'fn.gz')], { timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      const docs = parseAllDocuments(execFileSync('zcat', [join(dir, 'fn.gz')], { encoding: 'utf8' })).map((d) => d.toJSON() as Obj).filter(Boolean);
      expect(docs[0]).toMatchObject({ apiVersion: 'meta.pkg.crossplane.io/v1', kind: 'Function', metadata: { name: 'function-streambus' } });
      expect(docs.some((d) => d.kind === 'CustomResourceDefinition' && d.metadata.name === 'inputs.streambus.fn.crossplane.io')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('Crossplane calls the package\'s own image (runc, UID 2000, read-only root) over mutual TLS: the minimal claim becomes Ready', async () => {
    const c = cp.functionContainer!;
    expect(c.proc.exitCode).toBeNull();
    const started = Date.now();
    await cp.apply(readFileSync(join(ROOT, 'examples', 'minimal', 'claim.yaml'), 'utf8'));
    const claim = await waitFor('the minimal claim Ready with phase Running', async () => {
      const x = await cp.get(CLAIMS, 'streambus-minimal', 'default');
      return cond(x, 'Ready')?.status === 'True' && x?.status?.phase === 'Running' ? x : undefined;
    }, 300_000, 1000, async () => `${condLine(await cp.get(CLAIMS, 'streambus-minimal', 'default'))}\n${cp.logTail('function-streambus', 20)}`);
    process.stdout.write(`minimal claim Ready through the image in ${Math.round((Date.now() - started) / 1000)} s: ${condLine(claim)}\n`);
    expect(claim.status.readyReplicas).toBe(3);
    // The calls reached the container (its JSON logs), over TLS.
    const log = cp.logTail('function-streambus', 400);
    expect(log).toContain('"tls":true');
    expect(log).toMatch(/streambus-minimal/);
  }, 420_000);
});
