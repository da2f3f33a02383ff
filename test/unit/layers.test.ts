/**
 * The layers of src/, bottom up, and what each may import (checked on the import statements of every file):
 *
 *   k8s       Kubernetes primitives: quantities, names and label rules, image references, the Object wrapper
 *   api       the schema and its generators                                  → k8s
 *   render    the pure core: reconcile(input) → Outcome (identity, policy,    → api, k8s
 *             applied state, day-2 plan, model, manifests, readiness, status, conditions)
 *   function  the Crossplane layer: read → reconcile → write                 → render (its entry point
 *                                                                               reconcile.ts only), api, k8s
 *   server    gRPC, health, metrics, logging                                 → function, api, k8s
 *   cli, docs the command line and the docs generators                       → anything below
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/tools.js';

const ALLOWED: Record<string, string[]> = {
  k8s: [],
  api: ['k8s'],
  render: ['api', 'k8s'],
  function: ['render', 'api', 'k8s'],
  server: ['function', 'render', 'api', 'k8s'],
};

/** A layer that may reach another only through that layer's entry point (one descent into the core, one return). */
const ENTRY_ONLY: Record<string, Record<string, string>> = {
  function: { render: 'render/reconcile.js' },
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('layers of src/', () => {
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    const only = Object.entries(ENTRY_ONLY[layer] ?? {}).map(([l, e]) => ` (${l}: ${e} only)`).join('');
    it(`${layer} imports only ${allowed.join(', ') || 'nothing of ours'}${only}`, () => {
      const bad: string[] = [];
      for (const f of files(join(ROOT, 'src', layer))) {
        const text = readFileSync(f, 'utf8');
        for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.\.\/[^']+)'/gm)) {
          const target = m[1]!.split('/')[1]!;
          const entry = ENTRY_ONLY[layer]?.[target];
          if (!allowed.includes(target) || (entry !== undefined && m[1] !== `../${entry}`)) bad.push(`${relative(ROOT, f)} → ${m[1]}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }
});
