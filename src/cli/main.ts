#!/usr/bin/env node
/**
 * The `function-streambus` command (package.json `bin`). Today it has one subcommand:
 *
 *   function-streambus render [options] FILE|DIR|-...
 *
 * which renders StreamBusCluster claims and XRs of either API (legacy claims → XStreamBusCluster XRs, or
 * Crossplane 2 namespaced StreamBusCluster XRs) in-process (see ./render.ts) and prints the composed resources as
 * YAML, exactly as `crossplane render` would compose them from the same XR. It reports unknown fields with file and
 * line (./fields.ts). The function's gRPC server is a separate entry point (dist/src/main.js, `npm start`).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { claimToXr, DEFAULT_CLAIM_NAMESPACE, isClaim, isXr } from './claim.js';
import { describeUnknownField, unknownFields, type ManifestKind, type UnknownField } from './fields.js';
import { defaultReader, describeDoc, InputError, loadAll, readYamlDocs, STDIN, whereIs, type LoadedDoc, type Reader } from './load.js';
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

/** Exit statuses of `render` (documented in docs/render.md and --help). */
export const EXIT_OK = 0;
/** An input is invalid: a FATAL result (Crossplane would apply nothing), or with --strict an unknown field. */
export const EXIT_FATAL = 1;
/** A usage error or an input that cannot be used; nothing is rendered. */
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

/** The two APIs (see src/render/identity.ts) and the Composition each renders with by default. */
export const APIS = ['legacy', 'namespaced'] as const;
export type Api = (typeof APIS)[number];
export const DEFAULT_COMPOSITIONS: Record<Api, string> = {
  legacy: 'compositions/composition.yaml',
  namespaced: 'compositions/v2/composition.yaml',
};
export const DEFAULT_COMPOSITION = DEFAULT_COMPOSITIONS.legacy;

/** The package's version (package.json). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Flags of `render`; docs/render.md documents each (a unit test checks). */
export const RENDER_OPTIONS = {
  api: { type: 'string' },
  composition: { type: 'string' },
  observed: { type: 'string', short: 'o', multiple: true },
  'required-resources': { type: 'string', short: 'e', multiple: true },
  'include-status': { type: 'boolean', short: 's' },
  'include-full-xr': { type: 'boolean', short: 'x' },
  'include-function-results': { type: 'boolean', short: 'r' },
  strict: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  version: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const RENDER_USAGE = `Usage: function-streambus render [options] FILE|DIR|-...

Renders ${CLAIM_KIND} manifests (${API_GROUP}/${API_VERSION}) in-process, without a cluster, a function server or
Docker, and prints the composed resources as YAML: what Crossplane would create. With the legacy API a
${CLAIM_KIND} is a claim, first converted to the XR (${XR_KIND}) Crossplane makes of it; with the namespaced
API (Crossplane 2) it is the XR itself. FILE may hold several documents, and a kind: List (kubectl get -o yaml)
stands for its items; a DIR is searched for *.yaml and *.yml files; - reads standard input. Documents of other
kinds are skipped. Unknown fields (e.g. spec.replica) are reported with file and line, as the API server's
strict field validation would report them.

Options:
      --api legacy|namespaced
                           the API to render for: legacy (apiextensions.crossplane.io/v1 XRD, claims;
                           configuration-streambus) or namespaced (apiextensions.crossplane.io/v2 XRD,
                           Crossplane 2; configuration-streambus-v2). Default: the API of --composition, else legacy
      --composition FILE   Composition whose function-streambus step input (platform defaults) is used
                           (default: compositions/composition.yaml, or compositions/v2/composition.yaml for
                           --api namespaced, of this package)
  -o, --observed PATH      observed composed resources, a file or folder (crossplane render -o); repeatable
  -e, --required-resources PATH
                           resources the function may ask for, e.g. the TLS CA Secret (crossplane render -e);
                           a file or folder; repeatable
  -s, --include-status     print the XR with its status and conditions before its composed resources
                           (crossplane render prints it always; its own -s is --required-schemas)
  -x, --include-full-xr    like -s, with the input XR's metadata and spec (crossplane render -x)
  -r, --include-function-results
                           also print the function's results as Result documents (crossplane render -r)
      --strict             unknown fields are errors (that input is not rendered), not warnings
  -q, --quiet              print only errors, warnings and results on stderr, not the conditions summary
      --version            print the version and exit
  -h, --help               show this help

Results, warnings and conditions go to stderr. Exit status:
  0  every input rendered (warnings, e.g. unknown fields without --strict, do not change it)
  1  an input is invalid: the function returned a FATAL result (Crossplane would apply nothing), or with --strict
     it has unknown fields; the other inputs are still rendered
  2  a usage error or an input that cannot be used (missing file, invalid YAML, no ${CLAIM_KIND}, a Composition
     for another type); nothing is rendered
`;

export const USAGE = `Usage: function-streambus <command> [options]

Commands:
  render FILE|DIR|-... render claims or XRs locally, as Crossplane would compose them (see render --help)

Options:
  --version            print the version
  -h, --help           show this help

The function's gRPC server is started with \`node dist/src/main.js\` (npm start).
`;

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
  /** Reads standard input (for `-`); defaults to the process's stdin. */
  stdin?: () => string;
}

interface Input {
  source: LoadedDoc;
  /** Where the document is, for messages: `file`, `file (document 2)`, `file (document 1, item 3)`. */
  where: string;
  xr: Obj;
  claim?: Obj;
  unknown: UnknownField[];
}

/** Entry point; returns the exit status (does not exit, so tests can call it). */
export function main(argv: string[], io: Io = defaultIo()): number {
  const [cmd, ...rest] = argv;
  if (cmd === '--version') {
    io.stdout(`function-streambus ${packageVersion()}\n`);
    return EXIT_OK;
  }
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
  if (values.version) {
    io.stdout(`function-streambus ${packageVersion()}\n`);
    return EXIT_OK;
  }
  if (positionals.length === 0) {
    io.stderr(`error: no input: give one or more claim or XR files or folders, or - for standard input\n\n${RENDER_USAGE}`);
    return EXIT_USAGE;
  }
  const stdinUses = [...positionals, ...(values.observed ?? []), ...(values['required-resources'] ?? [])].filter((p) => p === STDIN).length;
  if (stdinUses > 1) {
    io.stderr('error: - (standard input) can be given only once\n');
    return EXIT_USAGE;
  }
  if (values.api !== undefined && !(APIS as readonly string[]).includes(values.api)) {
    io.stderr(`error: --api must be one of ${APIS.join(', ')}, not "${values.api}"\n`);
    return EXIT_USAGE;
  }
  const stdinText = io.stdin ?? (() => defaultReader(STDIN));
  const read: Reader = (f) => (f === STDIN ? stdinText() : defaultReader(f));
  const strict = values.strict === true;
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
  let api: Api;
  try {
    const compositionFile = typeof values.composition === 'string' ? values.composition : undefined;
    const given = compositionFile ? loadComposition(at(compositionFile), compositionFile) : undefined;
    api = (values.api as Api | undefined) ?? (given ? compositionApi(given) : 'legacy');
    composition = given ?? loadComposition(join(packageRoot(), DEFAULT_COMPOSITIONS[api]), DEFAULT_COMPOSITIONS[api]);
    if (compositionApi(composition) !== api) {
      throw new InputError(`${compositionFile ?? DEFAULT_COMPOSITIONS[api]}: the Composition is for the ${compositionApi(composition)} API, not --api ${api}`);
    }
    observed = loadObserved((values.observed ?? []).map(at), read);
    required = loadAll((values['required-resources'] ?? []).map(at), read);
    inputs = loadInputs(positionals, at, io, quiet, api, read);
  } catch (err) {
    if (err instanceof InputError || err instanceof RenderError) {
      io.stderr(`error: ${relativise(err.message, io.cwd)}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }

  let status = EXIT_OK;
  for (const input of inputs) {
    const label = `${input.where}: ${input.claim ? `${describeDoc(input.claim)} → ` : ''}${describeDoc(input.xr)}`;
    // Unknown fields: what the API server would prune (or refuse, with strict field validation).
    if (input.unknown.length > 0) {
      const shown = relativise(input.source.file, io.cwd);
      for (const f of input.unknown) io.stderr(`${strict ? 'error' : 'warning'}: ${describeUnknownField(shown, f)}\n`);
      if (strict) {
        io.stderr(`error: ${label}: not rendered: ${input.unknown.length} unknown field${input.unknown.length > 1 ? 's' : ''} (--strict)\n`);
        status = Math.max(status, EXIT_FATAL);
        continue;
      }
    }
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

/** The API a Composition is for: namespaced when it composes the v2 composite kind StreamBusCluster. */
function compositionApi(composition: Obj): Api {
  const ref = ((composition.spec as Obj | undefined)?.compositeTypeRef ?? {}) as Obj;
  return ref.kind === CLAIM_KIND ? 'namespaced' : 'legacy';
}

function loadObserved(paths: string[], read: Reader): LoadedDoc[] {
  const docs = loadAll(paths, read);
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

function loadInputs(paths: string[], at: (p: string) => string, io: Io, quiet: boolean, api: Api, read: Reader): Input[] {
  const inputs: Input[] = [];
  const add = (d: LoadedDoc, where: string, kind: ManifestKind, xr: Obj, claim?: Obj) => {
    inputs.push({ source: d, where, xr, ...(claim ? { claim } : {}), unknown: unknownFields(d.doc, kind, d.node, d.lines) });
  };
  for (const p of paths) {
    const docs = loadAll([p === STDIN ? STDIN : at(p)], read);
    let found = 0;
    for (const d of docs) {
      const where = whereIs(d, new Set(docs.filter((x) => x.file === d.file).map((x) => x.index)).size, relativise(d.file, io.cwd));
      const named = (kind: string) => {
        const name = (d.doc.metadata as Obj | undefined)?.name;
        if (typeof name !== 'string' || name === '') throw new InputError(`${where}: the ${kind} has no metadata.name`);
      };
      if (isClaim(d.doc) && api === 'legacy') {
        named(CLAIM_KIND);
        add(d, where, 'claim', claimToXr(d.doc), d.doc);
        found++;
      } else if (isClaim(d.doc)) {
        // Crossplane 2: the manifest is the namespaced XR; kubectl puts it in `default` when it names no namespace.
        named(CLAIM_KIND);
        const meta = (d.doc.metadata ?? {}) as Obj;
        const xr = typeof meta.namespace === 'string' && meta.namespace !== '' ? d.doc : { ...d.doc, metadata: { ...meta, namespace: DEFAULT_CLAIM_NAMESPACE } };
        add(d, where, 'namespacedXr', xr);
        found++;
      } else if (isXr(d.doc) && api === 'legacy') {
        named(XR_KIND);
        add(d, where, 'legacyXr', d.doc);
        found++;
      } else if (isXr(d.doc)) {
        if (!quiet) io.stderr(`skipped ${where}: ${describeDoc(d.doc)} is an XR of the legacy API (render it with --api legacy)\n`);
      } else if (d.doc.kind === CLAIM_KIND || d.doc.kind === XR_KIND) {
        throw new InputError(`${where}: ${String(d.doc.kind)} ${String(d.doc.apiVersion)} is not supported; use ${API_GROUP}/${API_VERSION}`);
      } else if (!quiet) {
        io.stderr(`skipped ${where}: ${describeDoc(d.doc)} is neither a ${CLAIM_KIND} nor an ${XR_KIND}\n`);
      }
    }
    const shown = p === STDIN ? 'standard input' : p;
    if (found === 0) throw new InputError(api === 'legacy' ? `${shown}: no ${CLAIM_KIND} claim or ${XR_KIND} found` : `${shown}: no ${CLAIM_KIND} found`);
  }
  // A claim and the XR generated from it (examples/*/claim.yaml and xr.yaml) render the same: render once.
  const unique: Input[] = [];
  for (const i of inputs) {
    const twin = unique.find((u) => JSON.stringify(u.xr) === JSON.stringify(i.xr));
    if (twin) {
      if (!quiet) io.stderr(`skipped ${i.where}: the same XR as ${twin.where}\n`);
      continue;
    }
    unique.push(i);
  }
  return unique;
}

/** The per-input report on stderr: results always; with --quiet nothing else, and nothing at all without results. */
function summary(label: string, out: RenderOutputs, quiet: boolean): string {
  // A FATAL result is reported once, by the error line that follows; a message that already starts with its
  // reason (`ValidateSpec: spec.replicas: ...`) is not prefixed with it again.
  const results = out.results
    .filter((r) => r.severity !== 'FATAL')
    .map((r) => {
      const tail = r.target === 'COMPOSITE_AND_CLAIM' ? ' [composite and claim]' : '';
      const reason = r.reason && !r.message.startsWith(`${r.reason}: `) ? ` ${r.reason}` : '';
      return `  result ${r.severity}${reason}: ${r.message}${tail}`;
    });
  if (quiet || out.fatal) {
    const skipped = quiet ? [] : out.skippedSteps.map((st) => `  skipped pipeline step "${st.step}" (function ${st.function})`);
    const lines = [...skipped, ...results];
    return lines.length > 0 ? `${label}\n${lines.join('\n')}\n` : '';
  }
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
