/**
 * YAML output in the shape `crossplane render` prints: every document preceded by `---`, map keys sorted
 * (Go's YAML encoder sorts them), sequences not indented under their key. Long strings are not folded (Go folds
 * them at 80 columns); a YAML parser reads both the same. Scalars are quoted by YAML 1.1 rules (as Go and kubectl
 * read them), so `"2024-01-01T00:00:00Z"`, `"on"` or `"y"` stay strings.
 */
import { stringify } from 'yaml';

export function toYamlDoc(doc: unknown): string {
  return stringify(doc, { version: '1.1', sortMapEntries: true, indentSeq: false, lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });
}

/** A YAML stream: `---` then each document; an optional comment line before the first one. */
export function toYamlStream(docs: unknown[], comment?: string): string {
  let out = '';
  docs.forEach((d, i) => {
    out += '---\n';
    if (i === 0 && comment) out += `# ${comment.replace(/\n/g, ' ')}\n`;
    out += toYamlDoc(d);
  });
  return out;
}
