/**
 * Kubernetes resource quantities: parse to a number of base units (bytes, cores) and format back.
 * Enough of apimachinery's resource.Quantity for sizing quotas and comparing volume sizes.
 */
/** Kubernetes resource quantity: apimachinery's resource.Quantity grammar, without negative values. */
export const QUANTITY_PATTERN =
  '^\\+?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
/** The same grammar with a sign, as in Kubernetes' own OpenAPI (the sign is refused separately, by name). */
export const SIGNED_QUANTITY = /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** Value in base units, or undefined when `q` is not a quantity. */
export function parseQuantity(q: string | number): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  const m = /^([+-]?[0-9]*\.?[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (Object.hasOwn(BINARY, suffix)) return n * BINARY[suffix]!;
  if (Object.hasOwn(DECIMAL, suffix)) return n * DECIMAL[suffix]!;
  return n * 10 ** Number(suffix.slice(1));
}

/**
 * Bytes → the largest binary suffix that represents the value exactly (`10Gi`, `1536Mi`, `123`). Integer
 * arithmetic (BigInt), so huge values never print in exponent notation, which is not a Kubernetes quantity.
 */
export function formatBytes(bytes: number): string {
  const b = BigInt(Math.ceil(bytes));
  for (const s of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
    const unit = BigInt(BINARY[s]!);
    if (b >= unit && b % unit === 0n) return `${b / unit}${s}`;
  }
  return b.toString();
}

/** Cores → whole cores, or millicores when fractional (`2`, `1500m`), exactly, at any size. */
export function formatCpu(cores: number): string {
  const milli = BigInt(Math.ceil(Math.round(cores * 1e6) / 1e3));
  return milli % 1000n === 0n ? (milli / 1000n).toString() : `${milli}m`;
}
