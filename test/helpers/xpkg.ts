/**
 * Reads a Crossplane package file (.xpkg) the way Crossplane does: it is an image tarball (`docker save` layout:
 * manifest.json, the config blob, one gzipped tar per layer); the config's label
 * `io.crossplane.xpkg:<layer digest>` = `base` marks the layer holding package.yaml, `upbound` the one holding
 * .up/examples.yaml.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';

type Obj = Record<string, any>;

/** The regular files of an (uncompressed) tar archive. Handles ustar prefixes and PAX `path` records. */
export function untar(buf: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let off = 0;
  let paxPath: string | undefined;
  const str = (b: Buffer) => b.toString('utf8').replace(/\0.*$/s, '');
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(str(h.subarray(124, 136)).trim() || '0', 8);
    const type = String.fromCharCode(h[156]!);
    const prefix = str(h.subarray(345, 500));
    const name = paxPath ?? (prefix ? `${prefix}/${str(h.subarray(0, 100))}` : str(h.subarray(0, 100)));
    const body = buf.subarray(off + 512, off + 512 + size);
    paxPath = undefined;
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      paxPath = m?.[1];
    } else if (type === '0' || type === '\0') {
      files.set(name, Buffer.from(body));
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

export interface Xpkg {
  bytes: number;
  config: Obj;
  /** Layer files by digest (`sha256:<hex>`), each the files of that layer. */
  layers: Map<string, Map<string, Buffer>>;
  /** package.yaml of the `base` layer: the meta object first, then the package's objects. */
  packageYaml: string;
  objects: Obj[];
  /** .up/examples.yaml of the examples layer, when there is one. */
  examples: Obj[] | undefined;
}

const docs = (s: string) =>
  parseAllDocuments(s)
    .map((d) => d.toJSON() as Obj)
    .filter((d) => d && typeof d === 'object');

export function readXpkg(path: string): Xpkg {
  const raw = readFileSync(path);
  const outer = untar(raw);
  const manifest = JSON.parse(outer.get('manifest.json')!.toString()) as { Config: string; Layers: string[] }[];
  if (manifest.length !== 1) throw new Error(`${path}: ${manifest.length} images in manifest.json, expected 1`);
  const config = JSON.parse(outer.get(manifest[0]!.Config)!.toString()) as Obj;
  const layers = new Map<string, Map<string, Buffer>>();
  for (const file of manifest[0]!.Layers) {
    const gz = outer.get(file);
    if (!gz) throw new Error(`${path}: layer ${file} is missing`);
    const digest = `sha256:${createHash('sha256').update(gz).digest('hex')}`;
    if (!file.startsWith(digest.slice('sha256:'.length))) throw new Error(`${path}: layer ${file} has digest ${digest}`);
    layers.set(digest, untar(gunzipSync(gz)));
  }
  const labels = (config.config?.Labels ?? {}) as Record<string, string>;
  const layerFor = (annotation: string) => {
    const key = Object.keys(labels).find((k) => k.startsWith('io.crossplane.xpkg:') && labels[k] === annotation);
    return key ? layers.get(key.slice('io.crossplane.xpkg:'.length)) : undefined;
  };
  const base = layerFor('base');
  const packageYaml = base?.get('package.yaml')?.toString();
  if (packageYaml === undefined) throw new Error(`${path}: no layer labelled base with package.yaml`);
  const ex = layerFor('upbound')?.get('.up/examples.yaml')?.toString();
  return { bytes: raw.length, config, layers, packageYaml, objects: docs(packageYaml), examples: ex === undefined ? undefined : docs(ex) };
}
