#!/usr/bin/env node
/**
 * Assembles the function's runtime file tree, exactly what the container image runs, in DEST:
 *
 *   DEST/package.json        ("type": "module" is needed to load dist/ as ESM)
 *   DEST/dist/src/**.js      the compiled function (run `npm run build` first; no source maps, no scripts/)
 *   DEST/node_modules/       `npm ci --omit=dev --ignore-scripts`, then pruned (below)
 *
 * The Dockerfile runs this script in its build stage and copies DEST into the final image;
 * test/e2e/runtime-tree.test.ts runs it into a temporary folder and serves RunFunction from that folder. One
 * script, so the image and the test cannot drift apart.
 *
 * Pruning. @crossplane-org/function-sdk-typescript declares dependencies its runtime never imports (its dist/
 * imports only @grpc/grpc-js, @bufbuild/protobuf/wire, pino and ts-deepmerge): ts-proto (a protoc code
 * generator, which pulls dprint-node, ~24 MB), kubernetes-models (~20 MB with its validators), google-protobuf and
 * @grpc/proto-loader. @grpc/grpc-js also declares @grpc/proto-loader but requires it lazily, only to serve the
 * channelz admin service or ORCA, which this function never enables. The prune cuts the dependency edges to
 * RUNTIME_UNUSED and deletes every installed package no longer reachable from package.json's dependencies,
 * resolving each dependency the way Node does (nearest node_modules first). Nothing else is touched.
 *
 * Usage: node scripts/assemble-runtime.mjs DEST   (prints a JSON summary with sizes on stdout)
 * npm settings come from the environment as usual (e.g. npm_config_prefer_offline=true).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Declared (transitively) by the SDK or grpc-js, never loaded by this function at run time. */
export const RUNTIME_UNUSED = ['ts-proto', 'kubernetes-models', 'google-protobuf', '@grpc/proto-loader'];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Total size in bytes (sum of file sizes, symlinks counted as links) and file count under dir. */
export function treeSize(dir) {
  let bytes = 0;
  let files = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        bytes += lstatSync(p).size;
        files += 1;
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return { bytes, files };
}

/** Every installed package under nodeModules: Map<dir, {name, deps}> (deps: dependencies + optional + peer). */
function installedPackages(nodeModules) {
  const pkgs = new Map();
  const visit = (nm) => {
    if (!existsSync(nm)) return;
    for (const e of readdirSync(nm, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(nm, e.name);
      if (e.name.startsWith('@') && e.isDirectory()) {
        for (const s of readdirSync(p, { withFileTypes: true })) addPackage(join(p, s.name));
      } else addPackage(p);
    }
  };
  const addPackage = (dir) => {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) return;
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    const deps = Object.keys({ ...m.dependencies, ...m.optionalDependencies, ...m.peerDependencies });
    pkgs.set(dir, { name: m.name, deps });
    visit(join(dir, 'node_modules'));
  };
  visit(nodeModules);
  return pkgs;
}

/** Node's resolution of package `name` required from package directory `from` (undefined: not installed). */
function resolveFrom(pkgs, from, name, top) {
  for (let d = from; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (pkgs.has(candidate)) return candidate;
    if (d === top || d === dirname(d)) return undefined;
  }
}

/** Deletes installed packages that only RUNTIME_UNUSED packages lead to. Returns the names removed. */
export function prune(dest) {
  const nodeModules = join(dest, 'node_modules');
  const pkgs = installedPackages(nodeModules);
  const root = JSON.parse(readFileSync(join(dest, 'package.json'), 'utf8'));
  const keep = new Set();
  const queue = [];
  const need = (from, name) => {
    if (RUNTIME_UNUSED.includes(name)) return;
    const dir = resolveFrom(pkgs, from, name, dest);
    if (dir && !keep.has(dir)) {
      keep.add(dir);
      queue.push(dir);
    }
  };
  for (const name of Object.keys({ ...root.dependencies, ...root.optionalDependencies })) need(dest, name);
  while (queue.length) {
    const dir = queue.shift();
    for (const name of pkgs.get(dir).deps) need(dir, name);
  }
  const removed = [];
  // Deepest first, so a removed parent never hides a nested package still to be examined.
  for (const dir of [...pkgs.keys()].sort((a, b) => b.length - a.length)) {
    if (keep.has(dir) || !existsSync(dir)) continue;
    removed.push(relative(nodeModules, dir));
    rmSync(dir, { recursive: true, force: true });
  }
  // Empty scope folders, the CLI links (nothing here runs an npm bin) and npm's now-stale hidden lockfile.
  for (const e of readdirSync(nodeModules)) {
    const p = join(nodeModules, e);
    if (e.startsWith('@') && statSync(p).isDirectory() && readdirSync(p).length === 0) rmSync(p, { recursive: true });
  }
  rmSync(join(nodeModules, '.bin'), { recursive: true, force: true });
  rmSync(join(nodeModules, '.package-lock.json'), { force: true });
  return removed.sort();
}

export function assemble(dest) {
  const main = join(ROOT, 'dist', 'src', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dest, 'package.json'));
  cpSync(join(ROOT, 'package-lock.json'), join(dest, 'package-lock.json'));
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dest,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  rmSync(join(dest, 'package-lock.json'));
  const installed = treeSize(join(dest, 'node_modules'));
  const removed = prune(dest);
  const pruned = treeSize(join(dest, 'node_modules'));
  cpSync(join(ROOT, 'dist', 'src'), join(dest, 'dist', 'src'), {
    recursive: true,
    filter: (src) => statSync(src).isDirectory() || (src.endsWith('.js') && !src.endsWith('.test.js')),
  });
  return {
    dest,
    nodeModulesInstalled: installed,
    nodeModulesPruned: pruned,
    dist: treeSize(join(dest, 'dist')),
    total: treeSize(dest),
    removed,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dest = process.argv[2];
  if (!dest) {
    process.stderr.write('usage: node scripts/assemble-runtime.mjs DEST\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(assemble(resolve(dest)), null, 2) + '\n');
}
