/**
 * Reading the render command's inputs: YAML files (one or more documents) and folders of them.
 * Errors are InputErrors naming the file, so the command can exit 2 with a clear message.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

type Obj = Record<string, unknown>;

export class InputError extends Error {}

export interface LoadedDoc {
  /** The file it came from, as given (or found under a given folder). */
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  doc: Obj;
}

const isYamlFile = (f: string) => /\.ya?ml$/i.test(f);

/** Files of `path`: the file itself, or every *.yaml / *.yml under the folder (recursively, sorted). */
export function yamlFiles(path: string): string[] {
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
export function readYamlDocs(file: string): LoadedDoc[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`${file}: cannot read: ${(err as Error).message}`);
  }
  const docs = parseAllDocuments(text);
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
    out.push({ file, index, doc: v as Obj });
  });
  return out;
}

/** Every document of every YAML file under the given paths. */
export function loadAll(paths: string[]): LoadedDoc[] {
  return paths.flatMap((p) => yamlFiles(p).flatMap(readYamlDocs));
}

export function describeDoc(d: Obj): string {
  const meta = (d.metadata ?? {}) as Obj;
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${String(d.kind ?? '(no kind)')} ${ns}${String(meta.name ?? '(no name)')}`;
}
