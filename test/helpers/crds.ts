/** Validates provider-kubernetes Objects against the provider's own CRD schema (installed by install-tools.sh crds). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { requireTool, ROOT } from './tools.js';

const DIR = join(ROOT, '.tools', 'crds', 'provider-kubernetes-v1.2.1');
const CRDS = {
  cluster: { file: join(DIR, 'kubernetes.crossplane.io_objects.yaml'), version: 'v1alpha2' },
  namespaced: { file: join(DIR, 'kubernetes.m.crossplane.io_objects.yaml'), version: 'v1alpha1' },
} as const;

const cached: Partial<Record<keyof typeof CRDS, ValidateFunction>> = {};

/**
 * A validator for provider-kubernetes Objects: cluster-scoped kubernetes.crossplane.io/v1alpha2 (legacy XRs) or
 * namespaced kubernetes.m.crossplane.io/v1alpha1 (namespaced XRs), or undefined (skipped loudly / failing under CI).
 */
export function objectValidator(scope: keyof typeof CRDS = 'cluster'): ValidateFunction | undefined {
  if (cached[scope]) return cached[scope];
  const { file, version } = CRDS[scope];
  if (!existsSync(file)) {
    requireTool('crds/provider-kubernetes-v1.2.1', 'Object manifests are validated against the provider-kubernetes CRD');
    return undefined;
  }
  const crd = parse(readFileSync(file, 'utf8'));
  const v = crd.spec.versions.find((x: { name: string }) => x.name === version);
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  cached[scope] = ajv.compile(v.schema.openAPIV3Schema);
  return cached[scope];
}
