/**
 * Reading a JSON request body with the transport checks the admission path needs: content type
 * (415), size cap (413) and syntax (400). Errors are HttpError, which the app's
 * error middleware turns into a JSON error body.
 */
import type { IncomingMessage } from "node:http";
import type { BufferPool } from "./buffer-pool.js";

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

/** True for application/json and application/*+json, with any parameters (charset=utf-8). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === "application/json") return true;
  if (!header) return false;
  const type = header.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, "BODY_TOO_LARGE", `request body is larger than ${limit} bytes`);
}

/**
 * Collect the body. With a Content-Length (the API server always sends one) the bytes are copied
 * into one buffer of that size as they arrive, so a large review is held once, not as chunks plus
 * a concatenated copy.
 */
export function readRaw(req: IncomingMessage, limit: number, pool?: BufferPool): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declaredHeader = req.headers["content-length"];
    const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
    if (declared !== undefined && declared > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const exact = declared !== undefined && Number.isSafeInteger(declared) && declared >= 0 ? (pool?.take(declared) ?? Buffer.allocUnsafe(declared)) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: HttpError): void => {
      settled = true;
      chunks.length = 0;
      if (exact !== undefined) pool?.release(exact);
      reject(err);
    };
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      if (size + chunk.length > limit) return fail(tooLarge(limit));
      if (exact !== undefined) {
        if (size + chunk.length > exact.length) return fail(new HttpError(400, "BODY_READ_FAILED", "request body is longer than its Content-Length"));
        chunk.copy(exact, size);
      } else {
        chunks.push(chunk);
      }
      size += chunk.length;
    });
    req.on("end", () => {
      if (settled) return;
      settled = true;
      if (exact !== undefined) resolve(size === exact.length ? exact : exact.subarray(0, size));
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.on("error", (err) => {
      if (settled) return;
      fail(new HttpError(400, "BODY_READ_FAILED", `could not read request body: ${err.message}`));
    });
  });
}

/**
 * Read a JSON body's bytes, enforcing content type and size. With a pool, the buffer may be one of
 * its own: the caller gives it back (pool.release) once it has decoded it.
 */
export async function readJsonBytes(req: IncomingMessage, limit: number, pool?: BufferPool): Promise<Buffer> {
  const contentType = req.headers["content-type"];
  if (!isJsonContentType(contentType)) {
    req.resume();
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `Content-Type must be application/json (got ${JSON.stringify(contentType ?? "")})`);
  }
  const raw = await readRaw(req, limit, pool);
  if (raw.length === 0) {
    pool?.release(raw);
    throw new HttpError(400, "EMPTY_BODY", "request body is empty");
  }
  return raw;
}

/**
 * Parse a body's text. JSON.parse is iterative, so deep nesting cannot overflow the stack here;
 * the pod's shape check refuses deep nesting before anything walks the object recursively.
 */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, "MALFORMED_JSON", `request body is not valid JSON: ${(err as Error).message}`);
  }
}
