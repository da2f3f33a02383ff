/** The user guide stays in step with the code it describes (the generated pages are checked by generated.test.ts). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_FATAL, EXIT_OK, EXIT_USAGE, RENDER_OPTIONS, RENDER_USAGE } from '../../src/cli/main.js';
import { TTL_NOT_READY_SECONDS, TTL_READY_SECONDS } from '../../src/function/handler.js';
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

  it('docs/render.md and --help document every exit status', () => {
    const doc = readFileSync(join(ROOT, 'docs/render.md'), 'utf8');
    for (const code of [EXIT_OK, EXIT_FATAL, EXIT_USAGE]) {
      expect(doc).toMatch(new RegExp(`^\\| \`${code}\` \\| `, 'm'));
      expect(RENDER_USAGE).toMatch(new RegExp(`^  ${code}  `, 'm'));
    }
  });

  it('say what -s means next to crossplane render (there it is --required-schemas)', () => {
    const doc = readFileSync(join(ROOT, 'docs/render.md'), 'utf8');
    expect(doc).toMatch(/`-s`, `--include-status` \|[^\n]*\*\*Not\*\* `crossplane render -s`: there `-s` is `--required-schemas`/);
    expect(RENDER_USAGE).toContain('its own -s is --required-schemas');
  });

  it.each(pages)('%s: promises no npm registry package (npx) that is not published', (page) => {
    const text = readFileSync(join(ROOT, page), 'utf8');
    expect(text).not.toMatch(/npx function-streambus/);
  });

  it.each(pages)('%s: states the TTL the function answers (20 s while not ready, 60 s once ready)', (page) => {
    const text = readFileSync(join(ROOT, page), 'utf8');
    // Sentences (split at a full stop followed by white space) that mention the TTL and give seconds.
    const sentences = text.split(/\.\s/).filter((x) => /\bttl\b/i.test(x) && /\d+ s\b/.test(x));
    for (const x of sentences) {
      const seconds = [...x.matchAll(/(\d+) s\b/g)].map((m) => Number(m[1]));
      expect([...new Set(seconds)].sort((a, b) => a - b), x).toEqual([TTL_NOT_READY_SECONDS, TTL_READY_SECONDS]);
    }
    if (page === 'README.md' || page === 'docs/architecture.md') expect(sentences.length, page).toBeGreaterThan(0);
  });
});
