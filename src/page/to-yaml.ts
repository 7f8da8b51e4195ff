/**
 * JSON values written as block YAML, for the injected manifest the page shows and downloads.
 * A string stays plain only when every YAML reader reads it back as the same string (YAML 1.2, and
 * YAML 1.1 as kubectl's reader does, where `yes`, `on` or `0755` are not strings); any other string
 * is written double-quoted, as JSON writes it, which YAML reads as the same string. Pure (no DOM);
 * its tests read the output back with the yaml package in both versions.
 */

/** Characters a plain string may hold: no indicator, quote, comment or escape. */
const PLAIN = /^[A-Za-z_/$][A-Za-z0-9_./$()\-:=@+, ]*$/;
/** Words that YAML 1.1 or 1.2 read as a boolean or null. */
const KEYWORDS = new Set(["y", "n", "yes", "no", "true", "false", "on", "off", "null"]);
/** An exponent without digits before it, which a lenient YAML 1.1 reader takes for a number (E0, e-5). */
const BARE_EXPONENT = /^[eE][-+]?[0-9]/;

function isPlain(s: string): boolean {
  return PLAIN.test(s) && !s.endsWith(" ") && !s.endsWith(":") && !s.includes(": ") && !s.includes("  ") && !KEYWORDS.has(s.toLowerCase()) && !BARE_EXPONENT.test(s);
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return "null";
    const text = String(value);
    // YAML 1.1 reads an exponent without a point as a string: 1e+21 is written 1.0e+21.
    return /e/.test(text) && !text.includes(".") ? text.replace("e", ".0e") : text;
  }
  const s = String(value);
  return isPlain(s) ? s : quoted(s);
}

/**
 * Double-quoted, as JSON writes it, with the characters YAML does not take as they are escaped too:
 * DEL and the C1 controls, the line and paragraph separators (line breaks to YAML 1.1), the byte
 * order mark and the two non-characters.
 */
function quoted(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

type Collection = Record<string, unknown> | unknown[];

function isNonEmptyCollection(value: unknown): value is Collection {
  if (typeof value !== "object" || value === null) return false;
  return Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0;
}

function inline(value: unknown): string {
  if (Array.isArray(value)) return "[]";
  if (typeof value === "object" && value !== null) return "{}";
  return scalar(value);
}

/** A non-empty collection's lines, each starting with `pad`. */
function block(value: Collection, pad: string): string {
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        if (!isNonEmptyCollection(item)) return `${pad}- ${inline(item)}\n`;
        // The item's first line takes the dash in place of its indentation.
        const inner = block(item, `${pad}  `);
        return `${pad}- ${inner.slice(pad.length + 2)}`;
      })
      .join("");
  }
  return Object.entries(value)
    .map(([key, item]) => (isNonEmptyCollection(item) ? `${pad}${scalar(key)}:\n${block(item, `${pad}  `)}` : `${pad}${scalar(key)}: ${inline(item)}\n`))
    .join("");
}

/** A JSON value as a YAML document. */
export function toYaml(value: unknown): string {
  return isNonEmptyCollection(value) ? block(value, "") : `${inline(value)}\n`;
}
