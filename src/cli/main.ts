#!/usr/bin/env node
/**
 * The `function-streambus` command (package.json `bin`). Today it has one subcommand:
 *
 *   function-streambus render [options] FILE|DIR...
 *
 * which renders StreamBusCluster claims and XStreamBusCluster XRs in-process (see ./render.ts) and prints the
 * composed resources as YAML, exactly as `crossplane render` would compose them from the same XR.
 * The function's gRPC server is a separate entry point (dist/src/main.js, `npm start`).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { claimToXr, isClaim, isXr } from './claim.js';
import { describeDoc, InputError, loadAll, readYamlDocs, type LoadedDoc } from './load.js';
import {
  ANNOTATION_COMPOSITION_RESOURCE_NAME,
  checkComposition,
  LABEL_CLAIM_NAME,
  LABEL_CLAIM_NAMESPACE,
  LABEL_COMPOSITE,
  RenderError,
  renderXr,
  resultDocs,
  withFullXr,
  type Obj,
  type RenderOutputs,
} from './render.js';
import { toYamlStream } from './yaml.js';
import { API_GROUP, API_VERSION, CLAIM_KIND, XR_KIND } from '../api/generate.js';

export const EXIT_OK = 0;
export const EXIT_FATAL = 1;
export const EXIT_USAGE = 2;

/** The package root: the nearest folder above this module with function-streambus's package.json. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'function-streambus') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the function-streambus package root');
    dir = up;
  }
}

export const DEFAULT_COMPOSITION = 'compositions/composition.yaml';

/** Flags of `render`; docs/render.md documents each (a unit test checks). */
export const RENDER_OPTIONS = {
  composition: { type: 'string' },
  observed: { type: 'string', short: 'o', multiple: true },
  'required-resources': { type: 'string', short: 'e', multiple: true },
  'include-status': { type: 'boolean', short: 's' },
  'include-full-xr': { type: 'boolean', short: 'x' },
  'include-function-results': { type: 'boolean', short: 'r' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const RENDER_USAGE = `Usage: function-streambus render [options] FILE|DIR...

Renders StreamBusCluster claims (${API_GROUP}/${API_VERSION} ${CLAIM_KIND}) and XRs (${XR_KIND}) in-process, without a
cluster, a function server or Docker, and prints the composed resources as YAML: what Crossplane would create.
A claim is first converted to the XR Crossplane makes of it. FILE may hold several documents; a DIR is searched
for *.yaml and *.yml files; documents of other kinds are skipped.

Options:
      --composition FILE   Composition whose function-streambus step input (platform defaults) is used
                           (default: compositions/composition.yaml of this package)
  -o, --observed PATH      observed composed resources, a file or folder (crossplane render -o); repeatable
  -e, --required-resources PATH
                           resources the function may ask for, e.g. the TLS CA Secret (crossplane render -e);
                           a file or folder; repeatable
  -s, --include-status     print the XR with its status and conditions before its composed resources
  -x, --include-full-xr    like -s, with the input XR's metadata and spec (crossplane render -x)
  -r, --include-function-results
                           also print the function's results as Result documents (crossplane render -r)
  -q, --quiet              print only errors and results on stderr, not the conditions summary
  -h, --help               show this help

Results and conditions go to stderr. Exit status: 0 rendered; 1 a FATAL result (the input is invalid; Crossplane
would apply nothing); 2 a usage error or unreadable input.
`;

export const USAGE = `Usage: function-streambus <command> [options]

Commands:
  render FILE|DIR...   render claims or XRs locally, as Crossplane would compose them (see render --help)

The function's gRPC server is started with \`node dist/src/main.js\` (npm start).
`;

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
}

interface Input {
  source: LoadedDoc;
  xr: Obj;
  claim?: Obj;
}

/** Entry point; returns the exit status (does not exit, so tests can call it). */
export function main(argv: string[], io: Io = defaultIo()): number {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    (cmd === undefined ? io.stderr : io.stdout)(USAGE);
    return cmd === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (cmd !== 'render') {
    io.stderr(`error: unknown command "${cmd}"\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  return render(rest, io);
}

function defaultIo(): Io {
  return { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), cwd: process.cwd() };
}

function parseRenderArgs(args: string[]) {
  return parseArgs({ args, options: RENDER_OPTIONS, allowPositionals: true, strict: true });
}

export function render(args: string[], io: Io): number {
  let parsed: ReturnType<typeof parseRenderArgs>;
  try {
    parsed = parseRenderArgs(args);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n\n${RENDER_USAGE}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(RENDER_USAGE);
    return EXIT_OK;
  }
  if (positionals.length === 0) {
    io.stderr(`error: no input: give one or more claim or XR files or folders\n\n${RENDER_USAGE}`);
    return EXIT_USAGE;
  }
  const at = (p: string) => resolve(io.cwd, p);
  const includeFullXr = values['include-full-xr'] === true;
  const includeStatus = values['include-status'] === true || includeFullXr;
  const includeResults = values['include-function-results'] === true;
  const quiet = values.quiet === true;

  // Everything is read and checked before anything is rendered.
  let composition: Obj;
  let observed: LoadedDoc[];
  let required: LoadedDoc[];
  let inputs: Input[];
  try {
    const compositionFile = typeof values.composition === 'string' ? values.composition : undefined;
    composition = loadComposition(compositionFile ? at(compositionFile) : join(packageRoot(), DEFAULT_COMPOSITION), compositionFile ?? DEFAULT_COMPOSITION);
    observed = loadObserved((values.observed ?? []).map(at));
    required = loadAll((values['required-resources'] ?? []).map(at));
    inputs = loadInputs(positionals, at, io, quiet);
  } catch (err) {
    if (err instanceof InputError || err instanceof RenderError) {
      io.stderr(`error: ${relativise(err.message, io.cwd)}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }

  let status = EXIT_OK;
  for (const input of inputs) {
    const label = `${relativise(input.source.file, io.cwd)}: ${input.claim ? `${describeDoc(input.claim)} → ` : ''}${describeDoc(input.xr)}`;
    let out: RenderOutputs;
    try {
      out = renderXr({
        xr: input.xr,
        composition,
        observed: observed.filter((o) => appliesTo(o.doc, input.xr)).map((o) => o.doc),
        required: required.map((r) => r.doc),
      });
    } catch (err) {
      if (err instanceof RenderError) {
        io.stderr(`error: ${label}: ${err.message}\n`);
        status = Math.max(status, EXIT_USAGE);
        continue;
      }
      io.stderr(`error: ${label}: the function failed: ${(err as Error).stack ?? String(err)}\n`);
      status = Math.max(status, EXIT_FATAL);
      continue;
    }
    io.stderr(summary(label, out, quiet));
    if (out.fatal) {
      io.stderr(`error: ${label}: pipeline step "${out.fatal.step}" returned a fatal result: ${out.fatal.message}\n`);
      status = Math.max(status, EXIT_FATAL);
      continue;
    }
    const docs: Obj[] = [];
    if (includeStatus) docs.push(includeFullXr ? withFullXr(out.xr, input.xr) : out.xr);
    docs.push(...out.composed);
    if (includeResults) docs.push(...resultDocs(out.results));
    io.stdout(toYamlStream(docs, label));
  }
  return status;
}

function relativise(s: string, cwd: string): string {
  return s.split(`${cwd}/`).join('');
}

function loadComposition(path: string, shown: string): Obj {
  const docs = readYamlDocs(path).filter((d) => d.doc.kind === 'Composition');
  if (docs.length === 0) throw new InputError(`${shown}: no Composition in this file`);
  if (docs.length > 1) throw new InputError(`${shown}: more than one Composition in this file; give a file with one`);
  try {
    checkComposition(docs[0]!.doc);
  } catch (err) {
    throw new InputError(`${shown}: ${(err as Error).message}`);
  }
  return docs[0]!.doc;
}

function loadObserved(paths: string[]): LoadedDoc[] {
  const docs = loadAll(paths);
  for (const d of docs) {
    const ann = (d.doc.metadata as Obj | undefined)?.annotations as Obj | undefined;
    if (typeof ann?.[ANNOTATION_COMPOSITION_RESOURCE_NAME] !== 'string') {
      throw new InputError(
        `${d.file}: observed resource ${describeDoc(d.doc)} has no ${ANNOTATION_COMPOSITION_RESOURCE_NAME} annotation ` +
          '(observed resources are composed resources as Crossplane stores them, e.g. from `kubectl get object NAME -o yaml`)',
      );
    }
  }
  return docs;
}

/**
 * An observed resource belongs to an XR when it names that XR (label crossplane.io/composite) or its claim
 * (claim-name and claim-namespace labels), or names none (then it applies to every input, as in crossplane render).
 */
function appliesTo(o: Obj, xr: Obj): boolean {
  const labels = ((o.metadata as Obj | undefined)?.labels ?? {}) as Obj;
  const xrMeta = (xr.metadata ?? {}) as Obj;
  const xrLabels = (xrMeta.labels ?? {}) as Obj;
  if (labels[LABEL_COMPOSITE] === undefined && labels[LABEL_CLAIM_NAME] === undefined) return true;
  if (labels[LABEL_COMPOSITE] !== undefined && labels[LABEL_COMPOSITE] === xrMeta.name) return true;
  return (
    labels[LABEL_CLAIM_NAME] !== undefined &&
    labels[LABEL_CLAIM_NAME] === xrLabels[LABEL_CLAIM_NAME] &&
    labels[LABEL_CLAIM_NAMESPACE] === xrLabels[LABEL_CLAIM_NAMESPACE]
  );
}

function loadInputs(paths: string[], at: (p: string) => string, io: Io, quiet: boolean): Input[] {
  const inputs: Input[] = [];
  for (const p of paths) {
    const docs = loadAll([at(p)]);
    let found = 0;
    for (const d of docs) {
      const where = `${relativise(d.file, io.cwd)}${docs.filter((x) => x.file === d.file).length > 1 ? ` (document ${d.index + 1})` : ''}`;
      if (isClaim(d.doc)) {
        const name = (d.doc.metadata as Obj | undefined)?.name;
        if (typeof name !== 'string' || name === '') throw new InputError(`${where}: the ${CLAIM_KIND} has no metadata.name`);
        inputs.push({ source: d, claim: d.doc, xr: claimToXr(d.doc) });
        found++;
      } else if (isXr(d.doc)) {
        const name = (d.doc.metadata as Obj | undefined)?.name;
        if (typeof name !== 'string' || name === '') throw new InputError(`${where}: the ${XR_KIND} has no metadata.name`);
        inputs.push({ source: d, xr: d.doc });
        found++;
      } else if (d.doc.kind === CLAIM_KIND || d.doc.kind === XR_KIND) {
        throw new InputError(`${where}: ${String(d.doc.kind)} ${String(d.doc.apiVersion)} is not supported; use ${API_GROUP}/${API_VERSION}`);
      } else if (!quiet) {
        io.stderr(`skipped ${where}: ${describeDoc(d.doc)} is neither a ${CLAIM_KIND} nor an ${XR_KIND}\n`);
      }
    }
    if (found === 0) throw new InputError(`${p}: no ${CLAIM_KIND} claim or ${XR_KIND} found`);
  }
  // A claim and the XR generated from it (examples/*/claim.yaml and xr.yaml) render the same: render once.
  const unique: Input[] = [];
  for (const i of inputs) {
    const twin = unique.find((u) => JSON.stringify(u.xr) === JSON.stringify(i.xr));
    if (twin) {
      if (!quiet) io.stderr(`skipped ${relativise(i.source.file, io.cwd)}: the same XR as ${relativise(twin.source.file, io.cwd)}\n`);
      continue;
    }
    unique.push(i);
  }
  return unique;
}

/** The per-input report on stderr: results always; with --quiet nothing else, and nothing at all without results. */
function summary(label: string, out: RenderOutputs, quiet: boolean): string {
  const results = out.results.map((r) => {
    const tail = r.target === 'COMPOSITE_AND_CLAIM' ? ' [composite and claim]' : '';
    return `  result ${r.severity}${r.reason ? ` ${r.reason}` : ''}: ${r.message}${tail}`;
  });
  if (quiet) return results.length > 0 ? `${label}\n${results.join('\n')}\n` : '';
  const lines = [label];
  for (const s of out.skippedSteps) {
    lines.push(`  skipped pipeline step "${s.step}" (function ${s.function}): only function-streambus runs in-process; use crossplane render for the whole pipeline`);
  }
  lines.push(...results);
  if (!out.fatal) {
    for (const c of out.conditions) lines.push(`  condition ${c.type}=${c.status} ${c.reason}${c.message ? `: ${c.message}` : ''}`);
    lines.push(`  ${out.composed.length} composed resources: ${out.composed.map(describeComposed).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

function describeComposed(o: Obj): string {
  const meta = (o.metadata ?? {}) as Obj;
  const key = String(((meta.annotations ?? {}) as Obj)[ANNOTATION_COMPOSITION_RESOURCE_NAME]);
  const manifest = ((((o.spec ?? {}) as Obj).forProvider ?? {}) as Obj).manifest as Obj | undefined;
  const inner = manifest ?? o;
  return `${key} (${String(inner.kind)} ${String(((inner.metadata ?? {}) as Obj).name ?? '')})`;
}

// Run when executed (node dist/src/cli/main.js, or through the package's bin link), not when imported.
const invoked = process.argv[1] ? realpathOrSelf(process.argv[1]) : '';
if (invoked === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}

function realpathOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
