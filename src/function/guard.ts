/**
 * Hostile-input guard: runs before schema validation (first thing in runFunction) and refuses, with a FATAL
 * result naming the field, what the zod schema cannot see or does not check:
 *
 *  - structure: values nested deeper than MAX_DEPTH, a spec larger than MAX_SPEC_BYTES, NaN/±Infinity anywhere in
 *    the XR's metadata and spec or in the function input (protobuf carries them, Kubernetes JSON cannot), own
 *    `__proto__` keys or objects whose prototype was swapped (prototype pollution), and values that are not plain
 *    JSON (a Date, a Map, a Buffer, a function: only reachable in-process);
 *  - Kubernetes syntax the apiserver enforces on the objects we compose but the XRD cannot express on map keys:
 *    label keys and values (spec.podLabels, spec.nodeSelector), annotation keys and total size
 *    (spec.podAnnotations), resource names and quantities (spec.resources.requests/limits: the schema's quantity
 *    pattern accepts strings such as `1.2.3Gi` or `-5`), toleration keys; and an XR name that is not an object
 *    name or too long to prefix the composed Objects' names.
 *
 * Everything here is iterative (no recursion, so no stack overflow on deep input) and linear in the input's size.
 * The guard never changes the request; the handler passes the desired state through untouched on refusal.
 */
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { DNS1123_SUBDOMAIN, labelValueProblem, qualifiedNameProblem, show } from '../k8s/names.js';
import { SIGNED_QUANTITY } from '../k8s/quantity.js';
import { fieldPath, isObj, jsonSize, type Obj } from '../k8s/json.js';

export { qualifiedNameProblem } from '../k8s/names.js';


export interface Refusal {
  /** The pipeline step reported in the FATAL result (`<step>: <message>`). */
  step: 'ReadCompositeResource' | 'ResolveIdentity' | 'ValidateSpec' | 'ValidateInput';
  /** Starts with the offending field, e.g. `spec.podLabels["bad key"]: ...`. */
  message: string;
}

/** Deepest nesting accepted below the XR or the input (real XRs nest ~20 levels, managedFields included). */
export const MAX_DEPTH = 64;
/** Largest spec accepted: a stored object is at most 1.5 MiB in etcd, and the spec is part of the XR. */
export const MAX_SPEC_BYTES = 1024 * 1024;
/** Kubernetes' limit on the total size of an object's annotations (apimachinery TotalAnnotationSizeLimitB). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;
/** Longest XR name: composed Objects are named `<XR name>-<resource key>` (≤ 253), keys get 32 characters. */
export const MAX_XR_NAME_LENGTH = 253 - 1 - 32;


/** A container (object or array) still to visit; leaves are checked in place and never become nodes. */
interface Node {
  value: object;
  parent: Node | undefined;
  key: string | number | undefined;
  depth: number;
}

function pathOf(parent: Node | undefined, key: string | number | undefined): (string | number)[] {
  const out: (string | number)[] = key === undefined ? [] : [key];
  for (let c = parent; c && c.key !== undefined; c = c.parent) out.push(c.key);
  return out.reverse();
}

/** Shortens the path of a too-deep value to its first levels: the message must stay readable. */
function shortPath(segments: (string | number)[], keep = 8): string {
  return segments.length <= keep ? fieldPath(segments) : `${fieldPath(segments.slice(0, keep))}…`;
}

interface WalkOptions {
  /** Reject NaN and ±Infinity (Kubernetes JSON has no such numbers). */
  finiteNumbers: boolean;
}

/**
 * Walks `root` (below the path `prefix`) once, depth first with an explicit stack, and returns the first
 * structural problem as `path: problem`, or undefined. Only containers are pushed, so a flat object with 100,000
 * keys costs one node.
 */
function checkStructure(root: unknown, prefix: (string | number)[], opts: WalkOptions): string | undefined {
  const stack: Node[] = [];
  const where = (parent: Node | undefined, key: string | number | undefined) => [...prefix, ...pathOf(parent, key)];
  const visit = (v: unknown, parent: Node | undefined, key: string | number | undefined, depth: number): string | undefined => {
    if (typeof v === 'number') {
      return opts.finiteNumbers && !Number.isFinite(v) ? `${fieldPath(where(parent, key))}: must be a finite number, got ${String(v)}` : undefined;
    }
    if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') return undefined;
    if (typeof v !== 'object') return `${fieldPath(where(parent, key))}: a ${typeof v} is not a JSON value`;
    if (depth >= MAX_DEPTH) return `${shortPath(where(parent, key))}: nested more than ${MAX_DEPTH} levels deep`;
    const proto: unknown = Object.getPrototypeOf(v);
    if (Array.isArray(v)) {
      if (proto !== Array.prototype) return `${fieldPath(where(parent, key))}: not a plain JSON array`;
    } else if (proto !== Object.prototype && proto !== null) {
      // A class instance (Date, Map, Buffer: in-process only), or a plain object whose prototype was replaced
      // through a "__proto__" key.
      const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
      return typeof ctor?.name === 'string' && ctor.name !== 'Object'
        ? `${fieldPath(where(parent, key))}: a ${ctor.name} is not a JSON value`
        : `${fieldPath([...where(parent, key), '__proto__'])}: the key "__proto__" is not allowed`;
    }
    stack.push({ value: v, parent, key, depth });
    return undefined;
  };
  const first = visit(root, undefined, undefined, 0);
  if (first) return first;
  while (stack.length) {
    const n = stack.pop()!;
    const v = n.value;
    if (Array.isArray(v)) {
      for (let j = 0; j < v.length; j++) {
        const p = visit(v[j], n, j, n.depth + 1);
        if (p) return p;
      }
      continue;
    }
    for (const k of Object.keys(v)) {
      if (k === '__proto__') return `${fieldPath(where(n, k))}: the key "__proto__" is not allowed`;
      const p = visit((v as Obj)[k], n, k, n.depth + 1);
      if (p) return p;
    }
  }
  return undefined;
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

/** Refuses a spec over MAX_SPEC_BYTES, naming its largest field. Stops measuring once past the limit. */
function checkSpecSize(spec: Obj): string | undefined {
  let total = 2;
  let largest: [string, number] = ['', 0];
  for (const k of Object.keys(spec)) {
    const bytes = jsonSize(spec[k], MAX_SPEC_BYTES) + k.length + 4;
    total += bytes;
    if (bytes > largest[1]) largest = [k, bytes];
    if (total > MAX_SPEC_BYTES) break;
  }
  if (total <= MAX_SPEC_BYTES) return undefined;
  return `${fieldPath(['spec', largest[0]])}: more than ${kib(largest[1])}; a StreamBusCluster spec holds at most ${kib(MAX_SPEC_BYTES)}`;
}

function checkLabelMap(field: string, m: unknown): string | undefined {
  if (!isObj(m)) return undefined; // the schema reports the type
  for (const [k, v] of Object.entries(m)) {
    const where = fieldPath(['spec', field, k]);
    const kp = qualifiedNameProblem(k);
    if (kp) return `${where}: ${show(k)} is not a valid label key: ${kp}`;
    if (typeof v === 'string') {
      const vp = labelValueProblem(v);
      if (vp) return `${where}: ${vp}`;
    }
  }
  return undefined;
}

function checkAnnotationMap(field: string, m: unknown): string | undefined {
  if (!isObj(m)) return undefined;
  let total = 0;
  for (const [k, v] of Object.entries(m)) {
    const kp = qualifiedNameProblem(k);
    if (kp) return `${fieldPath(['spec', field, k])}: ${show(k)} is not a valid annotation key: ${kp}`;
    total += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (total > MAX_ANNOTATIONS_BYTES) return `${fieldPath(['spec', field])}: ${kib(total)} of annotations; Kubernetes allows at most ${kib(MAX_ANNOTATIONS_BYTES)}`;
  return undefined;
}

function checkResources(resources: unknown): string | undefined {
  if (!isObj(resources)) return undefined;
  for (const kind of ['requests', 'limits']) {
    const m = resources[kind];
    if (!isObj(m)) continue;
    for (const [name, q] of Object.entries(m)) {
      const where = fieldPath(['spec', 'resources', kind, name]);
      const kp = qualifiedNameProblem(name);
      if (kp) return `${where}: ${show(name)} is not a valid resource name: ${kp}`;
      if (typeof q === 'string') {
        if (!SIGNED_QUANTITY.test(q)) return `${where}: ${show(q)} is not a Kubernetes quantity (such as 500m, 2Gi or 10)`;
        if (q.startsWith('-')) return `${where}: ${show(q)} must not be negative`;
      }
    }
  }
  return undefined;
}

function checkTolerations(tolerations: unknown): string | undefined {
  if (!Array.isArray(tolerations)) return undefined;
  for (let i = 0; i < tolerations.length; i++) {
    const key = (tolerations[i] as Obj | undefined)?.key;
    if (typeof key !== 'string' || key === '') continue;
    const kp = qualifiedNameProblem(key);
    if (kp) return `${fieldPath(['spec', 'tolerations', i, 'key'])}: ${show(key)} is not a valid taint key: ${kp}`;
  }
  return undefined;
}

/** Kubernetes-syntax checks on the spec's maps; each returns the first problem. */
function checkSpecSyntax(spec: Obj): string | undefined {
  return (
    checkLabelMap('podLabels', spec.podLabels) ??
    checkLabelMap('nodeSelector', spec.nodeSelector) ??
    checkAnnotationMap('podAnnotations', spec.podAnnotations) ??
    checkResources(spec.resources) ??
    checkTolerations(spec.tolerations)
  );
}

/** Returns why the request must be refused, or undefined when it may go on to schema validation. */
export function checkRequest(req: RunFunctionRequest): Refusal | undefined {
  const xr: unknown = req?.observed?.composite?.resource;
  if (xr !== undefined && xr !== null && typeof xr === 'object') {
    const x = xr as Obj;
    // Size first (cheap, and stops early); then the structure of what we read: metadata and spec (status is only
    // read for its phase, a string).
    if (isObj(x.spec)) {
      const big = checkSpecSize(x.spec);
      if (big) return { step: 'ValidateSpec', message: big };
    }
    for (const part of ['metadata', 'spec'] as const) {
      const problem = checkStructure(x[part], [part], { finiteNumbers: true });
      if (problem) return { step: part === 'spec' ? 'ValidateSpec' : 'ReadCompositeResource', message: problem };
    }
    const deep = checkStructure(x.status, ['status'], { finiteNumbers: false });
    if (deep) return { step: 'ReadCompositeResource', message: deep };
    const name = isObj(x.metadata) ? x.metadata.name : undefined;
    if (typeof name === 'string' && name !== '' && !DNS1123_SUBDOMAIN.test(name)) {
      // The apiserver never stores such an XR; composed Objects are named after it.
      return { step: 'ResolveIdentity', message: `metadata.name: ${show(name, 40)} is not a Kubernetes object name (DNS-1123 subdomain)` };
    }
    if (typeof name === 'string' && name.length > MAX_XR_NAME_LENGTH) {
      return {
        step: 'ResolveIdentity',
        message:
          `metadata.name: ${show(name, 40)} is ${name.length} characters; composed Objects are named ` +
          `<XR name>-<resource>, so at most ${MAX_XR_NAME_LENGTH} fit Kubernetes' 253-character limit`,
      };
    }
    if (isObj(x.spec)) {
      const problem = checkSpecSyntax(x.spec);
      if (problem) return { step: 'ValidateSpec', message: problem };
    }
  }
  const input: unknown = req?.input;
  if (input !== undefined && input !== null) {
    const problem = checkStructure(input, ['input'], { finiteNumbers: true });
    if (problem) return { step: 'ValidateInput', message: problem };
  }
  return undefined;
}
