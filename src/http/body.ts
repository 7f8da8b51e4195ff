/**
 * Reading a JSON request body with the transport checks the admission path needs: content type
 * (415), size cap (413) and syntax (400). Errors are HttpError, which the app's
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

/** True for application/json and application/*+json, with any parameters (charset=utf-8). */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
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
  // JSON.parse is iterative, so deep nesting cannot overflow the stack here; the pod's shape
  // check refuses deep nesting before anything walks the object recursively.
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch (err) {
    throw new HttpError(400, "MALFORMED_JSON", `request body is not valid JSON: ${(err as Error).message}`);
  }
}
