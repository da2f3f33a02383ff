/**
 * Unknown fields, as Kubernetes' strict field validation reports them.
 *
 * The API server prunes fields an XRD's schema does not know: `replica: 3` (for `replicas`) or `storage.sise` would be
 * dropped silently and the defaults used, unless the client asks for strict field validation
 * (`kubectl apply --validate=strict`), which refuses the object with `unknown field "spec.replica"`. The render
 * command reports them the same way, with the file and line, by walking the YAML document against the zod schema
 * (the single source of truth the XRDs are generated from): a warning by default, an error with `--strict`.
 */
import type { LineCounter, Node } from 'yaml';
import { isMap, isPair, isScalar, isSeq } from 'yaml';
import type { z } from 'zod';
import { StreamBusClusterSpec } from '../api/schema.js';

export interface UnknownField {
  /** Kubernetes field path, e.g. `spec.storage.sise`, `spec.tolerations[0].keyy`. */
  path: string;
  /** 1-based line and column of the key, when the document came from YAML text. */
  line?: number;
  col?: number;
  /** A known field of the same object with a similar name. */
  suggestion?: string;
}

/** ObjectMeta's fields (k8s.io/apimachinery ObjectMeta), all that a manifest or `kubectl get -o yaml` may carry. */
const OBJECT_META_FIELDS = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

/**
 * Spec fields Crossplane adds to each kind besides the StreamBusCluster API (xcrd: CompositeResourceClaimSpecProps for
 * claims, CompositeResourceSpecProps for legacy XRs; a v2 XR keeps its Crossplane fields under spec.crossplane).
 */
export const CROSSPLANE_SPEC_FIELDS: Record<'claim' | 'legacyXr' | 'namespacedXr', string[]> = {
  claim: [
    'compositionRef',
    'compositionSelector',
    'compositionUpdatePolicy',
    'compositionRevisionRef',
    'compositionRevisionSelector',
    'compositeDeletePolicy',
    'resourceRef',
    'writeConnectionSecretToRef',
    'publishConnectionDetailsTo',
  ],
  legacyXr: [
    'compositionRef',
    'compositionSelector',
    'compositionUpdatePolicy',
    'compositionRevisionRef',
    'compositionRevisionSelector',
    'claimRef',
    'resourceRefs',
    'writeConnectionSecretToRef',
    'publishConnectionDetailsTo',
    'environmentConfigRefs',
  ],
  namespacedXr: ['crossplane'],
};

type Schema = z.core.$ZodType;
type Def = { type: string; shape?: Record<string, Schema>; catchall?: Schema; innerType?: Schema; in?: Schema; out?: Schema; element?: Schema; valueType?: Schema; options?: Schema[] };
const def = (s: Schema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under wrappers that do not change the shape (optional, default, nullable, pipe, ...). */
function unwrap(s: Schema): Schema {
  for (;;) {
    const d = def(s);
    if (d.innerType && ['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(Math.min(name.length, best.length) / 3)) ? best : undefined;
}

type Position = (n: Node | undefined) => { line?: number; col?: number };

function positionFn(lines: LineCounter | undefined): Position {
  return (n) => {
    const offset = n?.range?.[0];
    if (!lines || offset === undefined) return {};
    const p = lines.linePos(offset);
    return { line: p.line, col: p.col };
  };
}

/** The YAML node of a map's entry, or undefined. */
function entry(node: Node | undefined, key: string): { key: Node | undefined; value: Node | undefined } | undefined {
  if (!isMap(node)) return undefined;
  for (const p of node.items) {
    if (isPair(p) && isScalar(p.key) && String(p.key.value) === key) return { key: p.key as Node, value: (p.value ?? undefined) as Node | undefined };
  }
  return undefined;
}

function walk(value: unknown, schema: Schema, path: string, node: Node | undefined, at: Position, out: UnknownField[], extra: string[] = []): void {
  const s = unwrap(schema);
  const d = def(s);
  if (d.type === 'object' && d.shape) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return; // a type error: the function reports it
    const open = d.catchall !== undefined && def(d.catchall).type !== 'never';
    const known = Object.keys(d.shape);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const e = entry(node, k);
      const child = d.shape[k];
      if (child) walk(v, child, `${path}.${k}`, e?.value, at, out);
      else if (!open && !extra.includes(k)) out.push({ path: `${path}.${k}`, ...at(e?.key), ...suggest(k, [...known, ...extra]) });
    }
  } else if (d.type === 'array' && d.element && Array.isArray(value)) {
    value.forEach((v, i) => walk(v, d.element!, `${path}[${i}]`, isSeq(node) ? (node.items[i] as Node | undefined) : undefined, at, out));
  } else if (d.type === 'record' && d.valueType && value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(v, d.valueType, `${path}.${k}`, entry(node, k)?.value, at, out);
  } else if (d.type === 'union' && d.options) {
    // Only walk into a union with a single object-shaped option (quantities, the only unions, are scalars).
    const objects = d.options.filter((o) => def(unwrap(o)).type === 'object');
    if (objects.length === 1) walk(value, objects[0]!, path, node, at, out);
  }
}

const suggest = (k: string, known: string[]) => {
  const c = closest(k, known);
  return c ? { suggestion: c } : {};
};

export type ManifestKind = keyof typeof CROSSPLANE_SPEC_FIELDS;

/**
 * Unknown fields of a StreamBusCluster claim or XR: top-level keys, metadata, and spec (walked against the zod schema,
 * allowing the Crossplane fields of its kind). `status` is the API server's to write and is not checked.
 */
export function unknownFields(doc: Record<string, unknown>, kind: ManifestKind, node?: Node, lines?: LineCounter): UnknownField[] {
  const at = positionFn(lines);
  const out: UnknownField[] = [];
  const top = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
  for (const k of Object.keys(doc)) {
    if (!top.includes(k)) out.push({ path: k, ...at(entry(node, k)?.key), ...suggest(k, top) });
  }
  const meta = doc.metadata;
  if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
    const metaNode = entry(node, 'metadata')?.value;
    for (const k of Object.keys(meta)) {
      if (!OBJECT_META_FIELDS.includes(k)) out.push({ path: `metadata.${k}`, ...at(entry(metaNode, k)?.key), ...suggest(k, OBJECT_META_FIELDS) });
    }
  }
  if (doc.spec !== undefined) walk(doc.spec, StreamBusClusterSpec, 'spec', entry(node, 'spec')?.value, at, out, CROSSPLANE_SPEC_FIELDS[kind]);
  return out;
}

/** `file:line:col: unknown field "spec.replica" (did you mean "spec.replicas"?)`. */
export function describeUnknownField(file: string, f: UnknownField): string {
  const where = f.line !== undefined ? `${file}:${f.line}:${f.col ?? 1}` : file;
  const parent = f.path.includes('.') ? f.path.slice(0, f.path.lastIndexOf('.') + 1) : '';
  return `${where}: unknown field "${f.path}"${f.suggestion ? ` (did you mean "${parent}${f.suggestion}"?)` : ''}`;
}
