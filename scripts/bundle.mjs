#!/usr/bin/env node
/**
 * Bundles the function's server (dist/src/main.js, compiled by tsc) and everything it imports into one ESM file,
 * dist/bundle/function-streambus.mjs: what the container image runs.
 *
 * Why: start-up. Loading dist/src with its node_modules (grpc-js, the SDK, zod, pino, prom-client: hundreds of
 * files resolved one by one) took 728 ms from spawn to the first answered RunFunction in `npm run bench` on the
 * 2-core test machine; the bundle, tree-shaken and minified, 418 ms (its run of 2026-11-26). It also means the image needs no
 * node_modules at all.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = join(ROOT, 'dist', 'bundle', 'function-streambus.mjs');

/** The benchmark's floor (bench/floor.ts) is bundled the same way, so both are measured as shipped. */
export const FLOOR_BUNDLE = join(ROOT, 'dist', 'bundle', 'floor.mjs');

export async function bundle(entry = join(ROOT, 'dist', 'src', 'main.js'), outfile = BUNDLE) {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    legalComments: 'linked',
    // CommonJS dependencies (grpc-js, pino, prom-client) call require(): give the ESM bundle one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
    metafile: true,
  });
  // Which source files went in (read by test/e2e/runtime-tree.test.ts); not part of the runtime tree.
  writeFileSync(`${outfile}.meta.json`, JSON.stringify({ inputs: Object.keys(result.metafile.inputs).sort() }, null, 1));
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundle();
  const floor = join(ROOT, 'dist', 'bench', 'floor.js');
  if (existsSync(floor)) await bundle(floor, FLOOR_BUNDLE);
}
