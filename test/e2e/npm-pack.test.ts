/**
 * The render command as a release artifact: the npm tarball (`npm pack`, docs/release.md) holds what the command
 * needs (its bin, the default Compositions of both APIs, package.json for --version), and the command run from the
 * unpacked tarball renders exactly as it does in the checkout. The registry is not used: the unpacked package
 * resolves its dependencies through a link to this checkout's node_modules (what `npm install -g` would install).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliBin } from '../helpers/cli.js';
import { ROOT } from '../helpers/tools.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

describe('the npm tarball (npm pack)', () => {
  let dir: string;
  let unpacked: string;
  let files: string[];
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
    dir = mkdtempSync(join(tmpdir(), 'sb-pack-'));
    // --ignore-scripts: the build already ran (prepack would run it again).
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    const info = JSON.parse(out)[0] as { filename: string; files: { path: string }[] };
    files = info.files.map((f) => f.path);
    execFileSync('tar', ['-xzf', join(dir, info.filename), '-C', dir]);
    unpacked = join(dir, 'package');
    symlinkSync(join(ROOT, 'node_modules'), join(unpacked, 'node_modules'), 'dir');
  }, 180_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is publish-ready: name, version, bin, license, repository, Node engine', () => {
    expect(pkg.bin['function-streambus']).toBe('dist/src/cli/main.js');
    expect(pkg.license).toBe('Apache-2.0');
    expect(pkg.repository.url).toMatch(/github\.com\/streambus-io\/function-streambus/);
    expect(pkg.engines.node).toBe('>=20');
    expect(pkg.scripts.prepack).toBe('npm run build');
    expect(pkg.private).toBeUndefined();
  });

  it('holds the bin, the default Compositions of both APIs and the XRDs', () => {
    for (const f of ['package.json', 'dist/src/cli/main.js', 'compositions/composition.yaml', 'compositions/v2/composition.yaml', 'apis/xrd.yaml', 'apis/v2/xrd.yaml', 'docs/render.md']) {
      expect(files, f).toContain(f);
    }
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/'))).toBe(false);
  });

  it('runs from the unpacked tarball: --version, and the same documents as the checkout for both APIs', async () => {
    const bin = join(unpacked, 'dist', 'src', 'cli', 'main.js');
    const v = await cliBin(['--version'], { bin, cwd: dir });
    expect(v.stdout).toBe(`function-streambus ${pkg.version}\n`);
    for (const api of ['legacy', 'namespaced']) {
      const example = join(ROOT, 'examples', 'production', 'claim.yaml');
      const fromTarball = await cliBin(['render', '-s', '--api', api, example], { bin, cwd: dir });
      const fromCheckout = await cliBin(['render', '-s', '--api', api, example]);
      expect(fromTarball.code).toBe(0);
      expect(fromTarball.docs).toEqual(fromCheckout.docs);
    }
  });
});
