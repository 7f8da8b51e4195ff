/**
 * The injector's answers as the page reads them, and what the page says about them: the shape of
 * POST /preview's JSON report and of GET /config/summary, the sentence for each kind of refusal,
 * and the document, line and column a problem names. Pure (no DOM), so it is tested in Node too.
 */

/** One reason of a decision: a stable code and its sentence. */
export interface PageReason {
  readonly code: string;
  readonly message: string;
}

/** One object of POST /preview's JSON report (src/preview/preview.ts, ObjectPreview). */
export interface PageObject {
  readonly where: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly decision: string;
  readonly reasons: readonly PageReason[];
  readonly warnings: readonly string[];
  readonly error?: { readonly code: string; readonly message: string; readonly problems: readonly string[] };
  readonly patch: readonly unknown[];
  readonly object: unknown;
  readonly diff: string;
}

/** GET /config/summary (src/preview/config-summary.ts). */
export interface PageSummary {
  readonly version: string;
  readonly revision: string;
  readonly proxyImage: string;
  readonly nativeSidecars: { readonly setting: string; readonly on: boolean };
  readonly templates: { readonly default: readonly string[]; readonly available: readonly string[] };
  readonly policy: string;
  readonly namespaceLabel: string;
}

export type InputFormat = "json" | "yaml";

/** JSON when the text starts like JSON, else YAML (which also reads JSON): what `inject -f` does. */
export function inputFormatOf(text: string): InputFormat {
  const first = text.trimStart()[0];
  return first === "{" || first === "[" ? "json" : "yaml";
}

/** "3 objects: 1 inject, 1 skip, 1 not_applicable": the decisions by their codes, as `explain` names them. */
export function tally(objects: readonly PageObject[]): string {
  const counts = new Map<string, number>();
  for (const o of objects) counts.set(o.decision, (counts.get(o.decision) ?? 0) + 1);
  const parts = [...counts].map(([decision, n]) => `${n} ${decision}`);
  return `${objects.length} ${objects.length === 1 ? "object" : "objects"}${parts.length > 0 ? `: ${parts.join(", ")}` : ""}`;
}

/** A problem the injector named: the document it is in, the line and column when it says, and what is wrong. */
export interface Problem {
  readonly where?: string;
  readonly line?: number;
  readonly column?: number;
  readonly text: string;
}

/** Line and column (from 1) of a character offset of a text. */
export function lineColumnOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split("\n");
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/**
 * Read one problem of an INVALID_INPUT answer: `documents[1]: not valid YAML: … at line 11, column 1:`
 * names the line itself (of the whole text, as sent); a JSON parser names a character position,
 * which is turned into a line and column of the text sent.
 */
export function problemOf(message: string, sent: string): Problem {
  const prefix = /^(documents\[\d+\](?:[.[][^:\s]*)?): /.exec(message);
  const where = prefix?.[1];
  const rest = (prefix ? message.slice(prefix[0].length) : message).replace(/:\s*$/, "");
  const at = /\bat line (\d+), column (\d+)\b/.exec(rest);
  if (at) return { ...(where && { where }), line: Number(at[1]), column: Number(at[2]), text: rest };
  const position = /\bat position (\d+)\b/.exec(rest);
  if (position) return { ...(where && { where }), ...lineColumnOf(sent, Number(position[1])), text: rest };
  return { ...(where && { where }), text: rest };
}

/** A refusal, in a sentence, with the problems it names. */
export interface Failure {
  readonly sentence: string;
  readonly code?: string;
  readonly problems: readonly Problem[];
}

interface ErrorBody {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly problems?: unknown;
  readonly limit?: unknown;
}

/** What the page says about an answer that is not a report: every status the route can give. */
export function failureOf(status: number, body: unknown, retryAfter: string | null, sent: string): Failure {
  const b = (typeof body === "object" && body !== null ? body : {}) as ErrorBody;
  const code = typeof b.code === "string" ? b.code : undefined;
  const message = typeof b.message === "string" ? b.message : "";
  const problems = Array.isArray(b.problems) ? b.problems.filter((p): p is string => typeof p === "string").map((p) => problemOf(p, sent)) : [];
  const withCode = code === undefined ? {} : { code };
  if (status === 429) {
    const seconds = Number(retryAfter);
    const when = Number.isFinite(seconds) && seconds > 0 ? `in ${seconds} ${seconds === 1 ? "second" : "seconds"}` : "in a moment";
    return { ...withCode, sentence: `This injector is busy with other previews (admission comes first): try again ${when}.`, problems: [] };
  }
  if (status === 413) {
    const limit = typeof b.limit === "string" ? ` (${b.limit})` : "";
    const sentence =
      code === "BODY_TOO_LARGE"
        ? `The manifests are too large for this injector: ${message.replace(/^request body/, "the request")} (server.maxBodyBytes).`
        : `Too much to preview at once${limit}: ${message}.`;
    return { ...withCode, sentence, problems: [] };
  }
  if (status === 400 && code === "INVALID_INPUT") {
    const named = problems.length > 0 ? problems : [{ text: message }];
    // A problem of the manifests names its document; one of the query (the namespace labels) does not.
    const sentence = named.some((p) => p.where !== undefined) ? "The manifests could not be read:" : "The request could not be read:";
    return { ...withCode, sentence, problems: named };
  }
  if (status === 422 && code === "PREVIEW_LIMIT") {
    const limit = typeof b.limit === "string" ? ` (${b.limit})` : "";
    return { ...withCode, sentence: `This preview is past one of the injector's bounds${limit}: ${message}.`, problems: [] };
  }
  if (status === 404) return { ...withCode, sentence: `This injector does not serve previews here: ${message || "not found"}.`, problems: [] };
  if (status >= 500) return { ...withCode, sentence: `The injector failed (HTTP ${status}): ${message || "no details"}.`, problems: [] };
  return { ...withCode, sentence: `The injector refused the preview (HTTP ${status}): ${message || "no details"}.`, problems };
}

/** The problems of a pod the webhook would deny, each with the object it belongs to. */
export function denialOf(o: PageObject): Failure | null {
  if (o.error === undefined) return null;
  const problems = o.error.problems.length > 0 ? o.error.problems : [o.error.message];
  return { code: o.error.code, sentence: "The webhook would refuse this pod:", problems: problems.map((text) => ({ where: o.where, text })) };
}

/** The file name a downloaded injected manifest gets: `deployment-web.injected.yaml`. */
export function downloadName(o: Pick<PageObject, "kind" | "name">): string {
  const safe = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "object";
  return `${safe(o.kind)}-${safe(o.name)}.injected.yaml`;
}

/** The config corner's rows: what a person previewing needs to know about this injector. */
export function summaryRows(s: PageSummary): Array<[string, string]> {
  const native = `${s.nativeSidecars.on ? "on" : "off"}${s.nativeSidecars.setting === "auto" ? " (auto: from the cluster's version)" : ""}`;
  const templates = s.templates.available.map((t) => (s.templates.default.includes(t) ? `${t} (default)` : t)).join(", ");
  return [
    ["proxy image", s.proxyImage],
    ["revision", s.revision],
    ["native sidecars", native],
    ["templates", templates],
    ["policy", s.policy],
    ["namespace label", s.namespaceLabel],
    ["version", s.version],
  ];
}
