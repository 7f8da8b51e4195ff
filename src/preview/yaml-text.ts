/**
 * YAML text of plain JSON data, byte for byte what the yaml package's `stringify(value)` writes
 * with its default options, at a fraction of its cost: a preview renders every object before and
 * after injection, and building the yaml package's document tree for each was most of a
 * preview's time.
 *
 * The block structure (maps, sequences, empty `{}`/`[]`) is written here. Each distinct scalar is
 * rendered once by the yaml package itself and remembered; that text is reused only where the
 * package would write the same text at that place. A scalar can differ by place only through line
 * folding (long values, by their column) and block or multi-line forms; when a value could be
 * folded there, or the data holds anything else this writer does not cover (an object twice, as
 * the package then writes anchors; undefined; a non-plain object), the whole value is handed to the
 * package instead. So the answer is always the package's; only the time differs.
 */
import { stringify } from "yaml";
import { isObject } from "../json-values.js";

/** The package's defaults that shape folding. */
const LINE_WIDTH = 80;
const MIN_CONTENT_WIDTH = 20;
/** A key the package would write as an explicit `? key` (over 1024 characters), with margin. */
const MAX_IMPLICIT_KEY = 1000;

/** Thrown inside the writer when the package must write this value itself. */
class NotCovered extends Error {}
const NOT_COVERED = new NotCovered();

/** Remembered renderings (bounded: cleared when full). */
const MAX_REMEMBERED = 50_000;
const valueTexts = new Map<unknown, string | null>();
const keyTexts = new Map<string, string | null>();

const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;

function remember<K, V>(map: Map<K, V>, key: K, value: V): V {
  if (map.size >= MAX_REMEMBERED) map.clear();
  map.set(key, value);
  return value;
}

/** A scalar value as the package writes it at the top of a document; null when that text may not carry over. */
function scalarText(value: string | number | boolean | null): string | null {
  const known = valueTexts.get(value);
  if (known !== undefined) return known;
  let text: string | null = null;
  if (typeof value !== "string" || !DOCUMENT_MARKER.test(value)) {
    const written = stringify(value);
    const line = written.endsWith("\n") ? written.slice(0, -1) : written;
    // Multi-line (block scalars, folded at the top already): depends on the indentation.
    if (!line.includes("\n") && line !== "" && line[0] !== "|" && line[0] !== ">") text = line;
  }
  return remember(valueTexts, value, text);
}

/** A map key as the package writes it (an implicit key is never folded). */
function keyText(key: string): string | null {
  const known = keyTexts.get(key);
  if (known !== undefined) return known;
  let text: string | null = null;
  if (key.length <= MAX_IMPLICIT_KEY && !DOCUMENT_MARKER.test(key)) {
    const written = stringify({ [key]: null });
    const line = written.endsWith(": null\n") ? written.slice(0, -": null\n".length) : "";
    if (line !== "" && !line.includes("\n") && !line.startsWith("? ")) text = line;
  }
  return remember(keyTexts, key, text);
}

/**
 * Whether `text`, written where the value's own indentation is `indent` columns and (for a map
 * value) it starts `indentAtStart` columns after its key's indentation, stays as it is: short
 * enough never to be folded, or without whitespace and not double-quoted (plain and single-quoted
 * text folds only at spaces, unless its key is so long that the value would move to the next line).
 */
function staysAsIs(text: string, indent: number, indentAtStart: number | undefined): boolean {
  if (text.length <= Math.max(1 + MIN_CONTENT_WIDTH, 1 + LINE_WIDTH - indent)) return true;
  if (text[0] === '"' || /\s/.test(text)) return false;
  return indentAtStart === undefined || indentAtStart <= LINE_WIDTH - Math.max(2, MIN_CONTENT_WIDTH);
}

function isScalar(value: unknown): value is string | number | boolean | null {
  return value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

function isEmptyCollection(value: unknown): boolean {
  return Array.isArray(value) ? value.length === 0 : isObject(value) && Object.keys(value).length === 0;
}

/**
 * The lines of a frozen collection (the pipeline shares deep-frozen pieces between pods: the init
 * container, volumes, most of the proxy container), by where they start: its indentation and the
 * `- ` leads of its first line. With them, the collections inside it (to find one met twice).
 */
interface Written {
  readonly lines: readonly string[];
  readonly inside: readonly object[];
}
const frozenLines = new WeakMap<object, Map<string, Written>>();

class Writer {
  private readonly seen = new Set<object>();
  /** Every collection met, in order, and how many of them were not frozen. */
  private readonly met: object[] = [];
  private unfrozen = 0;

  collection(value: object): void {
    if (this.seen.has(value)) throw NOT_COVERED; // written twice: the package writes an anchor and an alias
    this.seen.add(value);
    this.met.push(value);
    if (!Object.isFrozen(value)) this.unfrozen++;
    if (!Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) throw NOT_COVERED;
  }

  scalar(value: unknown, indent: number, indentAtStart: number | undefined): string {
    if (typeof value === "number" && (!Number.isFinite(value) || Object.is(value, -0))) throw NOT_COVERED;
    if (!isScalar(value)) throw NOT_COVERED;
    const text = scalarText(value);
    if (text === null || !staysAsIs(text, indent, indentAtStart)) throw NOT_COVERED;
    return text;
  }

  /** A value after `key:` or `- `: inline text, or the nested block on the following lines. */
  after(value: unknown, lineIndent: string, indentAtStart: number | undefined, out: string[], prefix: string): void {
    if (isScalar(value) || typeof value !== "object" || value === undefined) {
      out.push(`${prefix} ${this.scalar(value, lineIndent.length + 2, indentAtStart)}`);
      return;
    }
    this.collection(value);
    if (isEmptyCollection(value)) {
      out.push(`${prefix} ${Array.isArray(value) ? "[]" : "{}"}`);
      return;
    }
    out.push(prefix);
    this.block(value, `${lineIndent}  `, out, null);
  }

  /** A non-empty collection already met: its lines, reused when it is deep-frozen and was written at this place before. */
  block(value: object, indent: string, out: string[], first: string | null): void {
    const frozen = Object.isFrozen(value);
    const place = `${indent.length}|${first ?? ""}`;
    if (frozen) {
      const known = frozenLines.get(value)?.get(place);
      if (known !== undefined) {
        for (const inner of known.inside) this.collection(inner);
        for (const line of known.lines) out.push(line);
        return;
      }
    }
    const lines = out.length;
    const met = this.met.length;
    const unfrozen = this.unfrozen;
    if (Array.isArray(value)) this.seq(value, indent, out, first);
    else this.map(value as Record<string, unknown>, indent, out, first);
    if (frozen && this.unfrozen === unfrozen) {
      let places = frozenLines.get(value);
      if (places === undefined) frozenLines.set(value, (places = new Map()));
      places.set(place, { lines: out.slice(lines), inside: this.met.slice(met) });
    }
  }

  /** Pairs at `indent`; the first one continues `first` (a `- ` line) when given. */
  map(value: Record<string, unknown>, indent: string, out: string[], first: string | null): void {
    let lead = first;
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (v === undefined) throw NOT_COVERED; // the package leaves the pair out
      const k = keyText(key);
      if (k === null) throw NOT_COVERED;
      const prefix = `${lead ?? indent}${k}:`;
      lead = null;
      this.after(v, indent, k.length + 2, out, prefix);
    }
  }

  /** Items at `indent`, each `- item`; the first one continues `first` when given. */
  seq(value: readonly unknown[], indent: string, out: string[], first: string | null): void {
    let lead = first;
    for (const item of value) {
      const prefix = `${lead ?? indent}-`;
      lead = null;
      if (item === undefined) throw NOT_COVERED;
      if (isScalar(item) || typeof item !== "object" || isEmptyCollection(item)) {
        this.after(item, indent, undefined, out, prefix);
        continue;
      }
      this.collection(item);
      this.block(item, `${indent}  `, out, `${prefix} `);
    }
  }
}

/** `stringify(value)` of the yaml package, for JSON data. */
export function toYamlText(value: unknown): string {
  if (!isObject(value) && !Array.isArray(value)) return stringify(value);
  try {
    const out: string[] = [];
    const writer = new Writer();
    writer.collection(value);
    if (isEmptyCollection(value)) return Array.isArray(value) ? "[]\n" : "{}\n";
    writer.block(value, "", out, null);
    return `${out.join("\n")}\n`;
  } catch (err) {
    if (err instanceof NotCovered) return stringify(value);
    throw err;
  }
}
