/**
 * In-process `crossplane render`: runs function-streambus's pipeline step of a Composition on an XR, without a
 * server, Docker or a cluster, and assembles the output the way Crossplane's CLI does
 * (crossplane/crossplane cmd/crank/render/render.go at v2.2.1):
 *
 *  - the request carries the XR as observed composite, the observed composed resources keyed by their
 *    `crossplane.io/composition-resource-name` annotation, an empty desired state and context, the step's input
 *    and Crossplane 2.2's capabilities; it is round-tripped through the protobuf codec, so the handler sees what
 *    it would see over gRPC, and so is the response (a response that cannot be serialised fails here as it would
 *    fail there);
 *  - requirements are met as Crossplane's FetchingFunctionRunner meets them: the function is called again with
 *    the resources it asked for (from the `-e/--required-resources` fixtures; none found is an empty list),
 *    until its requirements stop changing (at most 5 more calls);
 *  - a FATAL result stops the pipeline: nothing is rendered;
 *  - each composed resource keeps the name and namespace of its observed counterpart, gets the
 *    composition-resource-name annotation, the crossplane.io/composite, claim-name and claim-namespace labels and
 *    the XR as controller owner reference (uid as in the XR, "" when it has none), and a generateName of
 *    `<xr>-` when it has neither name nor generateName; resources are sorted by composition resource name;
 *  - the XR is the desired composite (status only) plus apiVersion, kind, name and namespace, with the
 *    `Ready` condition Crossplane derives from the resources' readiness and then the function's conditions
 *    (system types Ready, Synced and Healthy excluded); every lastTransitionTime is 2024-01-01T00:00:00Z, the
 *    fixed time `crossplane render` uses, so renders are reproducible.
 *
 * Steps of other functions cannot run in-process: they are skipped and reported (desired state passes through).
 */
import { obj, type Obj } from '../k8s/json.js';
import {
  Capability,
  Ready,
  Requirements,
  RunFunctionRequest,
  RunFunctionResponse,
  Severity,
  Status,
  Target,
  type ResourceSelector,
  type Resources,
  type State,
} from '@crossplane-org/function-sdk-typescript';
import { FUNCTION_INPUT_GROUP, FUNCTION_INPUT_KIND, FUNCTION_INPUT_VERSION } from '../api/schema.js';
import { runFunction } from '../function/handler.js';

export type { Obj };

export const ANNOTATION_COMPOSITION_RESOURCE_NAME = 'crossplane.io/composition-resource-name';
export const LABEL_COMPOSITE = 'crossplane.io/composite';
export const LABEL_CLAIM_NAME = 'crossplane.io/claim-name';
export const LABEL_CLAIM_NAMESPACE = 'crossplane.io/claim-namespace';
/** The lastTransitionTime `crossplane render` gives every condition. */
export const RENDER_CONDITION_TIME = '2024-01-01T00:00:00Z';
export const FUNCTION_INPUT_API_VERSION = `${FUNCTION_INPUT_GROUP}/${FUNCTION_INPUT_VERSION}`;
/** Capabilities Crossplane 2.2 advertises (internal/xfn/capabilities.go SupportedCapabilities). */
export const CROSSPLANE_CAPABILITIES = [
  Capability.CAPABILITY_CAPABILITIES,
  Capability.CAPABILITY_REQUIRED_RESOURCES,
  Capability.CAPABILITY_CREDENTIALS,
  Capability.CAPABILITY_CONDITIONS,
  Capability.CAPABILITY_REQUIRED_SCHEMAS,
];

/** A condition as Crossplane writes it on the XR (xpv1.Condition). */
export interface XrCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime: string;
  reason: string;
  message?: string;
  observedGeneration?: number;
}

/** A function result as reported by the render command. */
export interface RenderResult {
  step: string;
  severity: 'FATAL' | 'WARNING' | 'NORMAL' | 'UNSPECIFIED';
  reason?: string;
  target?: 'COMPOSITE' | 'COMPOSITE_AND_CLAIM';
  message: string;
}

export interface RenderInputs {
  xr: Obj;
  composition: Obj;
  /** Observed composed resources (the `-o/--observed-resources` fixtures of `crossplane render`). */
  observed?: Obj[];
  /** Resources the function may ask for (the `-e/--required-resources` fixtures of `crossplane render`). */
  required?: Obj[];
}

export interface RenderOutputs {
  /** The XR as `crossplane render` prints it (status and conditions). */
  xr: Obj;
  /** Composed resources, sorted by composition resource name. */
  composed: Obj[];
  /** Every result, in order (including the FATAL one that stopped the pipeline). */
  results: RenderResult[];
  /** The conditions of the XR's status, as printed. */
  conditions: XrCondition[];
  /** Set when a step returned a FATAL result: nothing is rendered then. */
  fatal?: { step: string; message: string };
  /** Pipeline steps that were not run because they are not function-streambus. */
  skippedSteps: { step: string; function: string }[];
}

export class RenderError extends Error {}

interface PipelineStep {
  step: string;
  functionRef?: { name?: string };
  input?: Obj;
}

/** True when the step is function-streambus's: its input is our Input kind (the function's package name may vary). */
export function isStreamBusStep(s: PipelineStep): boolean {
  const input = obj(s.input);
  if (input) return input.apiVersion === FUNCTION_INPUT_API_VERSION && input.kind === FUNCTION_INPUT_KIND;
  return /(^|-)function-streambus$/.test(s.functionRef?.name ?? '');
}

/** Checks a Composition the way `crossplane render` does before running it; throws RenderError. */
export function checkComposition(composition: Obj, xr?: Obj): PipelineStep[] {
  const name = String(obj(composition.metadata)?.name ?? '');
  if (composition.kind !== 'Composition' || !String(composition.apiVersion ?? '').startsWith('apiextensions.crossplane.io/')) {
    throw new RenderError(`not a Composition (apiVersion ${String(composition.apiVersion)}, kind ${String(composition.kind)})`);
  }
  const spec = obj(composition.spec) ?? {};
  if (spec.mode !== 'Pipeline') throw new RenderError(`Composition "${name}" must use spec.mode: Pipeline`);
  const pipeline = Array.isArray(spec.pipeline) ? (spec.pipeline as PipelineStep[]) : [];
  if (!pipeline.some(isStreamBusStep)) {
    throw new RenderError(`Composition "${name}" has no function-streambus step (a step whose input is ${FUNCTION_INPUT_API_VERSION} ${FUNCTION_INPUT_KIND})`);
  }
  if (xr) {
    const ref = obj(spec.compositeTypeRef) ?? {};
    if (ref.kind !== xr.kind) throw new RenderError(`composition's compositeTypeRef.kind (${String(ref.kind)}) does not match XR's kind (${String(xr.kind)})`);
    if (ref.apiVersion !== xr.apiVersion) {
      throw new RenderError(`composition's compositeTypeRef.apiVersion (${String(ref.apiVersion)}) does not match XR's apiVersion (${String(xr.apiVersion)})`);
    }
    const selector = obj(obj(obj(xr.spec)?.compositionSelector)?.matchLabels);
    const labels = obj(obj(composition.metadata)?.labels) ?? {};
    for (const [k, v] of Object.entries(selector ?? {})) {
      if (!(k in labels)) throw new RenderError(`composition "${name}" is missing required label "${k}"`);
      if (labels[k] !== v) throw new RenderError(`composition "${name}" has incorrect value for label "${k}": want "${String(v)}", got "${String(labels[k])}"`);
    }
  }
  return pipeline;
}

const SEVERITY: Record<number, RenderResult['severity']> = {
  [Severity.SEVERITY_FATAL]: 'FATAL',
  [Severity.SEVERITY_WARNING]: 'WARNING',
  [Severity.SEVERITY_NORMAL]: 'NORMAL',
  [Severity.SEVERITY_UNSPECIFIED]: 'UNSPECIFIED',
};
const TARGET: Record<number, RenderResult['target']> = {
  [Target.TARGET_COMPOSITE]: 'COMPOSITE',
  [Target.TARGET_COMPOSITE_AND_CLAIM]: 'COMPOSITE_AND_CLAIM',
};
const STATUS: Record<number, XrCondition['status']> = {
  [Status.STATUS_CONDITION_TRUE]: 'True',
  [Status.STATUS_CONDITION_FALSE]: 'False',
  [Status.STATUS_CONDITION_UNKNOWN]: 'Unknown',
  [Status.STATUS_CONDITION_UNSPECIFIED]: 'Unknown',
};

/** What goes over the wire: the message encoded and decoded by the SDK's protobuf codec. */
function overTheWire<T>(codec: { encode(m: T): { finish(): Uint8Array }; decode(b: Uint8Array): T }, m: T, what: string): T {
  try {
    return codec.decode(codec.encode(m).finish());
  } catch (err) {
    throw new RenderError(`the ${what} cannot be serialised for gRPC: ${(err as Error).message}`);
  }
}

/** "a, b, and c" / "a, b, c, and 2 more": Crossplane's resource.StableNAndSomeMore(3, names). */
export function stableNAndSomeMore(names: string[], n = 3): string {
  const s = [...names].sort();
  if (s.length > n) return `${s.slice(0, n).join(', ')}, and ${s.length - n} more`;
  if (s.length === n) return `${s.slice(0, n - 1).join(', ')}, and ${s[n - 1]}`;
  return s.join(', ');
}

const SYSTEM_CONDITION_TYPES = ['Ready', 'Synced', 'Healthy'];

/** xpv1.ConditionedStatus.SetConditions: replace the condition of the same type unless equal, else append. */
function setCondition(list: XrCondition[], c: XrCondition): void {
  const same = (a: XrCondition) =>
    a.status === c.status && a.reason === c.reason && (a.message ?? '') === (c.message ?? '') && (a.observedGeneration ?? 0) === (c.observedGeneration ?? 0);
  let exists = false;
  for (let i = 0; i < list.length; i++) {
    if (list[i]!.type !== c.type) continue;
    exists = true;
    if (!same(list[i]!)) list[i] = c;
  }
  if (!exists) list.push(c);
}

function condition(type: string, status: XrCondition['status'], reason: string, message?: string, observedGeneration?: number): XrCondition {
  return {
    type,
    status,
    lastTransitionTime: RENDER_CONDITION_TIME,
    reason,
    ...(message ? { message } : {}),
    ...(observedGeneration ? { observedGeneration } : {}),
  };
}

/** Runs the Composition's function-streambus step on the XR and assembles the output like `crossplane render`. */
export function renderXr(inputs: RenderInputs): RenderOutputs {
  const { xr } = inputs;
  const pipeline = checkComposition(inputs.composition, xr);
  const xrMeta = obj(xr.metadata) ?? {};
  const xrName = String(xrMeta.name ?? '');
  const xrNamespace = typeof xrMeta.namespace === 'string' ? xrMeta.namespace : '';

  const observed: Record<string, Obj> = {};
  for (const o of inputs.observed ?? []) {
    const name = obj(obj(o.metadata)?.annotations)?.[ANNOTATION_COMPOSITION_RESOURCE_NAME];
    if (typeof name !== 'string' || name === '') {
      throw new RenderError(
        `observed resource ${String(o.kind)} "${String(obj(o.metadata)?.name ?? '')}" has no ${ANNOTATION_COMPOSITION_RESOURCE_NAME} annotation`,
      );
    }
    observed[name] = o;
  }

  const out: RenderOutputs = { xr: {}, composed: [], results: [], conditions: [], skippedSteps: [] };
  let desired: State = { composite: undefined, resources: {} };
  let context: Obj | undefined = {};
  const fnConditions: XrCondition[] = [];

  for (const step of pipeline) {
    if (!isStreamBusStep(step)) {
      out.skippedSteps.push({ step: step.step, function: step.functionRef?.name ?? '' });
      continue;
    }
    const req: RunFunctionRequest = overTheWire(
      RunFunctionRequest,
      RunFunctionRequest.fromPartial({
        meta: { tag: '', capabilities: CROSSPLANE_CAPABILITIES },
        observed: {
          composite: { resource: xr, connectionDetails: {} },
          resources: Object.fromEntries(Object.entries(observed).map(([k, v]) => [k, { resource: v, connectionDetails: {} }])),
        },
        desired,
        context,
        ...(step.input ? { input: step.input } : {}),
        credentials: {},
      }),
      'request',
    );
    const rsp = runWithRequirements(req, step.step, inputs.required ?? []);
    desired = rsp.desired ?? { composite: undefined, resources: {} };
    context = rsp.context;
    for (const c of rsp.conditions ?? []) {
      fnConditions.push(condition(c.type, STATUS[c.status] ?? 'Unknown', c.reason, c.message, undefined));
    }
    for (const r of rsp.results ?? []) {
      const res: RenderResult = {
        step: step.step,
        severity: SEVERITY[r.severity] ?? 'UNSPECIFIED',
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.target !== undefined && TARGET[r.target] ? { target: TARGET[r.target] } : {}),
        message: r.message,
      };
      out.results.push(res);
      if (res.severity === 'FATAL') {
        out.fatal = { step: step.step, message: r.message };
        out.conditions = fnConditions;
        return out;
      }
    }
  }

  const unready: string[] = [];
  for (const [name, dr] of Object.entries(desired.resources ?? {})) {
    if (dr.ready !== Ready.READY_TRUE) unready.push(name);
    const cd = structuredClone(obj(dr.resource) ?? {});
    const meta = (cd.metadata = { ...(obj(cd.metadata) ?? {}) }) as Obj;
    const seen = observed[name];
    if (seen) {
      // Keep the identity of the resource that already exists (unset fields are removed, as in Go).
      const seenMeta = obj(seen.metadata) ?? {};
      for (const f of ['namespace', 'name', 'generateName']) {
        if (typeof seenMeta[f] === 'string' && seenMeta[f] !== '') meta[f] = seenMeta[f];
        else delete meta[f];
      }
    }
    setComposedResourceMetadata(cd, xr, name);
    out.composed.push(cd);
  }
  const resName = (o: Obj) => String(obj(obj(o.metadata)?.annotations)?.[ANNOTATION_COMPOSITION_RESOURCE_NAME]);
  out.composed.sort((a, b) => (resName(a) < resName(b) ? -1 : resName(a) > resName(b) ? 1 : 0));

  const composite = structuredClone(obj(desired.composite?.resource) ?? {});
  composite.apiVersion = xr.apiVersion;
  composite.kind = xr.kind;
  const cmeta = (composite.metadata = { ...(obj(composite.metadata) ?? {}), name: xrName }) as Obj;
  if (xrNamespace) cmeta.namespace = xrNamespace;
  else delete cmeta.namespace;

  const status = (composite.status = { ...(obj(composite.status) ?? {}) }) as Obj;
  const conditions: XrCondition[] = Array.isArray(status.conditions) ? (status.conditions as XrCondition[]).map((c) => ({ ...c })) : [];
  const compositeReady = desired.composite?.ready ?? Ready.READY_UNSPECIFIED;
  let ready = condition('Ready', 'True', 'Available');
  if (compositeReady === Ready.READY_FALSE) ready = condition('Ready', 'False', 'Creating');
  else if (compositeReady === Ready.READY_UNSPECIFIED && unready.length > 0) {
    ready = condition('Ready', 'False', 'Creating', `Unready resources: ${stableNAndSomeMore(unready)}`);
  }
  setCondition(conditions, ready);
  for (const c of fnConditions) if (!SYSTEM_CONDITION_TYPES.includes(c.type)) setCondition(conditions, c);
  status.conditions = conditions;
  out.xr = composite;
  out.conditions = conditions;
  return out;
}

/** Crossplane's xfn.MaxRequirementsIterations. */
export const MAX_REQUIREMENTS_ITERATIONS = 5;

const sameRequirements = (a: Requirements | undefined, b: Requirements | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : Buffer.from(Requirements.encode(a).finish()).equals(Buffer.from(Requirements.encode(b).finish()));

/**
 * Calls the function until its requirements stabilise, giving it the resources it asks for each time
 * (internal/xfn FetchingFunctionRunner.RunFunction, Crossplane 2.2).
 */
function runWithRequirements(first: RunFunctionRequest, step: string, required: Obj[]): RunFunctionResponse {
  let req = first;
  let requirements: Requirements | undefined;
  for (let i = 0; i <= MAX_REQUIREMENTS_ITERATIONS; i++) {
    const rsp: RunFunctionResponse = overTheWire(RunFunctionResponse, runFunction(req), `response of step "${step}"`);
    if ((rsp.results ?? []).some((r) => r.severity === Severity.SEVERITY_FATAL)) return rsp;
    if (sameRequirements(rsp.requirements, requirements)) return rsp;
    requirements = rsp.requirements;
    const fetch = (sel: ResourceSelector) => fetchRequired(required, sel);
    req = overTheWire(
      RunFunctionRequest,
      {
        ...req,
        extraResources: Object.fromEntries(Object.entries(requirements?.extraResources ?? {}).map(([k, sel]) => [k, fetch(sel)])),
        requiredResources: Object.fromEntries(Object.entries(requirements?.resources ?? {}).map(([k, sel]) => [k, fetch(sel)])),
        // No schemas can be supplied: Crossplane's render answers with an empty schema.
        requiredSchemas: Object.fromEntries(Object.keys(requirements?.schemas ?? {}).map((k) => [k, {}])),
        context: rsp.context,
      },
      'request',
    );
  }
  throw new RenderError(`requirements didn't stabilize after the maximum number of iterations (${MAX_REQUIREMENTS_ITERATIONS})`);
}

/**
 * The supplied resources a selector matches (cmd/crank/render FilteringFetcher): same apiVersion and kind, then the
 * name, the labels, or every one; sorted by name. Unlike crossplane render, a selector's namespace is honoured,
 * as in a cluster.
 */
export function fetchRequired(resources: Obj[], sel: ResourceSelector): Resources {
  const meta = (o: Obj) => obj(o.metadata) ?? {};
  const sorted = [...resources].sort((a, b) => String(meta(a).name ?? '').localeCompare(String(meta(b).name ?? '')));
  const items: Obj[] = [];
  for (const r of sorted) {
    if (r.apiVersion !== sel.apiVersion || r.kind !== sel.kind) continue;
    if (sel.namespace && meta(r).namespace !== sel.namespace) continue;
    if (sel.matchName !== undefined) {
      if (meta(r).name === sel.matchName) return { items: [{ resource: r, connectionDetails: {}, ready: Ready.READY_UNSPECIFIED }] };
      continue;
    }
    const labels = obj(meta(r).labels) ?? {};
    if (sel.matchLabels && !Object.entries(sel.matchLabels.labels).every(([k, v]) => labels[k] === v)) continue;
    items.push(r);
  }
  return { items: items.map((resource) => ({ resource, connectionDetails: {}, ready: Ready.READY_UNSPECIFIED })) };
}

/** cmd/crank/render SetComposedResourceMetadata (Crossplane 2.2). */
function setComposedResourceMetadata(cd: Obj, xr: Obj, name: string): void {
  const meta = cd.metadata as Obj;
  const xrMeta = obj(xr.metadata) ?? {};
  const xrLabels = obj(xrMeta.labels) ?? {};
  const prefix = typeof xrLabels[LABEL_COMPOSITE] === 'string' && xrLabels[LABEL_COMPOSITE] !== '' ? String(xrLabels[LABEL_COMPOSITE]) : String(xrMeta.name ?? '');
  if (!meta.name && !meta.generateName) meta.generateName = `${prefix}-`;
  if (typeof xrMeta.namespace === 'string' && xrMeta.namespace !== '') meta.namespace = xrMeta.namespace;

  meta.annotations = { ...(obj(meta.annotations) ?? {}), [ANNOTATION_COMPOSITION_RESOURCE_NAME]: name };
  const labels: Obj = { ...(obj(meta.labels) ?? {}), [LABEL_COMPOSITE]: prefix };
  const claimRef = obj(obj(xr.spec)?.claimRef);
  if (xrLabels[LABEL_CLAIM_NAME] && xrLabels[LABEL_CLAIM_NAMESPACE]) {
    labels[LABEL_CLAIM_NAMESPACE] = xrLabels[LABEL_CLAIM_NAMESPACE];
    labels[LABEL_CLAIM_NAME] = xrLabels[LABEL_CLAIM_NAME];
  } else if (claimRef) {
    labels[LABEL_CLAIM_NAMESPACE] = claimRef.namespace ?? '';
    labels[LABEL_CLAIM_NAME] = claimRef.name ?? '';
  }
  meta.labels = labels;

  const uid = typeof xrMeta.uid === 'string' ? xrMeta.uid : '';
  const ref = { apiVersion: xr.apiVersion, kind: xr.kind, name: xrMeta.name, uid, controller: true, blockOwnerDeletion: true };
  const refs = Array.isArray(meta.ownerReferences) ? (meta.ownerReferences as Obj[]).map((r) => ({ ...r })) : [];
  const controller = refs.find((r) => r.controller === true);
  if (controller && (controller.uid ?? '') !== uid) {
    throw new RenderError(`${String(meta.name ?? '')} is already controlled by ${String(controller.kind)} ${String(controller.name)} (UID ${String(controller.uid)})`);
  }
  const i = refs.findIndex((r) => (r.uid ?? '') === uid);
  if (i >= 0) refs[i] = ref;
  else refs.push(ref);
  meta.ownerReferences = refs;
}

/** Copies the input XR's spec and metadata onto the rendered XR (`crossplane render --include-full-xr`). */
export function withFullXr(rendered: Obj, input: Obj): Obj {
  return { ...rendered, metadata: structuredClone(input.metadata), spec: structuredClone(input.spec) };
}

/** The Result documents `crossplane render -r` prints (every non-FATAL result). */
export function resultDocs(results: RenderResult[]): Obj[] {
  return results
    .filter((r) => r.severity !== 'FATAL')
    .map((r) => ({ apiVersion: 'render.crossplane.io/v1beta1', kind: 'Result', step: r.step, severity: `SEVERITY_${r.severity}`, message: r.message }));
}
