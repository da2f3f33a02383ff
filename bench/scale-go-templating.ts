/**
 * function-go-templating at scale (`npm run bench:scale -- --function go-templating`): the real v0.12.2 binary
 * (bench/go-templating.ts finds it and checks its sha256) installed under the same control plane as a Function
 * package, and one Composition whose Go template composes what function-streambus composes for each of the five
 * examples, so the same claims can be measured with either function in the same harness.
 *
 * The template is what a platform team would write by hand for these examples, generated here:
 *  - per example (chosen by the claim's name), the composed resources function-streambus renders for it, with the
 *    cluster's identity and the spec values read from the request (bench/go-templating.ts's `goTemplate`);
 *  - readiness read from the observed resources, as function-streambus reads it: a StatefulSet is ready when its
 *    ready replicas equal its replicas (Direct mode: its status; Object mode: the Object's status.atProvider.manifest),
 *    any other resource when it exists (Direct mode) or its Object is Ready (Object mode);
 *  - the XR status function-streambus writes for a healthy cluster, with `phase` (Running when every composed
 *    resource is ready, else Creating) and `readyReplicas` from the observed StatefulSets;
 *  - the connection details and the resources function-streambus asks for (the CA Secret of the TLS examples).
 * What it does not do, and function-streambus does: the day-2 decisions (storage changes kept, rolls), the five
 * conditions, the warnings, the refusals of bad input, Degraded and Failed. It is the lighter workload.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunFunctionRequest, Severity, type ResourceSelector, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { runFunction } from '../src/function/handler.js';
import { fetchRequired } from '../src/cli/render.js';
import { claimToXr } from '../src/cli/claim.js';
import { goTemplate, goTemplatingInput, type Answer } from './go-templating.js';

type Obj = Record<string, any>;

export const GO_TEMPLATING_FUNCTION = 'function-go-templating';
export const GO_TEMPLATING_COMPOSITION = 'streambus-go-templating';
/** Where its process serves in the control plane's namespace (function-streambus serves on 9444). */
export const GO_TEMPLATING_PORT = 9445;

/** The kind a composed resource stands for: the wrapped manifest's in Object mode. */
const innerKind = (r: Obj): string => (r.kind === 'Object' ? String(r.spec?.forProvider?.manifest?.kind ?? '') : String(r.kind ?? ''));

/** What Crossplane observes of a healthy cluster: every composed resource exists, StatefulSets have all replicas ready. */
export function healthyObserved(desired: Record<string, Obj>): Record<string, Obj> {
  const out: Record<string, Obj> = {};
  for (const [k, r] of Object.entries(desired)) {
    const o = structuredClone(r);
    const wrapped = o.kind === 'Object';
    const m: Obj = wrapped ? structuredClone(o.spec.forProvider.manifest) : o;
    m.metadata = { ...(m.metadata ?? {}), generation: 1, uid: `uid-${k}` };
    if (m.kind === 'StatefulSet') {
      const n = m.spec.replicas ?? 1;
      m.status = { observedGeneration: 1, replicas: n, readyReplicas: n, updatedReplicas: n, currentReplicas: n, currentRevision: 'r1', updateRevision: 'r1' };
    }
    if (m.kind === 'PodDisruptionBudget') m.status = { observedGeneration: 1 };
    if (m.kind === 'ResourceQuota') m.status = { hard: m.spec?.hard };
    if (wrapped) o.status = { atProvider: { manifest: m }, conditions: [{ type: 'Ready', status: 'True' }, { type: 'Synced', status: 'True' }] };
    out[k] = o;
  }
  return out;
}

const call = (xr: Obj, input: Obj, observed: Record<string, Obj>, required: Obj[]): RunFunctionResponse => {
  const wrap = (m: Record<string, Obj>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { resource: v }]));
  let req = RunFunctionRequest.fromPartial({ meta: { tag: 'scale' }, observed: { composite: { resource: xr }, resources: wrap(observed) }, input });
  let rsp = runFunction(req);
  // The resources it asks for (the CA Secret), as Crossplane fetches them; once is enough for these examples.
  const asked = { ...(rsp.requirements?.extraResources ?? {}), ...(rsp.requirements?.resources ?? {}) };
  if (Object.keys(asked).length > 0) {
    const fetched = Object.fromEntries(Object.entries(asked).map(([k, sel]) => [k, fetchRequired(required, sel as ResourceSelector)]));
    req = RunFunctionRequest.fromPartial({ ...req, extraResources: fetched, requiredResources: fetched });
    rsp = runFunction(req);
  }
  return rsp;
};

/**
 * function-streambus's answer for a healthy `xr` (a claim's XR, or a namespaced XR), as far as a Go template can
 * reproduce it, with the live parts of bench/go-templating.ts's `Answer` that make the template follow the cluster.
 */
export function liveAnswer(xr: Obj, input: Obj, required: Obj[]): Answer {
  const first = call(xr, input, {}, required);
  const fatal = (first.results ?? []).find((r) => r.severity === Severity.SEVERITY_FATAL);
  if (fatal || !first.desired) throw new Error(`function-streambus did not render ${xr.metadata.name}: ${fatal?.message ?? 'no answer'}`);
  const desired = Object.fromEntries(Object.entries(first.desired.resources).map(([k, r]) => [k, r.resource as Obj]));
  const rsp = call(xr, input, healthyObserved(desired), required);
  const keys = Object.keys(rsp.desired!.resources).sort();
  const prelude: string[] = ['{{- $obs := default dict .observed.resources }}'];
  const ready: Record<string, string> = {};
  const replicaVars: string[] = [];
  keys.forEach((k, i) => {
    const r = rsp.desired!.resources[k]!.resource as Obj;
    const v = `$ready${i}`;
    const key = JSON.stringify(k);
    if (innerKind(r) === 'StatefulSet') {
      const n = Number((r.kind === 'Object' ? r.spec.forProvider.manifest : r).spec?.replicas ?? 1);
      const path = r.kind === 'Object' ? '"status" "atProvider" "manifest" "status" "readyReplicas"' : '"status" "readyReplicas"';
      prelude.push(`{{- $replicas${i} := 0 }}{{- with index $obs ${key} }}{{ $replicas${i} = int (dig ${path} 0 .resource) }}{{ end }}`);
      prelude.push(`{{- ${v} := eq $replicas${i} ${n} }}`);
      replicaVars.push(`$replicas${i}`);
    } else if (r.kind === 'Object') {
      prelude.push(`{{- ${v} := false }}{{- with index $obs ${key} }}{{ range (dig "status" "conditions" (list) .resource) }}{{ if and (eq .type "Ready") (eq .status "True") }}{{ ${v} = true }}{{ end }}{{ end }}{{ end }}`);
    } else {
      prelude.push(`{{- ${v} := false }}{{- with index $obs ${key} }}{{ ${v} = true }}{{ end }}`);
    }
    ready[k] = `{{ if ${v} }}True{{ else }}False{{ end }}`;
  });
  prelude.push(`{{- $allReady := and ${keys.map((_, i) => `$ready${i}`).join(' ')} }}`);
  const status = (rsp.desired!.composite?.resource as Obj | undefined)?.status as Obj | undefined;
  const live: Record<string, string> = { phase: '{{ if $allReady }}Running{{ else }}Creating{{ end }}' };
  if (status && 'readyReplicas' in status) {
    live.readyReplicas = replicaVars.length === 0 ? '0' : replicaVars.length === 1 ? `{{ ${replicaVars[0]} }}` : `{{ add ${replicaVars.join(' ')} }}`;
  }
  return {
    composed: Object.fromEntries(keys.map((k) => [k, { resource: rsp.desired!.resources[k]!.resource as Obj, ready: rsp.desired!.resources[k]!.ready as number }])),
    status,
    connectionDetails: rsp.desired!.composite?.connectionDetails,
    extraResources: JSON.parse(JSON.stringify(rsp.requirements?.resources ?? {})),
    live: { prelude: `${prelude.join('\n')}\n`, ready, status: live },
  };
}

/**
 * The Go template of the Composition: one branch per example, chosen by the claim's name (a namespaced XR's own
 * name). `manifests` are the examples' manifests as applied (claims, or namespaced XRs), each in namespace `ns`
 * with the Secrets of `required`; `input` is function-streambus's input of the Composition being imitated.
 */
export function scaleTemplate(manifests: Obj[], api: 'legacy' | 'v2', input: Obj, required: Obj[]): string {
  const nameExpr = api === 'legacy' ? 'index .observed.composite.resource.metadata.labels "crossplane.io/claim-name"' : '.observed.composite.resource.metadata.name';
  const parts = [`{{- $example := ${nameExpr} }}\n`];
  manifests.forEach((m, i) => {
    const xr = api === 'legacy' ? claimToXr(m) : m;
    parts.push(`{{- ${i === 0 ? 'if' : 'else if'} eq $example ${JSON.stringify(m.metadata.name)} }}\n`);
    parts.push(goTemplate(xr, liveAnswer(xr, input, required)));
    parts.push('\n');
  });
  parts.push('{{- end }}\n');
  return parts.join('');
}

/**
 * The Composition function-go-templating composes with, for `api` (its XR kind) and `mode` (the function-streambus
 * Composition it imitates, read from `composition`).
 */
export function goTemplatingComposition(composition: Obj, api: 'legacy' | 'v2', manifests: Obj[], required: Obj[]): Obj {
  const input = (composition.spec.pipeline as Obj[])[0]!.input as Obj;
  return {
    apiVersion: 'apiextensions.crossplane.io/v1',
    kind: 'Composition',
    metadata: { name: GO_TEMPLATING_COMPOSITION },
    spec: {
      compositeTypeRef: composition.spec.compositeTypeRef,
      ...(composition.spec.writeConnectionSecretsToNamespace ? { writeConnectionSecretsToNamespace: composition.spec.writeConnectionSecretsToNamespace } : {}),
      mode: 'Pipeline',
      pipeline: [{ step: 'go-templating', functionRef: { name: GO_TEMPLATING_FUNCTION }, input: goTemplatingInput(scaleTemplate(manifests, api, input, required)) }],
    },
  };
}

/**
 * function-go-templating's Function package: a package.yaml of our own (the package metadata only: no input CRD,
 * which Crossplane does not need to run it), built with the real CLI into `dir`. Returns the package file.
 */
export async function buildGoTemplatingPackage(crossplane: string, dir: string, run: (cmd: string, args: string[]) => Promise<{ code: number | null; stdout: string; stderr: string }>): Promise<string> {
  const root = join(dir, 'package');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'crossplane.yaml'), 'apiVersion: meta.pkg.crossplane.io/v1beta1\nkind: Function\nmetadata:\n  name: function-go-templating\n');
  const file = join(dir, 'function-go-templating.xpkg');
  const b = await run(crossplane, ['xpkg', 'build', '--package-root', root, '--examples-root', join(dir, 'no-examples'), '-o', file]);
  if (b.code !== 0) throw new Error(`crossplane xpkg build (function-go-templating): ${b.stderr}${b.stdout}`);
  return file;
}
