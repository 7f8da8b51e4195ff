/**
 * Reading a JSON request body with the transport checks the admission path needs: content type
 * (415), size cap (413), syntax and nesting depth (400). Errors are HttpError, which the app's
 * error middleware turns into a JSON error body.
 */
import type { IncomingMessage } from "node:http";

export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  constructor(statusCode: number, code: string, message: string) {
    super(message);
    this.name = "HttpError";
    this.statusCode = statusCode;
    this.code = code;
  }
}

/**
 * Deep nesting is refused before anything walks the value recursively. A real AdmissionReview
 * (managedFields included) nests about 25 levels; 128 leaves ample room.
 */
export const MAX_JSON_DEPTH = 128;

/** True for application/json and application/*+json, with any parameters (charset=utf-8). */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/** True when JSON text nests arrays/objects deeper than `max` (scans bytes; strings are skipped). */
export function exceedsJsonDepth(buf: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, "BODY_TOO_LARGE", `request body is larger than ${limit} bytes`);
}

function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settled = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.on("error", (err) => {
      if (settled) return;
      settled = true;
      reject(new HttpError(400, "BODY_READ_FAILED", `could not read request body: ${err.message}`));
    });
  });
}

/** Read and parse a JSON body, enforcing content type, size and depth. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  if (!isJsonContentType(req.headers["content-type"])) {
    req.resume();
    throw new HttpError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `Content-Type must be application/json (got ${JSON.stringify(req.headers["content-type"] ?? "")})`,
    );
  }
  const raw = await readRaw(req, limit);
  if (raw.length === 0) throw new HttpError(400, "EMPTY_BODY", "request body is empty");
  if (exceedsJsonDepth(raw, MAX_JSON_DEPTH)) {
    throw new HttpError(400, "TOO_DEEP", `request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw new HttpError(400, "MALFORMED_JSON", `request body is not valid JSON: ${(err as Error).message}`);
  }
}
