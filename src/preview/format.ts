/**
 * Output forms of a preview: injected manifests (YAML or JSON, order kept, untouched documents as
 * written), the explain table, and the JSON report.
 */
import type { InputDocument } from "./documents.js";
import { type ObjectPreview, yamlOf } from "./preview.js";
import { isObject } from "../json-values.js";


/** Rebuild a document with each changed object swapped for its mutated form. */
function rebuild(value: unknown, swaps: ReadonlyMap<unknown, unknown>): unknown {
  if (swaps.has(value)) return swaps.get(value);
  if (!isObject(value)) return value;
  if (value.kind === "AdmissionReview" && isObject(value.request)) {
    return { ...value, request: { ...value.request, object: rebuild(value.request.object, swaps) } };
  }
  if (Array.isArray(value.items)) return { ...value, items: value.items.map((item) => rebuild(item, swaps)) };
  return value;
}

/** The documents after injection, each with whether anything in it changed. */
export function injectedDocuments(docs: readonly InputDocument[], previews: readonly ObjectPreview[]): Array<{ doc: InputDocument; value: unknown; changed: boolean }> {
  const byWhere = new Map(previews.map((p) => [p.where, p]));
  return docs.map((doc) => {
    const swaps = new Map<unknown, unknown>();
    for (const o of doc.objects) {
      const p = byWhere.get(o.where);
      if (p && p.patch.length > 0) swaps.set(o.object, p.object);
    }
    return { doc, value: swaps.size === 0 ? doc.value : rebuild(doc.value, swaps), changed: swaps.size > 0 };
  });
}

/** Manifests as YAML documents (untouched YAML documents keep their text) or as JSON. */
export function formatManifests(docs: readonly InputDocument[], previews: readonly ObjectPreview[], output: "yaml" | "json"): string {
  const out = injectedDocuments(docs, previews);
  if (output === "json") {
    const values = out.map((d) => d.value);
    const value = values.length === 1 ? values[0] : { apiVersion: "v1", kind: "List", items: values };
    return `${JSON.stringify(value, null, 2)}\n`;
  }
  return out
    .map((d) => {
      const text = !d.changed && d.doc.source !== undefined ? d.doc.source : yamlOf(d.value);
      return text.endsWith("\n") ? text : `${text}\n`;
    })
    .join("---\n");
}

/** The explain report for scripts. */
export function explainJson(previews: readonly ObjectPreview[]): unknown[] {
  return previews.map((p) => ({
    where: p.where,
    kind: p.kind,
    name: p.name,
    namespace: p.namespace,
    decision: p.decision,
    reasons: p.reasons.map((r) => ({ code: r.code, message: r.message })),
    warnings: p.warnings,
    ...(p.error && { error: p.error }),
  }));
}

/** The explain table: one row per object, then each object's reasons as sentences. */
export function explainTable(previews: readonly ObjectPreview[]): string {
  const rows = previews.map((p) => [
    `${p.kind}/${p.name}`,
    p.namespace,
    p.decision,
    p.error ? p.error.code : p.reasons.map((r) => r.code).join(",") || "-",
    String(p.warnings.length),
  ]);
  const header = ["KIND/NAME", "NAMESPACE", "DECISION", "REASONS", "WARNINGS"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  const details = previews.flatMap((p) => [
    "",
    `${p.kind}/${p.name} (${p.where}): ${p.decision}`,
    ...p.reasons.map((r) => `  ${r.code}: ${r.message}`),
    ...(p.error ? p.error.problems.map((m) => `  ${p.error?.code}: ${m}`) : []),
    ...p.warnings.map((w) => `  warning: ${w}`),
  ]);
  return `${[line(header), ...rows.map(line), ...details].join("\n")}\n`;
}
