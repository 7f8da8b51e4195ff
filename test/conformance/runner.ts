/**
 * The conformance runner: every case of Istio's TestInjection, set up as the Go test sets it up,
 * run through our own pipeline (the one `inject` and the webhook use: readDocuments →
 * previewDocuments → runInjection) and compared aspect by aspect with Istio's golden.
 */
import { parse as parseYaml } from "yaml";
import { ConfigError, InjectorError } from "../../src/errors.js";
import { loadConfig } from "../../src/config/load-config.js";
import type { InjectionContext } from "../../src/injection/pipeline.js";
import { runInjection } from "../../src/injection/pipeline.js";
import { compileTemplate } from "../../src/injection/template.js";
import { readDocuments } from "../../src/preview/documents.js";
import { previewDocuments } from "../../src/preview/preview.js";
import { type AspectResult, compareTemplates } from "./compare.js";
import type { IstioCheckout } from "./istio-checkout.js";
import { type IstioCase, TESTDATA, readIstioCases } from "./istio-cases.js";

type Json = Record<string, unknown>;

export const CHART_VALUES = "manifests/charts/istio-control/istio-discovery/values.yaml";

export type CaseVerdict = "equal" | "different" | "not_set_up" | "excepted";

export interface CaseResult {
  readonly case: IstioCase;
  readonly verdict: CaseVerdict;
  readonly aspects: readonly AspectResult[];
  /** Why the case could not be set up, or why it is excepted. */
  readonly notes: readonly string[];
}

export interface ConformanceReport {
  readonly ref: string;
  readonly results: readonly CaseResult[];
}

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** What Istio's test install takes from the checkout's chart defaults (global.hub, .tag, .imagePullPolicy). */
export interface ChartDefaults {
  readonly hub: string;
  readonly tag: string;
  readonly imagePullPolicyValue: string;
}

export function chartDefaults(checkout: IstioCheckout): ChartDefaults {
  const text = checkout.read(CHART_VALUES);
  if (text === undefined) throw new Error(`${CHART_VALUES} not found at ${checkout.ref}`);
  const doc = parseYaml(text) as Json;
  const global = ((doc._internal_defaults_do_not_set as Json | undefined)?.global ?? {}) as Json;
  return { hub: String(global.hub), tag: String(global.tag), imagePullPolicyValue: typeof global.imagePullPolicy === "string" ? global.imagePullPolicy : "" };
}

function mergeInto(target: Json, source: Json): Json {
  for (const [k, v] of Object.entries(source)) {
    target[k] = isObj(v) && isObj(target[k]) ? mergeInto({ ...(target[k] as Json) }, v) : v;
  }
  return target;
}

/**
 * Our configuration for a case, as a user would write it: Istio's test install (the chart's proxy
 * image and pull policy) and the case's own settings as `istio.values` / `istio.meshConfig`, plus
 * `nativeSidecars` as the case sets Istio's feature flag. The IstioOperator's `components.cni.enabled`
 * and `values.cni.provider` are what istiod's chart reads as `pilot.cni.*` (the operator's mapping).
 */
export function configFor(c: IstioCase, chart: ChartDefaults): { config: Json; notes: string[] } {
  const notes = [...c.settings.unread.map((u) => `not read: ${u}`)];
  const s = c.settings;
  const values: Json = { global: { hub: chart.hub, tag: chart.tag, imagePullPolicy: chart.imagePullPolicyValue } };
  const { cni, ...rest } = s.values;
  mergeInto(values, rest);
  const pilotCni: Json = {};
  if (isObj(s.components.cni) && s.components.cni.enabled !== undefined) pilotCni.enabled = s.components.cni.enabled;
  if (isObj(cni) && cni.provider !== undefined) pilotCni.provider = cni.provider;
  if (isObj(cni)) for (const k of Object.keys(cni)) if (k !== "provider") notes.push(`not read: values.cni.${k}`);
  if (Object.keys(pilotCni).length > 0) mergeInto(values, { pilot: { cni: pilotCni } });
  for (const k of Object.keys(s.components)) if (k !== "cni") notes.push(`not read: components.${k}`);
  const istio: Json = { values };
  if (Object.keys(s.meshConfig).length > 0) istio.meshConfig = s.meshConfig;
  return { config: { nativeSidecars: s.nativeSidecars ? "true" : "false", istio }, notes };
}

function contextFor(config: Json): InjectionContext {
  return { template: compileTemplate(loadConfig({ env: {}, file: { content: config, source: "conformance case" } })), clusterSupportsNativeSidecars: undefined };
}

function templateAt(object: Json, path: readonly string[]): Json {
  let cur: unknown = object;
  for (const key of path) cur = isObj(cur) ? cur[key] : undefined;
  return isObj(cur) ? cur : {};
}

const statusOf = (template: Json): unknown => {
  const meta = isObj(template.metadata) ? template.metadata : {};
  return isObj(meta.annotations) ? meta.annotations["sidecar.istio.io/status"] : undefined;
};

/** Run one case; never throws for a case's own problems (they become its result). */
export function runCase(checkout: IstioCheckout, c: IstioCase, chart: ChartDefaults): CaseResult {
  if (c.settings.openshift) return { case: c, verdict: "excepted", aspects: [], notes: ["OpenShift (namespace UID ranges): excepted"] };
  if (c.iopFile !== undefined && /templates:/.test(checkout.read(`${TESTDATA}/${c.iopFile}`) ?? "")) {
    return { case: c, verdict: "excepted", aspects: [], notes: [`${c.iopFile} defines custom Go templates: excepted`] };
  }
  const { config, notes } = configFor(c, chart);
  if (notes.length > 0) return { case: c, verdict: "not_set_up", aspects: [], notes };
  let ctx: InjectionContext;
  try {
    ctx = contextFor(config);
  } catch (err) {
    if (err instanceof ConfigError) return { case: c, verdict: "not_set_up", aspects: [], notes: err.problems.map((p) => `config refused: ${p}`) };
    throw err;
  }
  const inputText = checkout.read(`${TESTDATA}/${c.input}`);
  if (inputText === undefined) return { case: c, verdict: "not_set_up", aspects: [], notes: [`${c.input} not found`] };
  const inputs = readDocuments(inputText, "yaml");
  const previews = previewDocuments(inputs, ctx, {});
  const aspects: AspectResult[] = [];
  if (c.expectedError !== undefined) {
    const refused = previews.some((p) => p.decision === "deny");
    const message = previews.find((p) => p.decision === "deny")?.error?.message;
    aspects.push(refused ? { aspect: "outcome", equal: true } : { aspect: "outcome", equal: false, ours: "admitted", istio: `refused (${c.expectedError})` });
    if (message !== undefined) void message;
    return { case: c, verdict: refused ? "equal" : "different", aspects, notes: [] };
  }
  const wantText = c.want === undefined ? undefined : checkout.read(`${TESTDATA}/${c.want}`);
  if (wantText === undefined) return { case: c, verdict: "not_set_up", aspects: [], notes: [`${c.want} not found`] };
  const wants = readDocuments(wantText, "yaml").flatMap((d) => d.objects).filter((o) => o.templatePath !== null);
  const ins = inputs.flatMap((d) => d.objects).filter((o) => o.templatePath !== null);
  const outs = previews.filter((p) => p.decision !== "not_applicable");
  if (wants.length !== outs.length) {
    aspects.push({ aspect: "objects with a pod template", equal: false, ours: outs.length, istio: wants.length });
  }
  outs.forEach((p, i) => {
    const want = wants[i];
    const input = ins[i];
    if (want === undefined || input === undefined || want.templatePath === null || input.templatePath === null) return;
    const prefix = outs.length > 1 ? `[${i}] ` : "";
    const istioTemplate = templateAt(want.object, want.templatePath);
    const istioInjected = statusOf(istioTemplate) !== statusOf(templateAt(input.object, input.templatePath));
    const ours = p.decision === "inject" ? "injected" : p.decision === "deny" ? `refused: ${p.error?.message ?? ""}` : `not injected (${p.reasons.map((r) => r.code).join(",")})`;
    const theirs = istioInjected ? "injected" : "not injected";
    const sameOutcome = (ours === "injected") === istioInjected && p.decision !== "deny";
    aspects.push(sameOutcome ? { aspect: `${prefix}outcome`, equal: true } : { aspect: `${prefix}outcome`, equal: false, ours, istio: theirs });
    if (p.decision === "deny") return;
    const oursTemplate = templateAt(p.object as Json, input.templatePath);
    for (const a of compareTemplates(oursTemplate, istioTemplate)) aspects.push({ ...a, aspect: `${prefix}${a.aspect}` });
    if (p.decision === "inject") {
      const name = `${prefix}re-injection is a no-op`;
      try {
        const again = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: p.namespace, object: oursTemplate }, ctx);
        aspects.push(again.patch.length === 0 ? { aspect: name, equal: true } : { aspect: name, equal: false, ours: again.patch, istio: [] });
      } catch (err) {
        if (!(err instanceof InjectorError)) throw err;
        aspects.push({ aspect: name, equal: false, ours: `refused: ${err.message}`, istio: [] });
      }
    }
  });
  return { case: c, verdict: aspects.every((a) => a.equal) ? "equal" : "different", aspects, notes: [] };
}

/** A case whose run throws is reported as different, with the error: one case never stops the run. */
function runCaseSafely(checkout: IstioCheckout, c: IstioCase, chart: ChartDefaults): CaseResult {
  try {
    return runCase(checkout, c, chart);
  } catch (err) {
    return { case: c, verdict: "different", aspects: [{ aspect: "outcome", equal: false, ours: `error: ${(err as Error).message}`, istio: "injected" }], notes: [] };
  }
}

export function runConformance(checkout: IstioCheckout, only?: (c: IstioCase) => boolean): ConformanceReport {
  const chart = chartDefaults(checkout);
  const cases = readIstioCases(checkout).filter(only ?? (() => true));
  return { ref: checkout.ref, results: cases.map((c) => runCaseSafely(checkout, c, chart)) };
}

export interface Figures {
  readonly equal: number;
  readonly total: number;
}

/** Cases equal on every aspect, by kind of setup (excepted cases are left out of the totals). */
export function figuresOf(report: ConformanceReport): { defaults: Figures; install: Figures; all: Figures; excepted: number } {
  const counted = report.results.filter((r) => r.verdict !== "excepted");
  const fig = (rs: readonly CaseResult[]): Figures => ({ equal: rs.filter((r) => r.verdict === "equal").length, total: rs.length });
  return {
    defaults: fig(counted.filter((r) => r.case.defaultSetup)),
    install: fig(counted.filter((r) => !r.case.defaultSetup)),
    all: fig(counted),
    excepted: report.results.length - counted.length,
  };
}

/** Two lists of named items (env, mounts) narrowed to the items that differ, for reading. */
function narrowed(ours: unknown, istio: unknown): [unknown, unknown] {
  const named = (v: unknown): v is Json[] => Array.isArray(v) && v.every((x) => isObj(x) && typeof x.name === "string");
  if (!named(ours) || !named(istio)) return [ours, istio];
  const key = (x: Json) => JSON.stringify(x);
  const theirs = new Set(istio.map(key));
  const mine = new Set(ours.map(key));
  return [ours.filter((x) => !theirs.has(key(x))), istio.filter((x) => !mine.has(key(x)))];
}

/**
 * The rows of docs/compatibility.md's table: case, setup, result, and for a case that is not equal
 * the aspects that differ (or why it is not run); `why` adds the reason where the difference is on purpose.
 */
export function markdownRows(report: ConformanceReport, why: ReadonlyMap<string, string> = new Map()): string {
  const verdict = { equal: "equal", different: "different", not_set_up: "not set up", excepted: "excepted" };
  return report.results
    .map((r) => {
      const differing = r.aspects.filter((a) => !a.equal).map((a) => a.aspect);
      const detail = why.get(r.case.id) ?? (differing.length > 0 ? differing.join(", ") : r.notes.join("; "));
      return `| \`${r.case.id}\` | ${r.case.defaultSetup ? "default" : "install"} | ${verdict[r.verdict]} | ${detail.replace(/\|/g, "\\|")} |`;
    })
    .join("\n");
}

const show = (v: unknown): string => (v === undefined ? "(absent)" : JSON.stringify(v));

/** The report as text: one line per case, then each differing aspect (values with verbose). */
export function formatReport(report: ConformanceReport, opts: { verbose?: boolean; allAspects?: boolean } = {}): string {
  const lines: string[] = [`Istio ${report.ref} injection testdata, case by case (ours against Istio's golden):`, ""];
  for (const r of report.results) {
    const setup = r.case.defaultSetup ? "default" : "install";
    const differing = r.aspects.filter((a) => !a.equal).length;
    const label = { equal: "EQUAL", different: "DIFFERENT", not_set_up: "NOT SET UP", excepted: "EXCEPTED" }[r.verdict];
    const counts = r.aspects.length > 0 ? ` (${r.aspects.length - differing}/${r.aspects.length} aspects equal)` : "";
    lines.push(`${label.padEnd(10)} ${setup.padEnd(7)} ${r.case.id}${counts}`);
    for (const n of r.notes) lines.push(`    ${n}`);
    for (const a of r.aspects) {
      if (a.equal && !opts.allAspects) continue;
      lines.push(`    ${a.equal ? "equal    " : "different"} ${a.aspect}`);
      if (!a.equal && opts.verbose) {
        const [ours, istio] = narrowed(a.ours, a.istio);
        lines.push(`        ours:  ${show(ours)}`);
        lines.push(`        istio: ${show(istio)}`);
      }
    }
  }
  const f = figuresOf(report);
  lines.push(
    "",
    `default setup:    ${f.defaults.equal} of ${f.defaults.total} cases equal on every aspect`,
    `install settings: ${f.install.equal} of ${f.install.total} cases equal on every aspect`,
    `together:         ${f.all.equal} of ${f.all.total} (${f.all.total === 0 ? 0 : Math.floor((1000 * f.all.equal) / f.all.total) / 10} %); ${f.excepted} excepted (OpenShift, custom Go templates)`,
  );
  return `${lines.join("\n")}\n`;
}
