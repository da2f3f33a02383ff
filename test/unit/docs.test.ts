/** The user guide stays in step with the code it describes (the generated pages are checked by generated.test.ts). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RENDER_OPTIONS, RENDER_USAGE } from '../../src/cli/main.js';
import { ROOT } from '../helpers/tools.js';

/** Pages other branches write; links to them are allowed before they land (none pending). */
const WRITTEN_ELSEWHERE: string[] = [];

const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('docs', () => {
  it.each(Object.entries(RENDER_OPTIONS))('docs/render.md and --help document --%s', (name, opt) => {
    const doc = readFileSync(join(ROOT, 'docs/render.md'), 'utf8');
    expect(doc).toContain(`\`--${name}`);
    expect(RENDER_USAGE).toContain(`--${name}`);
    if ('short' in opt) {
      expect(doc).toContain(`\`-${opt.short}\``);
      expect(RENDER_USAGE).toContain(`-${opt.short}, --${name}`);
    }
  });

  it.each(pages)('%s: relative links point at files that exist', (page) => {
    const text = readFileSync(join(ROOT, page), 'utf8');
    const broken: string[] = [];
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      const rel = join(dirname(page), target);
      if (!existsSync(join(ROOT, rel)) && !WRITTEN_ELSEWHERE.includes(rel)) broken.push(target);
    }
    expect(broken).toEqual([]);
  });

  it('the README states the supported Crossplane and provider-kubernetes versions', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/## Supported versions[\s\S]*Crossplane[\s\S]*v1\.19 and later[\s\S]*v1\.17 and later[\s\S]*provider-kubernetes[\s\S]*v0\.11\.0 and later/);
  });
});
