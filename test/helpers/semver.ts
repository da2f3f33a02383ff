/**
 * The subset of Masterminds/semver v1 constraints (what Crossplane parses dependsOn and spec.crossplane.version
 * with) that our packages use: comparisons joined by `,` (AND), e.g. `>=v0.11.0, <v2.0.0` or `>=v1.19.0-0`.
 * Pre-release suffixes are compared only as "a pre-release sorts before its release".
 */
const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/;
const COMPARISON = /^(>=|<=|>|<|=)?\s*(v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

function parse(v: string): [number, number, number, boolean] {
  const m = VERSION.exec(v.trim());
  if (!m) throw new Error(`not a semantic version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] !== undefined];
}

export function compare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return Number(!x[3]) - Number(!y[3]);
}

/** Throws on a constraint outside the supported subset. */
export function satisfies(version: string, constraint: string): boolean {
  return constraint.split(',').every((part) => {
    const m = COMPARISON.exec(part.trim());
    if (!m) throw new Error(`unsupported constraint: ${part}`);
    const c = compare(version, m[2]!);
    switch (m[1] ?? '=') {
      case '>=': return c >= 0;
      case '>': return c > 0;
      case '<=': return c <= 0;
      case '<': return c < 0;
      default: return c === 0;
    }
  });
}

/** `registry/org/name:tag` → [`registry/org/name`, `tag`]. */
export function splitRef(ref: string): [string, string | undefined] {
  const i = ref.lastIndexOf(':');
  return i > ref.lastIndexOf('/') ? [ref.slice(0, i), ref.slice(i + 1)] : [ref, undefined];
}
