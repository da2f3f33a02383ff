/** Validates provider-kubernetes Objects against the provider's own CRD schema (installed by install-tools.sh crds). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { requireTool, ROOT } from './tools.js';

export const CRD_DIR = join(ROOT, '.tools', 'crds', 'provider-kubernetes-v1.2.1');
const CRDS = {
  cluster: { file: 'kubernetes.crossplane.io_objects.yaml', version: 'v1alpha2' },
  namespaced: { file: 'kubernetes.m.crossplane.io_objects.yaml', version: 'v1alpha1' },
} as const;

const cached: Partial<Record<keyof typeof CRDS, ValidateFunction>> = {};

/**
 * A validator for provider-kubernetes Objects: cluster-scoped kubernetes.crossplane.io/v1alpha2 (legacy XRs) or
 * namespaced kubernetes.m.crossplane.io/v1alpha1 (namespaced XRs), or undefined (skipped loudly / failing under CI).
 */
export function objectValidator(scope: keyof typeof CRDS = 'cluster', dir = CRD_DIR): ValidateFunction | undefined {
  if (dir === CRD_DIR && cached[scope]) return cached[scope];
  const { version } = CRDS[scope];
  const file = join(dir, CRDS[scope].file);
  if (!existsSync(file)) {
    // The CRDs not installed at all: skipped loudly (requireTool throws under CI). Installed but this file missing:
    // a broken install, which must fail, not skip the validation.
    if (!existsSync(dir) && !requireTool('crds/provider-kubernetes-v1.2.1', 'Object manifests are validated against the provider-kubernetes CRD')) return undefined;
    throw new Error(`${file} is missing although ${dir} exists: the provider-kubernetes CRDs are installed incompletely (rerun scripts/install-tools.sh crds)`);
  }
  const crd = parse(readFileSync(file, 'utf8'));
  const v = crd.spec.versions.find((x: { name: string }) => x.name === version);
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(v.schema.openAPIV3Schema);
  if (dir === CRD_DIR) cached[scope] = validate;
  return validate;
}
