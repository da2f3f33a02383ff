/**
 * Reading the render command's inputs: YAML files (one or more documents), folders of them, and stdin (`-`).
 * A `kind: List` document (what `kubectl get -o yaml` prints) stands for its items.
 * Each document keeps its YAML node and the file's line counter, so that findings can name the line.
 * Errors are InputErrors naming the file, so the command can exit 2 with a clear message.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, LineCounter, parseAllDocuments, type Node } from 'yaml';

type Obj = Record<string, unknown>;

export class InputError extends Error {}

export interface LoadedDoc {
  /** The file it came from, as given (or found under a given folder); STDIN_NAME for `-`. */
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  /** 0-based index in the items of a `kind: List` document, when it came from one. */
  item?: number;
  doc: Obj;
  /** The document's (or List item's) YAML node and the file's line counter, for line numbers. */
  node?: Node;
  lines?: LineCounter;
}

/** The path that means standard input, and the name it is shown under. */
export const STDIN = '-';
export const STDIN_NAME = '<stdin>';

/** Reads a file's text; `-` is standard input. Replaceable for tests. */
export type Reader = (file: string) => string;
export const defaultReader: Reader = (file) => readFileSync(file === STDIN ? 0 : file, 'utf8');

/** A List as `kubectl get -o yaml` prints it (`apiVersion: v1`, `kind: List`, `items`), or a typed `<Kind>List`. */
export function isList(doc: Obj): boolean {
  return typeof doc.kind === 'string' && (doc.kind === 'List' || doc.kind.endsWith('List')) && Array.isArray(doc.items);
}

const isYamlFile = (f: string) => /\.ya?ml$/i.test(f);

/** Files of `path`: the file itself, or every *.yaml / *.yml under the folder (recursively, sorted). */
export function yamlFiles(path: string): string[] {
  if (path === STDIN) return [STDIN];
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new InputError(`${path}: cannot read: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  for (const e of readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (isYamlFile(e.name)) out.push(p);
  }
  return out;
}

/** Every non-empty document of a YAML file; throws InputError on unreadable files or invalid YAML. */
export function readYamlDocs(path: string, read: Reader = defaultReader): LoadedDoc[] {
  const file = path === STDIN ? STDIN_NAME : path;
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    throw new InputError(`${file}: cannot read: ${(err as Error).message}`);
  }
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines });
  if (!Array.isArray(docs)) throw new InputError(`${file}: not a YAML stream`);
  const out: LoadedDoc[] = [];
  docs.forEach((d, index) => {
    if (d.errors.length > 0) {
      const e = d.errors[0]!;
      const pos = e.linePos?.[0] ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
      throw new InputError(`${file}: invalid YAML in document ${index + 1}${pos}: ${e.message.split('\n')[0]}`);
    }
    const v: unknown = d.toJSON();
    if (v === null || v === undefined) return;
    if (typeof v !== 'object' || Array.isArray(v)) throw new InputError(`${file}: document ${index + 1} is not a Kubernetes object`);
    const doc = v as Obj;
    const node = (d.contents ?? undefined) as Node | undefined;
    if (!isList(doc)) {
      out.push({ file, index, doc, node, lines });
      return;
    }
    const itemsNode = isMap(node) ? node.get('items', true) : undefined;
    (doc.items as unknown[]).forEach((item, i) => {
      if (!item || typeof item !== 'object' || Array.isArray(item)) throw new InputError(`${file}: document ${index + 1}, item ${i + 1} of the ${String(doc.kind)} is not a Kubernetes object`);
      out.push({ file, index, item: i, doc: item as Obj, node: isSeq(itemsNode) ? (itemsNode.items[i] as Node | undefined) : undefined, lines });
    });
  });
  return out;
}

/** Every document of every YAML file under the given paths (List items in place of their List). */
export function loadAll(paths: string[], read: Reader = defaultReader): LoadedDoc[] {
  return paths.flatMap((p) => yamlFiles(p).flatMap((f) => readYamlDocs(f, read)));
}

/** Where a document is: `file`, `file (document 2)`, `file (document 1, item 3)`. */
export function whereIs(d: LoadedDoc, docsInFile: number, shownFile = d.file): string {
  const parts: string[] = [];
  if (docsInFile > 1 || d.item !== undefined) parts.push(`document ${d.index + 1}`);
  if (d.item !== undefined) parts.push(`item ${d.item + 1}`);
  return parts.length > 0 ? `${shownFile} (${parts.join(', ')})` : shownFile;
}

export function describeDoc(d: Obj): string {
  const meta = (d.metadata ?? {}) as Obj;
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${String(d.kind ?? '(no kind)')} ${ns}${String(meta.name ?? '(no name)')}`;
}
