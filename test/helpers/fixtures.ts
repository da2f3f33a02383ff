/** Requests built from the examples, as Crossplane would send them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { ROOT } from './tools.js';

type Obj = Record<string, unknown>;

export const EXAMPLES = ['minimal', 'dev', 'production', 'secure', 'multi-tenant'];

export function loadYaml(rel: string): Obj {
  return parse(readFileSync(join(ROOT, rel), 'utf8')) as Obj;
}

export function loadYamlAll(rel: string): Obj[] {
  return parseAllDocuments(readFileSync(join(ROOT, rel), 'utf8')).map((d) => d.toJSON() as Obj);
}

export function exampleXr(name: string): Obj {
  return loadYaml(`examples/${name}/xr.yaml`);
}

/** The input of the Composition's (first) pipeline step. */
export function compositionInput(file = 'compositions/composition.yaml'): Obj {
  const comp = loadYaml(file) as { spec: { pipeline: { input: Obj }[] } };
  return comp.spec.pipeline[0]!.input;
}

export function request(xr: Obj, opts: { input?: Obj; observed?: Record<string, Obj>; desired?: Record<string, Obj>; tag?: string } = {}): RunFunctionRequest {
  const resources: Record<string, { resource: Obj }> = {};
  for (const [k, v] of Object.entries(opts.observed ?? {})) resources[k] = { resource: v };
  const desired: Record<string, { resource: Obj }> = {};
  for (const [k, v] of Object.entries(opts.desired ?? {})) desired[k] = { resource: v };
  return RunFunctionRequest.fromPartial({
    meta: { tag: opts.tag ?? 'test' },
    observed: { composite: { resource: xr }, resources },
    desired: { resources: desired },
    input: opts.input ?? compositionInput(),
  });
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}
