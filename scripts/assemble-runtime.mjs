#!/usr/bin/env node
/**
 * Assembles the function's runtime file tree, exactly what the container image runs, in DEST:
 *
 *   DEST/function-streambus.mjs             the server and every dependency it imports, bundled by
 *                                           scripts/bundle.mjs (`npm run build` first)
 *   DEST/function-streambus.mjs.LEGAL.txt   the bundled dependencies' license comments
 *   DEST/package.json                       name, version, license (no dependencies: nothing is installed)
 *
 * The Dockerfile runs this script in its build stage and copies DEST into the final image;
 * test/e2e/runtime-tree.test.ts runs it into a temporary folder and serves RunFunction from that folder. One
 * script, so the image and the test cannot drift apart.
 *
 * Earlier versions installed the production dependencies (`npm ci --omit=dev`, 56.5 MB) and pruned what the
 * SDK declares but never imports (ts-proto, kubernetes-models, google-protobuf, @grpc/proto-loader: down to
 * 13.5 MB). The bundle holds only what is imported, and starts faster (see scripts/bundle.mjs).
 *
 * Usage: node scripts/assemble-runtime.mjs DEST   (prints a JSON summary with sizes on stdout)
 */
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ENTRYPOINT = 'function-streambus.mjs';

/** Total size in bytes (sum of file sizes) and file count under dir. */
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

export function assemble(dest) {
  const bundle = join(ROOT, 'dist', 'bundle', ENTRYPOINT);
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`npm run build\` first`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  cpSync(bundle, join(dest, ENTRYPOINT));
  if (existsSync(`${bundle}.LEGAL.txt`)) cpSync(`${bundle}.LEGAL.txt`, join(dest, `${ENTRYPOINT}.LEGAL.txt`));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  writeFileSync(join(dest, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, license: pkg.license, type: 'module', main: ENTRYPOINT }, null, 2)}\n`);
  return { dest, entrypoint: ENTRYPOINT, bundle: treeSize(dest).bytes && lstatSync(join(dest, ENTRYPOINT)).size, total: treeSize(dest) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dest = process.argv[2];
  if (!dest) {
    process.stderr.write('usage: node scripts/assemble-runtime.mjs DEST\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(assemble(resolve(dest)), null, 2) + '\n');
}
