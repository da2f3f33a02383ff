/**
 * zod → Kubernetes structural OpenAPI v3 schema.
 *
 * zod's own JSON Schema export does the walking; this module only rewrites the few constructs
 * Kubernetes does not accept in a CRD (structural schema rules):
 *  - `anyOf [string, number]` tagged x-kubernetes-int-or-string → the flag with `anyOf [integer, string]`, the
 *    string branch's pattern and maxLength hoisted (as Kubernetes' own resource.Quantity fields are written; the
 *    pattern applies to strings only, so `memory: 1GB` is refused at admission);
 *  - `additionalProperties: false` (zod's strict default) → dropped (unknown fields are pruned anyway);
 *  - `additionalProperties: {}` (zod looseObject) → x-kubernetes-preserve-unknown-fields;
 *  - `$schema` and other JSON Schema meta keys → dropped.
 */
import { z } from 'zod';

export type JSONSchema = Record<string, unknown>;

export function toStructural(schema: z.ZodType): JSONSchema {
  const raw = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' }) as JSONSchema;
  return clean(raw) as JSONSchema;
}

function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (node === null || typeof node !== 'object') return node;
  const src = node as JSONSchema;
  const out: JSONSchema = {};
  const intOrString = src['x-kubernetes-int-or-string'] === true;
  for (const [k, v] of Object.entries(src)) {
    if (k === '$schema' || k === 'id' || k === '$id') continue;
    if (intOrString && (k === 'anyOf' || k === 'type' || k === 'oneOf')) continue;
    if (k === 'additionalProperties') {
      if (v === false) continue;
      if (v && typeof v === 'object' && Object.keys(v).length === 0) {
        out['x-kubernetes-preserve-unknown-fields'] = true;
        continue;
      }
    }
    if (k === 'properties' || k === 'patternProperties') {
      const props: JSONSchema = {};
      for (const [pk, pv] of Object.entries(v as JSONSchema)) props[pk] = clean(pv);
      out[k] = props;
      continue;
    }
    out[k] = clean(v);
  }
  if (intOrString) {
    const branches = (Array.isArray(src.anyOf) ? src.anyOf : Array.isArray(src.oneOf) ? src.oneOf : []) as JSONSchema[];
    const str = branches.find((b) => b.type === 'string');
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    if (str?.pattern !== undefined) out.pattern = str.pattern;
    if (str?.maxLength !== undefined) out.maxLength = str.maxLength;
  }
  if (out['x-kubernetes-preserve-unknown-fields'] === true && out.type === undefined) out.type = 'object';
  return out;
}
