/** Writes every generated file (see src/generated.ts); test/unit/generated.test.ts checks they are current. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from '../src/generated.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const [rel, render] of Object.entries(generatedFiles(root))) {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, render());
  console.log(`wrote ${rel}`);
}
