/**
 * The ground floor for reading plain JSON that anyone could have written (a request, a live object): one type guard,
 * one accessor and one field-path formatter, shared by every layer.
 */
export type Obj = Record<string, unknown>;

/** The value as a JSON object, or undefined for anything else (null, an array, a scalar). */
export const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

/** The same test as a type guard. */
export const isObj = (v: unknown): v is Obj => obj(v) !== undefined;

/** The object under `key`, or an empty object: for reading nested fields that may be absent. */
export const sub = (o: Obj | undefined, key: string): Obj => obj(o?.[key]) ?? {};

/**
 * `spec.a[0]["odd/key"]`: identifiers dotted, any other key (and `__proto__`, which JSON.parse makes an own key but
 * JavaScript reads as the prototype) quoted in brackets, so a path is never ambiguous. Keys over 64 characters are shortened.
 */
export function fieldPath(segments: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const p of segments) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p) && p !== '__proto__') out += out ? `.${p}` : p;
    else {
      const s = String(p);
      out += `[${JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s)}]`;
    }
  }
  return out;
}

/** Approximate JSON size of a value (keys, strings, numbers, punctuation), iteratively; stops counting past `stop`. */
export function jsonSize(root: unknown, stop = Infinity): number {
  let size = 0;
  const stack: unknown[] = [root];
  while (stack.length && size <= stop) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (typeof v === 'number') size += 8;
    else if (typeof v === 'boolean' || v === null || v === undefined) size += 5;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      for (const x of v) stack.push(x);
    } else if (typeof v === 'object') {
      size += 2;
      for (const k in v) {
        size += k.length + 4;
        stack.push((v as Obj)[k]);
      }
    }
  }
  return size;
}
