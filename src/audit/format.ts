/** The audit report as a table (summary counts first), JSON or YAML. */
import { stringify as toYaml } from "yaml";
import type { AuditReport } from "./audit.js";

/** Rows as aligned columns (three spaces apart; the last column is not padded). */
export function table(rows: readonly string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd(),
  );
}

export function formatAudit(report: AuditReport, output: "table" | "json" | "yaml"): string {
  if (output === "json") return `${JSON.stringify(report, null, 2)}\n`;
  if (output === "yaml") return toYaml(report);
  const s = report.summary;
  const lines = [
    `namespaces: ${s.namespaces}   pods: ${s.pods}   injected: ${s.injected}   findings: ${report.findings.length}`,
    ...table([["FINDING", "COUNT"], ...Object.entries(s.findings).map(([code, n]) => [code, String(n)])]),
  ];
  if (report.findings.length > 0) {
    lines.push("", ...table([["SEVERITY", "CODE", "OBJECT", "MESSAGE"], ...report.findings.map((f) => [f.severity, f.code, f.object, f.message])]));
    lines.push("", "FIXES", ...report.findings.map((f) => `  ${f.object}: ${f.fix}`));
  }
  if (report.restartPlan.length > 0) lines.push("", "RESTART PLAN", ...report.restartPlan.map((c) => `  ${c}`));
  if (report.rollout !== undefined) lines.push("", `Or all at once, safely: ${report.rollout}`);
  return `${lines.join("\n")}\n`;
}
