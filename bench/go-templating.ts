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

/** What function-streambus answered, as far as a Go template can reproduce it. */
export interface Answer {
  composed: Record<string, { resource: Obj; ready: number }>;
  /** The desired XR's status. */
  status?: Obj | undefined;
  /** The desired XR's connection details. */
  connectionDetails?: Record<string, Uint8Array> | undefined;
  /** Extra resources asked for (RunFunctionResponse.requirements.extraResources). */
  extraResources?: Record<string, Obj> | undefined;
  /**
   * Live state instead of the fixed answer (the scale benchmark, bench/scale-go-templating.ts): template text run
   * after the header (e.g. readiness read from the observed resources into variables), a template action per composed
   * resource that yields `True` or `False` for its ready annotation, and one per top-level status field that yields
   * its value.
   */
  live?: { prelude: string; ready: Record<string, string>; status: Record<string, string> } | undefined;
}

export const META_API_VERSION = 'meta.gotemplating.fn.crossplane.io/v1alpha1';

/**
 * The Go template for function-go-templating: the composed resources function-streambus renders for `xr`, one YAML
 * document each, named by the composition-resource-name annotation and carrying its readiness in the ready
 * annotation; then a document of the XR's kind with the status function-streambus writes (function-go-templating
 * merges such a document, when it has no name annotation, into the desired XR's status), the XR's connection details
 * (a CompositeConnectionDetails document, values base64-encoded by the template) and the extra resources asked for
 * (an ExtraResources document).
 *
 * What is read from the request (the map function-go-templating makes of it):
 *  - the cluster's identity (the XR's name, its claim's name and namespace: `$xr`, `$claim`, `$ns`), which the
 *    composed resources' names, labels, selectors, DNS names, the status's endpoints and the connection details are
 *    built from;
 *  - every manifest value that is, whole, a string of the XR's spec found at one place only there, under the same
 *    key (pod labels and annotations, affinity and toleration terms, quantities, ...), and `replicas` from
 *    spec.replicas: `{{ toJson (index $spec ...) }}`.
 * Everything else is literal text: broker lists, derived values (a quota computed from a spec value, the broker
 * configuration's JSON text), the alert rules and dashboards. The template is thus mostly static, like the
 * hand-written one of the issue's measurement, which favours function-go-templating: a template that derived every
 * field from the spec (ranges over brokers and tenants, arithmetic) would run more template actions per call.
 *
 * Literal `{{`/`}}` in the manifests (Prometheus alert templates, Grafana legends) are emitted through {{`{{`}}.
 */
export function goTemplate(xr: Obj, answer: Answer): string {
  // A claim's XR carries its claim's name and namespace as labels; a namespaced (Crossplane 2) XR is its own.
  const namespaced = !xr.metadata.labels?.['crossplane.io/claim-name'];
  const claim: string = namespaced ? xr.metadata.name : xr.metadata.labels['crossplane.io/claim-name'];
  const ns: string = namespaced ? xr.metadata.namespace : xr.metadata.labels['crossplane.io/claim-namespace'];
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
  // Template actions that must not go through the identity replacement below: placeholders until the end.
  const exprs: string[] = [];
  const placeholder = (expr: string) => {
    exprs.push(expr);
    return `SBTEMPLATEACTION${String(exprs.length - 1).padStart(5, '0')}X`;
  };
  const fromSpec = (path: (string | number)[]) =>
    placeholder(`{{ toJson (index $spec ${path.map((p) => (typeof p === 'number' ? String(p) : JSON.stringify(p))).join(' ')}) }}`);
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
  // A connection detail: `{{ print "literal" $claim "literal" ... | b64enc }}`.
  const secretValue = (bytes: Uint8Array) => {
    const marked = Buffer.from(bytes)
      .toString('utf8')
      .replaceAll(xr.metadata.name, '\u0001$xr\u0001')
      .replaceAll(claim, '\u0001$claim\u0001')
      .replaceAll(`.${ns}.`, '.\u0001$ns\u0001.');
    const parts = marked
      .split('\u0001')
      .map((p, i) => (i % 2 === 1 ? p : p === '' ? '' : JSON.stringify(p)))
      .filter((p) => p !== '');
    return placeholder(`{{ print ${parts.join(' ')} | b64enc }}`);
  };

  const docs = Object.entries(answer.composed).map(([name, { resource, ready }]) => {
    const o = substitute(resource, '') as Obj;
    o.metadata = { ...(o.metadata ?? {}) };
    const live = answer.live?.ready[name];
    // A live readiness is quoted: `True` unquoted would be a YAML boolean, not an annotation's string.
    o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [NAME_ANNOTATION]: name, [READY_ANNOTATION]: live ? placeholder(`'${live}'`) : READY[ready] ?? 'Unspecified' };
    return doc(o);
  });
  if (answer.status && Object.keys(answer.status).length > 0) {
    const status = { ...answer.status, ...Object.fromEntries(Object.entries(answer.live?.status ?? {}).map(([k, a]) => [k, placeholder(a)])) };
    docs.push(doc({ apiVersion: xr.apiVersion, kind: xr.kind, status }));
  }
  if (answer.connectionDetails && Object.keys(answer.connectionDetails).length > 0) {
    const data = Object.fromEntries(Object.entries(answer.connectionDetails).map(([k, v]) => [k, secretValue(v)]));
    docs.push(doc({ apiVersion: META_API_VERSION, kind: 'CompositeConnectionDetails', data }));
  }
  if (answer.extraResources && Object.keys(answer.extraResources).length > 0) {
    docs.push(doc({ apiVersion: META_API_VERSION, kind: 'ExtraResources', requirements: answer.extraResources }));
  }
  return [
    '{{- /* Generated by bench/go-templating.ts from function-streambus\'s answer to the benchmark request. */ -}}\n',
    '{{- $xr := .observed.composite.resource.metadata.name }}\n',
    namespaced
      ? '{{- $claim := .observed.composite.resource.metadata.name }}\n{{- $ns := .observed.composite.resource.metadata.namespace }}\n'
      : '{{- $claim := index .observed.composite.resource.metadata.labels "crossplane.io/claim-name" }}\n{{- $ns := index .observed.composite.resource.metadata.labels "crossplane.io/claim-namespace" }}\n',
    '{{- $spec := .observed.composite.resource.spec }}\n',
    answer.live?.prelude ?? '',
    docs
      .join('')
      .replaceAll('{{', '\u0000L')
      .replaceAll('}}', '\u0000R')
      .replaceAll(xr.metadata.name, '{{ $xr }}')
      .replaceAll(claim, '{{ $claim }}')
      .replaceAll(`.${ns}.`, '.{{ $ns }}.')
      .replaceAll(`namespace: ${ns}\n`, 'namespace: {{ $ns }}\n')
      .replaceAll('\u0000L', '{{`{{`}}')
      .replaceAll('\u0000R', '{{`}}`}}')
      .replace(/SBTEMPLATEACTION(\d{5})X/g, (_m, i: string) => exprs[Number(i)]!),
  ].join('');
}

/** function-go-templating's input: an inline GoTemplate. */
export function goTemplatingInput(template: string): Obj {
  return { apiVersion: 'gotemplating.fn.crossplane.io/v1beta1', kind: 'GoTemplate', source: 'Inline', inline: { template } };
}
