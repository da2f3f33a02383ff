/**
 * The benchmark's Go peer: the real function-go-templating v0.12.2 (crossplane-contrib), an unmodified upstream
 * release provided prebuilt outside the project (../shared/tools/function-go-templating-v0.12.2/, see its README;
 * never copied into this repository). It is what a platform team would use instead of a dedicated function.
 *
 * This module finds the binary, checks its sha256 before anything runs it, and writes the Go template that makes it
 * render what function-streambus renders for the benchmark request.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

type Obj = Record<string, any>;

export const GO_TEMPLATING_VERSION = 'v0.12.2';
/** sha256 of the upstream linux/amd64 build, as published in the shared folder's README. */
export const GO_TEMPLATING_SHA256 = '09feafca618466adbe211a42d227c51f266446687e5ed323d23f691905562ec7';

/** Where the binary is: $FUNCTION_GO_TEMPLATING, else ../shared/tools/function-go-templating-v0.12.2/ beside the project. */
export function goTemplatingPath(root: string): string {
  return process.env.FUNCTION_GO_TEMPLATING || join(root, '..', 'shared', 'tools', `function-go-templating-${GO_TEMPLATING_VERSION}`, 'function-go-templating');
}

/** The binary's path once its sha256 is checked, or why it cannot be used (missing, or not the pinned build). */
export function locateGoTemplating(root: string): { path: string } | { problem: string } {
  const path = goTemplatingPath(root);
  if (!existsSync(path)) return { problem: `function-go-templating ${GO_TEMPLATING_VERSION} not found at ${path}` };
  const sum = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (sum !== GO_TEMPLATING_SHA256) {
    return { problem: `${path} has sha256 ${sum}, not the pinned function-go-templating ${GO_TEMPLATING_VERSION} (${GO_TEMPLATING_SHA256}): refusing to run it` };
  }
  return { path };
}

export const NAME_ANNOTATION = 'gotemplating.fn.crossplane.io/composition-resource-name';
export const READY_ANNOTATION = 'gotemplating.fn.crossplane.io/ready';
/** Ready enum of the RunFunction protocol (fnv1.Ready) to the annotation's values. */
const READY: Record<number, string> = { 0: 'Unspecified', 1: 'True', 2: 'False' };

/**
 * The Go template for function-go-templating: the composed resources function-streambus renders for `xr`, one YAML
 * document each, named by the composition-resource-name annotation and carrying its readiness in the ready
 * annotation, followed by a document of the XR's kind with the status function-streambus writes (function-go-templating
 * merges such a document, when it has no name annotation, into the desired XR's status).
 *
 * What is read from the request (the map function-go-templating makes of it):
 *  - the cluster's identity (the XR's name, its claim's name and namespace), which the composed resources' names,
 *    labels, selectors, DNS names and the status's endpoints are built from;
 *  - every manifest value that is, whole, a string of the XR's spec found at one place only there, under the same
 *    key (pod labels and annotations, affinity and toleration terms, quantities, ...), and `replicas` from
 *    spec.replicas: `{{ toJson (index .observed.composite.resource.spec ...) }}`;
 * Everything else is literal text: broker lists, derived values (a quota computed from a spec value, the broker
 * configuration's JSON text), the alert rules and dashboards. The template is thus mostly static, like the
 * hand-written one of the issue's measurement, which favours function-go-templating: a template that derived every
 * field from the spec (ranges over brokers and tenants, arithmetic) would run more template actions per call.
 *
 * Literal `{{`/`}}` in the manifests (Prometheus alert templates, Grafana legends) are emitted through {{`{{`}}.
 */
export function goTemplate(xr: Obj, composed: Record<string, { resource: Obj; ready: number }>, status: Obj | undefined): string {
  const claim: string = xr.metadata.labels['crossplane.io/claim-name'];
  const ns: string = xr.metadata.labels['crossplane.io/claim-namespace'];
  const doc = (o: Obj) => `---\n${stringify(o, { lineWidth: 0 })}`;
  // Whole-value strings of the spec found at exactly one path, and where they are.
  const specStrings = new Map<string, (string | number)[] | null>();
  const walk = (v: unknown, path: (string | number)[]) => {
    if (typeof v === 'string') {
      if (v.length >= 3) specStrings.set(v, specStrings.has(v) ? null : path);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(xr.spec, []);
  const exprs: string[] = [];
  const fromSpec = (path: (string | number)[]) => {
    exprs.push(`{{ toJson (index .observed.composite.resource.spec ${path.map((p) => (typeof p === 'number' ? String(p) : JSON.stringify(p))).join(' ')}) }}`);
    return `SBSPECVALUE${String(exprs.length - 1).padStart(5, '0')}X`;
  };
  const substitute = (v: unknown, key: string): unknown => {
    if (typeof v === 'string') {
      // Only under the same key as in the spec (e.g. podLabels.team -> labels.team, affinity ... key -> key): a
      // value that merely happens to equal one of the spec (a fixed label value) stays literal.
      const path = specStrings.get(v);
      const specKey = path?.filter((p) => typeof p === 'string').at(-1);
      return path && specKey === key ? fromSpec(path) : v;
    }
    if (typeof v === 'number' && key === 'replicas' && v === xr.spec.replicas) return fromSpec(['replicas']);
    if (Array.isArray(v)) return v.map((x) => substitute(x, key));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, k)]));
    return v;
  };
  const docs = Object.entries(composed).map(([name, { resource, ready }]) => {
    const o = substitute(resource, '') as Obj;
    o.metadata = { ...(o.metadata ?? {}) };
    o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [NAME_ANNOTATION]: name, [READY_ANNOTATION]: READY[ready] ?? 'Unspecified' };
    return doc(o);
  });
  if (status && Object.keys(status).length > 0) docs.push(doc({ apiVersion: xr.apiVersion, kind: xr.kind, status }));
  const XR_NAME = '{{ .observed.composite.resource.metadata.name }}';
  const CLAIM = '{{ index .observed.composite.resource.metadata.labels "crossplane.io/claim-name" }}';
  const NS = '{{ index .observed.composite.resource.metadata.labels "crossplane.io/claim-namespace" }}';
  return [
    '{{- /* Generated by bench/go-templating.ts from function-streambus\'s answer to the benchmark request. */ -}}\n',
    docs
      .join('')
      .replaceAll('{{', '\u0000L')
      .replaceAll('}}', '\u0000R')
      .replaceAll(xr.metadata.name, XR_NAME)
      .replaceAll(claim, CLAIM)
      .replaceAll(`.${ns}.`, `.${NS}.`)
      .replaceAll(`namespace: ${ns}\n`, `namespace: ${NS}\n`)
      .replaceAll('\u0000L', '{{`{{`}}')
      .replaceAll('\u0000R', '{{`}}`}}')
      .replace(/SBSPECVALUE(\d{5})X/g, (_m, i: string) => exprs[Number(i)]!),
  ].join('');
}

/** function-go-templating's input: an inline GoTemplate. */
export function goTemplatingInput(template: string): Obj {
  return { apiVersion: 'gotemplating.fn.crossplane.io/v1beta1', kind: 'GoTemplate', source: 'Inline', inline: { template } };
}
