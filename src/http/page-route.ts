/**
 * The preview page: GET / (the document), GET /page/<file> (its compiled browser code and style
 * sheet) and GET /config/summary (the live configuration, as people need it). Served by the
 * replicas that serve POST /preview. The files are read once at startup and served from memory
 * with an ETag: a page view costs the admission thread about what a /healthz costs, and never
 * reads a file or waits for a worker.
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { Express, Request, Response } from "express";
import type { ConfigSummary } from "../preview/config-summary.js";
import { PAGE_ASSET_PREFIX, PAGE_CSS, PAGE_HTML, PAGE_SCRIPT, PAGE_STYLE } from "./page-document.js";

/**
 * The page's Content-Security-Policy: its own script, style sheet and requests only; no inline
 * script or style, no other origin, no forms that submit, not framed.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export interface PageAsset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/** The page's files by request path ("/", "/page/main.js", …). */
export type PageAssets = ReadonlyMap<string, PageAsset>;

function assetOf(body: string | Buffer, contentType: string): PageAsset {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  return { body: bytes, contentType, etag: `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 22)}"` };
}

/**
 * Read the page's files once: the document and style sheet (page-document.ts) and the browser
 * modules compiled from src/page/ into `dir` (dist/page/). Throws when the browser code is missing.
 */
export function loadPageAssets(dir: URL | string): PageAssets {
  const base = typeof dir === "string" ? pathToFileURL(dir.endsWith("/") ? dir : `${dir}/`) : dir;
  let scripts: string[];
  try {
    scripts = readdirSync(base).filter((name) => name.endsWith(".js"));
  } catch (err) {
    throw new Error(`the page's browser code is missing (${(err as Error).message}): npm run build compiles src/page/ into dist/page/`);
  }
  if (!scripts.includes(PAGE_SCRIPT)) throw new Error(`the page's browser code is missing (no ${PAGE_SCRIPT} in ${base.pathname}): npm run build compiles src/page/ into dist/page/`);
  return new Map<string, PageAsset>([
    ["/", assetOf(PAGE_HTML, "text/html; charset=utf-8")],
    [`${PAGE_ASSET_PREFIX}${PAGE_STYLE}`, assetOf(PAGE_CSS, "text/css; charset=utf-8")],
    ...scripts.map((name): [string, PageAsset] => [`${PAGE_ASSET_PREFIX}${name}`, assetOf(readFileSync(new URL(name, base)), "text/javascript; charset=utf-8")]),
  ]);
}

/** Headers of every answer of the page's routes. */
function setPageHeaders(res: Response): void {
  res.setHeader("Content-Security-Policy", PAGE_CSP);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
}

function matches(header: string | undefined, etag: string): boolean {
  return header !== undefined && header.split(",").some((tag) => tag.trim() === etag || tag.trim() === "*");
}

export interface PageRouteDeps {
  readonly assets: PageAssets;
  /** The configuration previews render with now (it follows reloads of the config file). */
  readonly summary: () => ConfigSummary;
}

export const PagePaths = { Page: "/", ConfigSummary: "/config/summary" } as const;

/** Add the page's routes (GET and HEAD). */
export function mountPage(app: Express, deps: PageRouteDeps): void {
  app.get(PagePaths.ConfigSummary, (_req: Request, res: Response) => {
    setPageHeaders(res);
    res.setHeader("Cache-Control", "no-store");
    res.json(deps.summary());
  });

  app.get([PagePaths.Page, `${PAGE_ASSET_PREFIX}:file`], (req: Request, res: Response) => {
    const asset = deps.assets.get(req.path);
    setPageHeaders(res);
    if (asset === undefined) {
      res.status(404).type("application/json").json({ code: "NOT_FOUND", message: `no page file ${req.path}` });
      return;
    }
    // Revalidated on each load (a new version of the injector serves new files), answered 304 while unchanged.
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("ETag", asset.etag);
    if (matches(req.headers["if-none-match"], asset.etag)) {
      res.status(304).end();
      return;
    }
    res.setHeader("Content-Type", asset.contentType);
    res.setHeader("Content-Length", asset.body.byteLength);
    // A HEAD request (express routes it here too) gets the headers alone.
    res.end(req.method === "GET" ? asset.body : undefined);
  });
}
