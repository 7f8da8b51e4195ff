/**
 * Parsing a review without the parts the injector never reads: `metadata.managedFields` (dropped
 * before anything reads the pod, see the injection pipeline) and the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation (a copy of the whole manifest,
 * never read: the patch only adds). They make a large review large, and they are a quarter of a
 * typical Deployment pod's review; both are cut out of the bytes before JSON.parse, which
 * otherwise spends that share of its time building them.
 *
 * The cut is found by a byte scan (no decoding), replaced by a marker string (ELIDED), and checked
 * after parsing: the marker must sit exactly at `request.object.metadata.managedFields` (resp. the
 * annotation). Anything else — the text elsewhere, a scan confused by odd input, invalid JSON —
 * falls back to parsing the whole body as received, so the result and every error message are
 * those of a plain JSON.parse.
 *
 * The marker stays where it is: the parsed review is returned as JSON.parse built it, never
 * written to. Replacing the pod's metadata with a copy without the key cost a copy per review,
 * and the store changed what V8 records for the `metadata` field of the pod's hidden class: at
 * the first new pod after a run of replayed ones, every function that reads the pod (nine) was
 * deoptimized at once and compiled again, 50 to 185 ms each on the server's core (BENCHMARKS.md,
 * "Fourth round").
 */
import { ELIDED } from "../injection/pod.js";
import { parseJsonText } from "./body.js";

const MANAGED_FIELDS = Buffer.from('"managedFields":');
const SPEC_KEY = Buffer.from('"spec":');
const LAST_APPLIED_KEY = "kubectl.kubernetes.io/last-applied-configuration";
const LAST_APPLIED = Buffer.from(`"${LAST_APPLIED_KEY}":`);
const ELIDED_JSON = JSON.stringify(ELIDED);
const ELIDED_BYTES = Buffer.from(ELIDED_JSON, "utf8");

const SCRATCH_BYTES = 256 * 1024;
/** Where the kept bytes of a review are put together before decoding (reused: parsing is synchronous). */
let scratch: Buffer | undefined;

/**
 * The body's text without the cuts, the marker in each. Up to SCRATCH_BYTES, the kept bytes are
 * copied together and decoded once: one flat string for JSON.parse (pieces joined with + are
 * flattened again by JSON.parse, a second copy). Larger reviews are rare: their pieces are joined.
 */
function keptText(body: Buffer, cuts: readonly Cut[]): string {
  let size = body.length;
  for (const cut of cuts) size += ELIDED_BYTES.length - (cut.to - cut.from);
  if (size > SCRATCH_BYTES) {
    let text = "";
    let pos = 0;
    for (const cut of cuts) {
      text += body.toString("utf8", pos, cut.from) + ELIDED_JSON;
      pos = cut.to;
    }
    return text + body.toString("utf8", pos);
  }
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  let at = 0;
  let pos = 0;
  for (const cut of cuts) {
    at += body.copy(scratch, at, pos, cut.from);
    at += ELIDED_BYTES.copy(scratch, at);
    pos = cut.to;
  }
  at += body.copy(scratch, at, pos);
  return scratch.toString("utf8", 0, at);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

function skipSpace(b: Buffer, i: number): number {
  while (i < b.length && (b[i] === SPACE || b[i] === TAB || b[i] === LF || b[i] === CR)) i++;
  return i;
}

/** The index just past the string starting at b[i] (a quote), or -1. */
function endOfString(b: Buffer, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** The index just past the array or object starting at b[i], or -1. */
function endOfContainer(b: Buffer, i: number): number {
  let depth = 0;
  for (; i < b.length; i++) {
    const c = b[i];
    if (c === QUOTE) {
      i = endOfString(b, i) - 1;
      if (i < 0) return -1;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth++;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

interface Cut {
  readonly from: number;
  readonly to: number;
}

/** The byte range of the value after the first `key` when it has the expected kind, else null. */
function valueAfter(b: Buffer, key: Buffer, kind: "array" | "string", before: number): Cut | null {
  const at = b.subarray(0, before).indexOf(key);
  if (at < 0) return null;
  const from = skipSpace(b, at + key.length);
  const to = kind === "array" ? (b[from] === OPEN_ARRAY ? endOfContainer(b, from) : -1) : b[from] === QUOTE ? endOfString(b, from) : -1;
  return to < 0 ? null : { from, to };
}

interface Elided {
  metadata?: { managedFields?: unknown; annotations?: Record<string, unknown> };
}

function metadataOf(review: unknown): Elided["metadata"] | undefined {
  const request = (review as { request?: { object?: Elided } } | null)?.request;
  const meta = request?.object?.metadata;
  return typeof meta === "object" && meta !== null ? meta : undefined;
}

/**
 * Parse a review body; the pod's managedFields and last-applied annotation keep their keys with
 * ELIDED as their values. Errors are parseJsonText's.
 */
export function parseReviewBytes(body: Buffer): unknown {
  const whole = () => parseJsonText(body.toString("utf8"));
  // Both fields are in the pod's metadata, which the API server writes before its spec: the keys
  // are looked for up to the first "spec" key only, not through a large pod's containers (a key
  // found nowhere, or anywhere else, leaves the review to be parsed whole).
  const specAt = body.indexOf(SPEC_KEY);
  const before = specAt < 0 ? body.length : specAt;
  const cuts = [valueAfter(body, MANAGED_FIELDS, "array", before), valueAfter(body, LAST_APPLIED, "string", before)]
    .filter((c): c is Cut => c !== null)
    .sort((a, b) => a.from - b.from);
  if (cuts.length === 0 || (cuts.length === 2 && (cuts[0] as Cut).to > (cuts[1] as Cut).from)) return whole();
  const text = keptText(body, cuts);
  let review: unknown;
  try {
    review = JSON.parse(text);
  } catch {
    return whole();
  }
  const meta = metadataOf(review);
  const markers = (meta?.managedFields === ELIDED ? 1 : 0) + (meta?.annotations?.[LAST_APPLIED_KEY] === ELIDED ? 1 : 0);
  return meta === undefined || markers !== cuts.length ? whole() : review;
}
