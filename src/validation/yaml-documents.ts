/**
 * The one reader of YAML (and JSON, which is YAML) that a person or another program hands us:
 * manifests for /preview, `inject -f`, `explain -f` and `audit --from-file`, the configuration file,
 * Istio's values and mesh config. Its limits are stated once, here and in the docs, and enforced
 * before anything is built from the text:
 *
 * | limit | default | why |
 * |---|---|---|
 * | size | 16 MiB | five times the API server's largest request; a manifest set is rarely a tenth of it |
 * | documents | 10,000 | `---`-separated documents in one text |
 * | aliases | 100 per document | `*ref` nodes: each may stand for a whole subtree, so a few nested ones make billions of nodes |
 * | merge keys | 100 per document | `<<: *ref`: the same expansion through merges |
 * | alias expansion | 100 per alias (the yaml package's `maxAliasCount`) | a small number of aliases that reference each other (nine levels of nine) |
 * | nesting | 100 levels | Kubernetes objects are a few tens deep; deeper text is a stack-depth attack |
 *
 * A refusal is an InvalidInputError whose problems name the document and the limit:
 * `documents[0]: too many YAML aliases (limit 100)`. Syntax errors are named the same way.
 */
import { type Document, isAlias, isCollection, isPair, isScalar, parseAllDocuments } from "yaml";
import { InvalidInputError } from "../errors.js";

export interface YamlLimits {
  readonly maxBytes: number;
  readonly maxDocuments: number;
  readonly maxAliases: number;
  readonly maxMergeKeys: number;
  readonly maxDepth: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = {
  maxBytes: 16 * 1024 * 1024,
  maxDocuments: 10_000,
  maxAliases: 100,
  maxMergeKeys: 100,
  maxDepth: 100,
};

/** The yaml package's own bound on what one alias may expand to. */
const MAX_ALIAS_EXPANSION = 100;

export interface ReadDocument {
  /** The document as plain JSON values. */
  readonly value: unknown;
  /** Its text, without its own `---` start marker (to pass an untouched document through as written). */
  readonly source: string;
}

export interface ReadOptions {
  /** How the documents are named in problems (`documents` → `documents[2]: …`). */
  readonly name?: string;
  /** One document expected: problems name it without an index (`config.yaml: …`). */
  readonly single?: boolean;
  readonly limits?: Partial<YamlLimits>;
  /** Keep empty documents (a trailing `---`) as null values; dropped by default. */
  readonly keepEmpty?: boolean;
  /** Refuse a key given twice in one mapping (a configuration); manifests allow it, as kubectl does. */
  readonly uniqueKeys?: boolean;
}

/** Aliases, merge keys and the deepest nesting of one parsed document, walked without recursion. */
function measure(doc: Document): { aliases: number; mergeKeys: number; depth: number } {
  let aliases = 0;
  let mergeKeys = 0;
  let depth = 0;
  const stack: Array<[unknown, number]> = [[doc.contents, 1]];
  while (stack.length > 0) {
    const [node, level] = stack.pop() as [unknown, number];
    if (node === null || node === undefined) continue;
    if (isAlias(node)) {
      aliases++;
      continue;
    }
    if (isPair(node)) {
      if (isScalar(node.key) && (node.key.value === "<<" || node.key.source === "<<")) mergeKeys++;
      stack.push([node.key, level], [node.value, level]);
      continue;
    }
    if (isCollection(node)) {
      depth = Math.max(depth, level);
      for (const item of node.items) stack.push([item, level + 1]);
    }
  }
  return { aliases, mergeKeys, depth };
}

/** Read every document of `text`, within the limits; throws InvalidInputError listing every problem. */
export function readYamlDocuments(text: string, opts: ReadOptions = {}): ReadDocument[] {
  const limits = { ...DEFAULT_YAML_LIMITS, ...opts.limits };
  const name = opts.name ?? "documents";
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limits.maxBytes) throw new InvalidInputError([`${name}: ${bytes} bytes is more than the limit (${limits.maxBytes})`]);
  const docs = parseAllDocuments(text, { uniqueKeys: opts.uniqueKeys ?? false });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length > limits.maxDocuments) throw new InvalidInputError([`${name}: ${list.length} documents is more than the limit (${limits.maxDocuments})`]);
  const problems: string[] = [];
  const out: ReadDocument[] = [];
  list.forEach((doc, i) => {
    const at = opts.single === true ? name : `${name}[${i}]`;
    const error = doc.errors[0];
    if (error) {
      // The parser itself gives up on nesting some hundreds of levels deep.
      if (/call stack/i.test(error.message)) return void problems.push(`${at}: nested too deep to read (limit ${limits.maxDepth} levels)`);
      return void problems.push(`${at}: not valid YAML: ${error.message.split("\n")[0]}`);
    }
    const m = measure(doc);
    const before = problems.length;
    if (m.aliases > limits.maxAliases) problems.push(`${at}: too many YAML aliases: ${m.aliases} (limit ${limits.maxAliases})`);
    if (m.mergeKeys > limits.maxMergeKeys) problems.push(`${at}: too many YAML merge keys: ${m.mergeKeys} (limit ${limits.maxMergeKeys})`);
    if (m.depth > limits.maxDepth) problems.push(`${at}: nested ${m.depth} levels deep (limit ${limits.maxDepth})`);
    if (problems.length > before) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
    } catch (err) {
      // The yaml package refuses an alias that expands too far (a few aliases nested in each other).
      const message = (err as Error).message;
      problems.push(/alias/i.test(message) ? `${at}: YAML aliases expand too far (limit ${MAX_ALIAS_EXPANSION} per alias)` : `${at}: cannot be read: ${message}`);
      return;
    }
    if ((value === null || value === undefined) && !opts.keepEmpty) return;
    // The text is written only when asked for (most callers never do), and once.
    let source: string | undefined;
    out.push({
      value,
      get source() {
        source ??= doc.toString().replace(/^---[ \t]*\n/, "");
        return source;
      },
    });
  });
  if (problems.length > 0) throw new InvalidInputError(problems);
  return out;
}

/** Read exactly one document (a configuration file, a values file). */
export function readYamlDocument(text: string, name: string, opts: Pick<ReadOptions, "limits" | "uniqueKeys"> = {}): unknown {
  const docs = readYamlDocuments(text, { ...opts, name, single: true, keepEmpty: true });
  if (docs.length > 1) throw new InvalidInputError([`${name}: holds ${docs.length} YAML documents; expected one`]);
  return docs[0]?.value ?? null;
}

/** The deepest nesting of a parsed JSON value, walked without recursion. */
export function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, level] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== "object") continue;
    deepest = Math.max(deepest, level);
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === "object") stack.push([child, level + 1]);
  }
  return deepest;
}

/** Read one JSON document within the same limits (size, nesting); problems name it as `name`. */
export function readJsonDocument(text: string, name: string, limits: Partial<YamlLimits> = {}): unknown {
  const { maxBytes, maxDepth } = { ...DEFAULT_YAML_LIMITS, ...limits };
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) throw new InvalidInputError([`${name}: ${bytes} bytes is more than the limit (${maxBytes})`]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError([`${name}: not valid JSON: ${(err as Error).message}`]);
  }
  const depth = depthOf(value);
  if (depth > maxDepth) throw new InvalidInputError([`${name}: nested ${depth} levels deep (limit ${maxDepth})`]);
  return value;
}
