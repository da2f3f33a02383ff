/**
 * Kubernetes names and label syntax (apimachinery's validation package), in one place: the API schema, the hostile
 * input guard and the render core all use these, so the function refuses exactly what the API server refuses.
 * Pure, no dependencies: the bottom of the house.
 */

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** The name part of a qualified name (label/annotation key, extended resource, taint key): 1-63 characters. */
export const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** A label value: empty, or ≤ 63 ASCII letters, digits, '-', '_' and '.', alphanumeric at both ends. */
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
/** LABEL_VALUE with its length bound inside the pattern (for the XRD, where the bound must travel with it). */
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';
/** A qualified name (`[prefix/]name`) as one pattern, lengths of the name part included (prefix ≤ 253 separately). */
export const QUALIFIED_NAME_PATTERN =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$';
/** No control characters (C0, DEL, C1): strings that land in env vars, YAML config or log lines. */
export const NO_CONTROL_CHARS_PATTERN = '^[^\\x00-\\x1f\\x7f-\\x9f]*$';

export function show(v: string, n = 64): string {
  return JSON.stringify(v.length > n ? `${v.slice(0, n)}…` : v);
}

/** Kubernetes qualified name (`[prefix/]name`), as for label and annotation keys; returns the problem or undefined. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) {
    return 'the key\'s prefix must be a DNS-1123 subdomain (lower-case letters, digits, "-" and ".") of at most 253 characters';
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return 'the key\'s name must be 1-63 characters of letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

export function labelValueProblem(v: string): string | undefined {
  if (v.length > 63) return `the value is ${v.length} characters; a label value has at most 63`;
  if (!LABEL_VALUE.test(v)) return `the value ${show(v)} must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit`;
  return undefined;
}

// ------------------------------------------------------------------------------------------- resource names
/** Compute resources Kubernetes knows for containers (besides hugepages-<size>). */
export const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
const HUGEPAGES = /^hugepages-[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

export type ResourceKind = 'standard' | 'hugepages' | 'extended';

/**
 * What Kubernetes makes of a container resource name (ValidateContainerResourceName): a standard resource, a
 * hugepages size, or an extended resource (`<domain>/<name>`, domain not *kubernetes.io); else the problem.
 */
export function classifyResourceName(name: string): { kind: ResourceKind } | { problem: string } {
  if (STANDARD_CONTAINER_RESOURCES.has(name)) return { kind: 'standard' };
  if (HUGEPAGES.test(name)) return { kind: 'hugepages' };
  const qp = qualifiedNameProblem(name);
  if (qp) return { problem: qp };
  if (!name.includes('/')) return { problem: 'must be a standard resource (cpu, memory, ephemeral-storage, hugepages-<size>) or an extended resource <domain>/<name>' };
  if (name.startsWith('requests.')) return { problem: 'an extended resource name must not start with "requests."' };
  const domain = name.slice(0, name.lastIndexOf('/'));
  if (domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io')) return { problem: `"${domain}/" is reserved for Kubernetes' own resources` };
  return { kind: 'extended' };
}

// ------------------------------------------------------------------------------------------- image references
/**
 * A container image reference as the container runtime parses it (distribution/reference): `[host[:port]/]path`,
 * path components of lower-case letters and digits joined by ".", "_", "__" or "-"s; at most 255 characters. Tags and
 * digests are separate fields here.
 */
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
export const IMAGE_REPOSITORY_PATTERN = `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`;
export const IMAGE_TAG_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$';

/**
 * The registry of a repository, as the runtime resolves it: the first component when it looks like a host (has a
 * "." or ":" or is "localhost"), else docker.io.
 */
export function imageRegistry(repository: string): string {
  const slash = repository.indexOf('/');
  const first = slash < 0 ? '' : repository.slice(0, slash);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) return first;
  return 'docker.io';
}
