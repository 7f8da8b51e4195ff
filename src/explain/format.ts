/**
 * The live explain report as a table (one row per object, then each object's webhooks in calling
 * order, decision, pods and findings), JSON or YAML.
 */
import { stringify as toYaml } from "yaml";
import type { Finding } from "../audit/audit.js";
import { table } from "../audit/format.js";
import { WebhookMatchCode } from "../webhooks/match.js";
import type { ExplainReport, ExplainedObject } from "./cluster.js";

function findingLines(findings: readonly Finding[], indent: string): string[] {
  return findings.flatMap((f) => [`${indent}${f.severity} ${f.code} ${f.object}: ${f.message}`, `${indent}  fix: ${f.fix}`]);
}

/** The injectors' configuration names (the details below name each webhook). */
function injectorsCell(o: ExplainedObject): string {
  const names = o.injectors.map((i) => i.slice(0, i.indexOf("/")));
  return [...new Set(names)].join(", ") || "-";
}

function podsCell(o: ExplainedObject): string {
  if (o.pods.length === 0) return "-";
  const n = (s: string) => o.pods.filter((p) => p.sidecar === s).length;
  return `${n("current")}/${n("stale")}/${n("none")}`;
}

function details(o: ExplainedObject): string[] {
  const lines = ["", `${o.object} (judged by its ${o.judged})`];
  const shown = o.webhooks.filter((w) => w.code !== WebhookMatchCode.RulesDoNotMatch);
  const hidden = o.webhooks.length - shown.length;
  if (o.webhooks.length > 0) {
    lines.push("  Webhooks, in the order the API server calls them:");
    for (const w of shown) {
      lines.push(`    ${w.called ? "called    " : "not called"}  ${w.configuration}/${w.webhook} (failurePolicy ${w.failurePolicy}, ${w.target})`);
      lines.push(`                ${w.code}: ${w.message}`);
    }
    if (hidden > 0) lines.push(`    (${hidden} more whose rules do not cover creating pods)`);
  }
  lines.push(`  Decision: ${o.decision}`);
  for (const r of o.reasons) lines.push(`    ${r.code}: ${r.message}`);
  if (o.error) for (const p of o.error.problems) lines.push(`    ${o.error.code}: ${p}`);
  for (const w of o.warnings) lines.push(`    warning: ${w}`);
  if (o.pods.length > 0) {
    lines.push("  Pods:");
    lines.push(...table(o.pods.map((p) => [p.name, p.sidecar, p.detail])).map((l) => `    ${l}`));
  }
  if (o.findings.length > 0) lines.push("  Findings:", ...findingLines(o.findings, "    "));
  return lines;
}

export function formatExplain(report: ExplainReport, output: "table" | "json" | "yaml"): string {
  if (output === "json") return `${JSON.stringify(report, null, 2)}\n`;
  if (output === "yaml") return toYaml(report);
  const s = report.summary;
  const lines = [
    `${report.scope}: ${s.objects} object${s.objects === 1 ? "" : "s"}; pods with a current sidecar ${s.pods.current}, stale ${s.pods.stale}, none ${s.pods.none}; findings: ${s.findings.error} error, ${s.findings.warning} warning, ${s.findings.info} info`,
  ];
  if (report.objects.length > 0) {
    lines.push(
      "",
      ...table([
        ["OBJECT", "INJECTORS CALLED", "DECISION", "PODS CURRENT/STALE/NONE", "FINDINGS"],
        ...report.objects.map((o) => [o.object, injectorsCell(o), o.decision, podsCell(o), String(o.findings.length)]),
      ]),
    );
  }
  for (const o of report.objects) lines.push(...details(o));
  if (report.findings.length > 0) lines.push("", "Namespace and webhook configuration findings:", ...findingLines(report.findings, "  "));
  if (report.notes.length > 0) lines.push("", "Notes:", ...report.notes.map((n) => `  ${n}`));
  return `${lines.join("\n")}\n`;
}
