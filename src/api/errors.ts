/** Turns validation failures into messages that name the offending field, e.g. `spec.replicas: must be ≥ 1`. */
import type { z } from 'zod';
import { fieldPath } from '../k8s/json.js';

export function formatZodError(prefix: string, err: z.ZodError, max = 5): string {
  const parts = err.issues.slice(0, max).map((i) => {
    const where = fieldPath(collectPath(i), prefix);
    return `${where}: ${describeIssue(i)}`;
  });
  if (err.issues.length > max) parts.push(`(${err.issues.length - max} more)`);
  return parts.join('; ');
}

function collectPath(i: z.core.$ZodIssue): PropertyKey[] {
  const path = [...i.path];
  // For unions, zod reports the union's path; dig into the most specific branch error.
  if (i.code === 'invalid_union' && Array.isArray((i as { errors?: z.core.$ZodIssue[][] }).errors)) {
    const branches = (i as { errors: z.core.$ZodIssue[][] }).errors;
    const first = branches.find((b) => b.length > 0)?.[0];
    if (first) path.push(...first.path);
  }
  return path;
}

function describeIssue(i: z.core.$ZodIssue): string {
  switch (i.code) {
    case 'invalid_type':
      return `expected ${i.expected}, got ${received(i.input)}`;
    case 'too_small':
      return i.origin === 'string' || i.origin === 'array'
        ? `must have at least ${String(i.minimum)} ${i.origin === 'string' ? 'characters' : 'items'}`
        : `must be ${i.inclusive ? '≥' : '>'} ${String(i.minimum)}`;
    case 'too_big':
      return i.origin === 'string' || i.origin === 'array'
        ? `must have at most ${String(i.maximum)} ${i.origin === 'string' ? 'characters' : 'items'}`
        : `must be ${i.inclusive ? '≤' : '<'} ${String(i.maximum)}`;
    case 'invalid_value':
      return `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}, got ${truncate(JSON.stringify(i.input))}`;
    case 'unrecognized_keys':
      return `unknown field(s) ${i.keys.map((k) => truncate(k)).join(', ')}`;
    case 'invalid_union':
      return 'must be a Kubernetes quantity (a number or a string such as 500m, 2Gi)';
    default:
      return i.message;
  }
}

function received(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return typeof v;
}

export function truncate(s: string | undefined, n = 64): string {
  if (s === undefined) return 'undefined';
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
