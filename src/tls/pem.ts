/**
 * PEM as kube-apiserver reads it, and PEM as we write it.
 *
 * kube-apiserver reads a webhook's `caBundle` with Go's `encoding/pem` (through
 * `x509.CertPool.AppendCertsFromPEM`), which is stricter than Node's and OpenSSL's readers:
 * - a BEGIN line counts only at the start of the text or right after a line break;
 * - its type line must end with five dashes (trailing spaces and tabs allowed);
 * - the END line must come right after a line break and be followed by nothing but spaces or
 *   tabs up to the end of its line (or of the text);
 * - the body is standard, padded base64 (line breaks, spaces and tabs ignored);
 * - a block that breaks a rule is skipped and the search goes on after its BEGIN line.
 * The pool then keeps only blocks of type CERTIFICATE without headers whose DER parses as one
 * certificate with nothing after it.
 * `readPemBlocks` follows those rules, so what it finds is what the API server finds: two
 * certificates glued as `-----END CERTIFICATE----------BEGIN CERTIFICATE-----` yield none.
 *
 * Everything we write goes through `encodePem`: 64-column base64, each block on its own lines,
 * ending with a line break, so blocks can be concatenated safely.
 */
import { X509Certificate } from "node:crypto";

export interface PemBlock {
  readonly type: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly der: Buffer;
}

const BEGIN = "-----BEGIN ";
const END = "\n-----END ";
const DASHES = "-----";

/** The line up to "\n" (a "\r" before it dropped), trailing spaces and tabs trimmed; and what follows. */
function nextLine(text: string, from: number): { line: string; next: number } {
  const nl = text.indexOf("\n", from);
  let end = nl < 0 ? text.length : nl;
  const next = nl < 0 ? text.length : nl + 1;
  if (nl > from && text[nl - 1] === "\r") end--;
  let stop = end;
  while (stop > from && (text[stop - 1] === " " || text[stop - 1] === "\t")) stop--;
  return { line: text.slice(from, stop), next };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard padded base64 as Go's decoder takes it (CR and LF ignored anywhere); null when invalid. */
function decodeStrictBase64(body: string): Buffer | null {
  const compact = body.replace(/[ \t\r\n]/g, "");
  return BASE64.test(compact) ? Buffer.from(compact, "base64") : null;
}

/** The next block at or after `from` by Go's rules, and where reading goes on; null when none is left. */
function decodeOne(text: string, from: number): { block: PemBlock; next: number } | null {
  let at = from;
  for (;;) {
    // The BEGIN marker counts at the very start of the text or right after a line break.
    let typeStart: number;
    if (text.startsWith(BEGIN, at)) {
      typeStart = at + BEGIN.length;
    } else {
      const i = text.indexOf(`\n${BEGIN}`, at);
      if (i < 0) return null;
      typeStart = i + 1 + BEGIN.length;
    }
    const typeLine = nextLine(text, typeStart);
    at = typeLine.next;
    if (!typeLine.line.endsWith(DASHES)) continue;
    const type = typeLine.line.slice(0, -DASHES.length);

    const headers: Record<string, string> = {};
    let body = at;
    for (;;) {
      if (body >= text.length) return null;
      const { line, next } = nextLine(text, body);
      const colon = line.indexOf(":");
      if (colon < 0) break;
      headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      body = next;
    }
    at = body;

    let endIndex: number;
    let trailerStart: number;
    if (Object.keys(headers).length === 0 && text.startsWith(END.slice(1), body)) {
      endIndex = body;
      trailerStart = body + END.length - 1;
    } else {
      endIndex = text.indexOf(END, body);
      trailerStart = endIndex + END.length;
    }
    if (endIndex < 0) continue;
    const trailer = `${type}${DASHES}`;
    if (!text.startsWith(trailer, trailerStart)) continue;
    // Nothing but spaces and tabs may follow the END line's dashes on its line.
    const restOfEndLine = nextLine(text, trailerStart + trailer.length);
    if (restOfEndLine.line !== "") continue;
    const der = decodeStrictBase64(text.slice(body, endIndex));
    if (der === null) continue;
    return { block: { type, headers, der }, next: restOfEndLine.next };
  }
}

/** Every PEM block in `text` that Go's `encoding/pem` finds, in order. */
export function readPemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  let at = 0;
  while (at < text.length) {
    const found = decodeOne(text, at);
    if (found === null) break;
    out.push(found.block);
    at = found.next;
  }
  return out;
}

/** One block as we write it: 64-column base64 between its BEGIN and END lines, ending with a line break. */
export function encodePem(type: string, der: Buffer): string {
  const b64 = der.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}

/**
 * The certificates of a PEM bundle that `x509.CertPool.AppendCertsFromPEM` would add, each
 * re-encoded in our form, and how many BEGIN CERTIFICATE markers it holds that Go does not read
 * (glued to a neighbour, broken base64, with headers, or DER that is not one certificate).
 */
export function inspectCertificates(text: string): { readonly certificates: string[]; readonly unreadable: number } {
  const certificates: string[] = [];
  for (const block of readPemBlocks(text)) {
    if (block.type !== "CERTIFICATE" || Object.keys(block.headers).length > 0) continue;
    try {
      // Go refuses bytes after the certificate's DER ("x509: trailing data"); OpenSSL ignores them.
      if (new X509Certificate(block.der).raw.length !== block.der.length) continue;
    } catch {
      continue;
    }
    certificates.push(encodePem("CERTIFICATE", block.der));
  }
  return { certificates, unreadable: Math.max(0, countCertificateMarkers(text) - certificates.length) };
}

/** The certificates of a PEM bundle that `x509.CertPool.AppendCertsFromPEM` would add (see inspectCertificates). */
export function readCertificates(text: string): string[] {
  return inspectCertificates(text).certificates;
}

/** How many BEGIN CERTIFICATE markers a text has anywhere: what a reader that is not strict would count. */
export function countCertificateMarkers(text: string): number {
  return text.split("-----BEGIN CERTIFICATE-----").length - 1;
}

const LENIENT_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Blocks found by their BEGIN and END markers wherever they are (for text an older writer glued together). */
function findBlocksLeniently(text: string): Array<{ type: string; der: Buffer | null }> {
  return [...text.matchAll(LENIENT_BLOCK)].map((m) => ({ type: m[1] ?? "", der: decodeStrictBase64(m[2] ?? "") }));
}

/**
 * PEM text (one block or several, as a generator or an older version of ours wrote it) in our
 * form. Lenient on input: a block is recognised by its BEGIN and END markers wherever they are.
 * Throws when there is no block or a block's body is not base64.
 */
export function normalizePem(text: string): string {
  const blocks = findBlocksLeniently(text);
  if (blocks.length === 0) throw new Error("no PEM block found");
  return blocks
    .map(({ type, der }) => {
      if (der === null) throw new Error(`the ${type} block is not valid base64`);
      return encodePem(type, der);
    })
    .join("");
}

/**
 * The blocks of one type in `text`, found leniently and each in our form: for data of our own
 * (the certificate Secret) that an older version may have written with blocks glued together.
 */
export function splitPemLeniently(text: string, type = "CERTIFICATE"): string[] {
  return findBlocksLeniently(text).flatMap((b) => (b.type === type && b.der !== null ? [encodePem(type, b.der)] : []));
}
