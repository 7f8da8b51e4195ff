/**
 * POST /preview: what the webhook would do to a Pod, a workload, a List or an AdmissionReview, in
 * JSON or YAML (several documents). Same body limit as /inject, no side effects. For humans and
 * scripts, so problems are HTTP codes with a JSON body naming what is wrong and where.
 *
 * Query: namespace, namespaceLabels=k=v,..., output=json (the report, default) | yaml (the
 * injected manifests) | diff (unified diffs) | patch (the RFC 6902 patch, or one per object).
 */
import type { Request, Response } from "express";
import { InjectorError } from "../errors.js";
import type { InjectionContext } from "../injection/pipeline.js";
import { parseLabelList } from "../preview/commands.js";
import { type InputFormat, readDocuments } from "../preview/documents.js";
import { formatManifests } from "../preview/format.js";
import { previewDocuments } from "../preview/preview.js";
import { HttpError, isJsonContentType, readRaw } from "./body.js";

export const PreviewOutputs = ["json", "yaml", "diff", "patch"] as const;
export type PreviewOutput = (typeof PreviewOutputs)[number];

export interface PreviewRouteDeps {
  readonly context: () => InjectionContext;
  readonly maxBodyBytes: () => number;
}

function formatOf(contentType: string | undefined): InputFormat | null {
  if (isJsonContentType(contentType)) return "json";
  const type = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  return ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"].includes(type) ? "yaml" : null;
}

function queryString(req: Request, key: string): string | undefined {
  const value = new URLSearchParams(req.url.split("?")[1] ?? "").getAll(key);
  if (value.length > 1) throw new HttpError(400, "BAD_REQUEST", `query parameter ${key} is given more than once`);
  return value[0];
}

/** Handle one preview request; throws HttpError or InjectorError for the caller to map. */
export async function servePreview(req: Request, res: Response, deps: PreviewRouteDeps): Promise<void> {
  const format = formatOf(req.headers["content-type"]);
  if (format === null) {
    req.resume();
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json or application/yaml");
  }
  const output = queryString(req, "output") ?? "json";
  if (!(PreviewOutputs as readonly string[]).includes(output)) {
    throw new HttpError(400, "BAD_REQUEST", `output must be one of ${PreviewOutputs.join(", ")} (got ${JSON.stringify(output)})`);
  }
  const labelsText = queryString(req, "namespaceLabels");
  const namespaceLabels = labelsText === undefined ? undefined : parseLabelList(labelsText);
  const namespace = queryString(req, "namespace") || undefined;

  const raw = await readRaw(req, deps.maxBodyBytes());
  if (raw.length === 0) throw new HttpError(400, "EMPTY_BODY", "request body is empty");
  const docs = readDocuments(raw.toString("utf8"), format);
  const previews = previewDocuments(docs, deps.context(), { namespace, namespaceLabels });

  const denied = previews.filter((p) => p.decision === "deny");
  if (denied.length > 0 && (output === "yaml" || output === "patch")) {
    const problems = denied.flatMap((p) => (p.error?.problems ?? []).map((m) => `${p.where} (${p.kind}/${p.name}): ${m}`));
    res.status(422).json({ code: denied[0]?.error?.code ?? "INVALID_ANNOTATION", message: "the webhook would deny these objects", problems });
    return;
  }
  switch (output as PreviewOutput) {
    case "json":
      res.json({ results: previews });
      return;
    case "yaml":
      res.type("application/yaml").send(formatManifests(docs, previews, "yaml"));
      return;
    case "diff":
      res.type("text/x-diff").send(previews.map((p) => p.diff).join(""));
      return;
    case "patch": {
      const single = previews.length === 1 ? previews[0] : undefined;
      res.json(single ? single.patch : previews.map((p) => ({ where: p.where, kind: p.kind, name: p.name, patch: p.patch })));
      return;
    }
  }
}

/** Map preview errors to HTTP answers. */
export function previewError(err: unknown): { status: number; body: unknown } | null {
  if (err instanceof HttpError) return { status: err.statusCode, body: { code: err.code, message: err.message } };
  if (err instanceof InjectorError && err.status < 500) return { status: err.status, body: { code: err.code, message: err.message, problems: err.problems } };
  return null;
}
