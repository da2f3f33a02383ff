/** Validates provider-kubernetes Objects against the provider's own CRD schema (installed by install-tools.sh crds). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { requireTool, ROOT } from './tools.js';

const CRD = join(ROOT, '.tools', 'crds', 'provider-kubernetes-v1.2.1', 'kubernetes.crossplane.io_objects.yaml');

let cached: ValidateFunction | undefined;

/** A validator for kubernetes.crossplane.io/v1alpha2 Object, or undefined (skipped loudly / failing under CI). */
export function objectValidator(): ValidateFunction | undefined {
  if (cached) return cached;
  if (!existsSync(CRD)) {
    requireTool('crds/provider-kubernetes-v1.2.1', 'Object manifests are validated against the provider-kubernetes CRD');
    return undefined;
  }
  const crd = parse(readFileSync(CRD, 'utf8'));
  const version = crd.spec.versions.find((v: { name: string }) => v.name === 'v1alpha2');
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  cached = ajv.compile(version.schema.openAPIV3Schema);
  return cached;
}
