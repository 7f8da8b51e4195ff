/**
 * The cases of Istio's TestInjection (pkg/kube/inject/inject_test.go), read from the checkout:
 * the explicit table (`cases := []testCase{...}`) with each case's settings as data, plus every
 * other `testdata/inject/*.yaml` (not `*.iop.yaml`) with its `.injected` golden, as the Go test
 * adds them. Settings that only Go code expresses (the `mesh` and `setup` functions) are read
 * statement by statement; a statement the reader does not know is kept in `unread`, so the case
 * is reported as not set up rather than silently run with the wrong settings.
 */
import { parse as parseYaml } from "yaml";
import type { IstioCheckout } from "./istio-checkout.js";

export const TESTDATA = "pkg/kube/inject/testdata/inject";
export const TEST_FILE = "pkg/kube/inject/inject_test.go";

type Json = Record<string, unknown>;

export interface IstioCaseSettings {
  /** Helm values set by the case (`setFlags` values.*, the `.iop.yaml` spec.values), nested. */
  readonly values: Json;
  /** MeshConfig fields set by the case (`mesh` function, `.iop.yaml` spec.meshConfig), nested. */
  readonly meshConfig: Json;
  /** IstioOperator components switched on or off (`components.cni.enabled=true`). */
  readonly components: Json;
  /** features.EnableNativeSidecars: Istio 1.30 turns them on unless the case turns them off. */
  readonly nativeSidecars: boolean;
  /** The case runs as if on OpenShift (platform env). */
  readonly openshift: boolean;
  /** Go statements of `mesh`/`setup` the reader could not turn into data. */
  readonly unread: readonly string[];
}

export interface IstioCase {
  /** `[NN] want` (or `[NN] in` for an error case), as Go names the subtest. */
  readonly id: string;
  readonly input: string;
  readonly want: string | undefined;
  readonly expectedError: string | undefined;
  readonly skipWebhook: boolean;
  readonly skipInjection: boolean;
  /** The `.iop.yaml` the case installs with, if any. */
  readonly iopFile: string | undefined;
  readonly setFlags: readonly string[];
  readonly settings: IstioCaseSettings;
  /** No setFlags, no .iop.yaml, no mesh or setup function: Istio's default install. */
  readonly defaultSetup: boolean;
}

/** Index just past the bracket that closes the one at `open` (skipping strings and comments). */
function closeOf(text: string, open: number): number {
  const pairs: Record<string, string> = { "{": "}", "(": ")", "[": "]" };
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (ch === "`") {
      i = text.indexOf("`", i + 1);
    } else if (ch === "/" && text[i + 1] === "/") {
      i = text.indexOf("\n", i);
    } else if (ch === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i) + 1;
    } else if (pairs[ch]) {
      stack.push(pairs[ch]);
    } else if (ch === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i + 1;
    }
    if (i < 0) break;
  }
  throw new Error(`${TEST_FILE}: unbalanced bracket at offset ${open}`);
}

/** The Go string literals ("…" or `…`) in a piece of source, in order. */
function stringsIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"|`([^`]*)`/g)) {
    out.push(m[2] !== undefined ? m[2] : (JSON.parse(`"${m[1]}"`) as string));
  }
  return out;
}

function stringField(entry: string, field: string): string | undefined {
  const m = new RegExp(`\\b${field}:\\s*("(?:[^"\\\\]|\\\\.)*"|\`[^\`]*\`)`).exec(entry);
  return m?.[1] === undefined ? undefined : stringsIn(m[1])[0];
}

function funcBody(entry: string, field: string): string | undefined {
  const m = new RegExp(`\\b${field}:\\s*func\\s*\\([^)]*\\)\\s*\\{`).exec(entry);
  if (!m) return undefined;
  const open = m.index + m[0].length - 1;
  return entry.slice(open + 1, closeOf(entry, open) - 1);
}

/** Top-level `{…}` entries of the composite literal whose `{` is at `open`. */
function entriesOf(text: string, open: number): string[] {
  const end = closeOf(text, open) - 1;
  const out: string[] = [];
  for (let i = open + 1; i < end; i++) {
    const ch = text[i];
    if (ch === "/" && text[i + 1] === "/") {
      i = text.indexOf("\n", i);
      continue;
    }
    if (ch !== "{") continue;
    const close = closeOf(text, i);
    out.push(text.slice(i + 1, close - 1));
    i = close - 1;
  }
  return out;
}

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let cur = target;
  path.slice(0, -1).forEach((key) => {
    if (typeof cur[key] !== "object" || cur[key] === null) cur[key] = {};
    cur = cur[key] as Json;
  });
  cur[path[path.length - 1] as string] = value;
}

function mergeInto(target: Json, source: Json): void {
  for (const [k, v] of Object.entries(source)) {
    if (typeof v === "object" && v !== null && !Array.isArray(v) && typeof target[k] === "object" && target[k] !== null && !Array.isArray(target[k])) {
      mergeInto(target[k] as Json, v as Json);
    } else target[k] = v;
  }
}

/** A `--set` value as the Istio operator reads it: booleans and whole numbers typed, else a string. */
function flagValue(text: string): unknown {
  if (text === "true" || text === "false") return text === "true";
  if (/^-?\d+$/.test(text)) return Number(text);
  return text;
}

const GO_DURATION_UNITS: Record<string, string> = { Second: "s", Millisecond: "ms", Minute: "m", Hour: "h" };

/**
 * One Go statement of a `mesh` function as a MeshConfig change, or null when it is not one the
 * reader knows. Field names become their JSON spelling (first letter lower-case).
 */
function meshStatement(stmt: string, mesh: Json): boolean {
  const field = (goPath: string) => goPath.split(".").map((p) => p.charAt(0).toLowerCase() + p.slice(1));
  let m = /^m\.([\w.]+)\s*=\s*meshapi\.\w+?_([A-Z_]+)$/.exec(stmt);
  if (m?.[1] && m[2]) {
    setPath(mesh, field(m[1]), m[2]);
    return true;
  }
  m = /^m\.([\w.]+)\s*=\s*durationpb\.New\(time\.(\w+)\s*\*\s*(\d+)\)$/.exec(stmt);
  if (m?.[1] && m[2] && m[3] && GO_DURATION_UNITS[m[2]]) {
    setPath(mesh, field(m[1]), `${m[3]}${GO_DURATION_UNITS[m[2]]}`);
    return true;
  }
  m = /^m\.([\w.]+)\["([^"]+)"\]\s*=\s*"([^"]*)"$/.exec(stmt);
  if (m?.[1] && m[2] && m[3] !== undefined) {
    setPath(mesh, [...field(m[1]), m[2]], m[3]);
    return true;
  }
  m = /^m\.([\w.]+)\s*=\s*&meshapi\.\w+\{\s*(?:Mode:\s*meshapi\.\w+?_([A-Z]+),?)?\s*\}$/s.exec(stmt);
  if (m?.[1]) {
    setPath(mesh, field(m[1]), m[2] ? { mode: m[2] } : {});
    return true;
  }
  m = /^m\.ExtensionProviders\s*=\s*append\(m\.ExtensionProviders,\s*&meshapi\.MeshConfig_ExtensionProvider\{(.*)\}\)$/s.exec(stmt);
  if (m?.[1]) {
    const body = m[1];
    const name = /Name:\s*"([^"]+)"/.exec(body)?.[1];
    const kind = /Provider:\s*&meshapi\.MeshConfig_ExtensionProvider_(\w+)\{/.exec(body)?.[1];
    if (!name || !kind) return false;
    const provider: Json = {};
    for (const f of body.matchAll(/(Service|Port|ServiceAttributeEnrichment):\s*("[^"]*"|\d+|meshapi\.\w*?_([A-Z][A-Z0-9_]*)\b)/g)) {
      const key = (f[1] as string).charAt(0).toLowerCase() + (f[1] as string).slice(1);
      const raw = f[2] as string;
      provider[key] = raw.startsWith('"') ? raw.slice(1, -1) : /^\d+$/.test(raw) ? Number(raw) : f[3];
    }
    const list = (mesh.extensionProviders as unknown[] | undefined) ?? [];
    mesh.extensionProviders = [...list, { name, [kind.charAt(0).toLowerCase() + kind.slice(1)]: provider }];
    return true;
  }
  // A nil check that only makes room for the assignment after it.
  return /^if m\.[\w.]+ == nil \{\s*m\.[\w.]+ = map\[string\]string\{\}\s*\}$/s.test(stmt);
}

/** Split a Go function body into its top-level statements. */
function statementsOf(body: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === "{" || ch === "(") {
      i = closeOf(body, i) - 1;
    } else if (ch === "\n") {
      const stmt = body.slice(start, i).trim();
      if (stmt !== "" && !stmt.startsWith("//")) out.push(stmt);
      start = i + 1;
    }
  }
  const last = body.slice(start).trim();
  if (last !== "" && !last.startsWith("//")) out.push(last);
  return out;
}

function settingsOf(entry: string, setFlags: readonly string[], iop: Json | undefined): IstioCaseSettings {
  const values: Json = {};
  const meshConfig: Json = {};
  const components: Json = {};
  const unread: string[] = [];
  if (iop) {
    const spec = (iop.spec ?? {}) as Json;
    if (spec.values && typeof spec.values === "object") mergeInto(values, spec.values as Json);
    if (spec.meshConfig && typeof spec.meshConfig === "object") mergeInto(meshConfig, spec.meshConfig as Json);
    if (spec.components && typeof spec.components === "object") mergeInto(components, spec.components as Json);
    for (const key of Object.keys(spec)) if (!["values", "meshConfig", "components"].includes(key)) unread.push(`iop spec.${key}`);
  }
  for (const flag of setFlags) {
    const eq = flag.indexOf("=");
    const path = flag.slice(0, eq).split(".");
    const value = flagValue(flag.slice(eq + 1));
    if (path[0] === "values") setPath(values, path.slice(1), value);
    else if (path[0] === "components") setPath(components, path.slice(1), value);
    else if (path[0] === "meshConfig") setPath(meshConfig, path.slice(1), value);
    else unread.push(`setFlags ${flag}`);
  }
  const mesh = funcBody(entry, "mesh");
  if (mesh !== undefined) for (const stmt of statementsOf(mesh)) if (!meshStatement(stmt, meshConfig)) unread.push(`mesh: ${stmt}`);
  let nativeSidecars = true;
  let openshift = false;
  const setup = funcBody(entry, "setup");
  if (setup !== undefined) {
    for (const stmt of statementsOf(setup)) {
      if (/features\.EnableNativeSidecars,\s*features\.NativeSidecarModeDisabled/.test(stmt)) nativeSidecars = false;
      else if (/platform\.OpenShift/.test(stmt)) openshift = true;
      else unread.push(`setup: ${stmt}`);
    }
  }
  return { values, meshConfig, components, nativeSidecars, openshift, unread };
}

/** Every case of TestInjection at the checkout's ref, in the Go test's order. */
export function readIstioCases(checkout: IstioCheckout): IstioCase[] {
  const source = checkout.read(TEST_FILE);
  if (source === undefined) throw new Error(`${TEST_FILE} not found at ${checkout.ref}`);
  const fn = source.indexOf("func TestInjection(t *testing.T)");
  if (fn < 0) throw new Error(`${TEST_FILE}: no func TestInjection at ${checkout.ref}`);
  const table = source.indexOf("cases := []testCase{", fn);
  if (table < 0) throw new Error(`${TEST_FILE}: no case table in TestInjection at ${checkout.ref}`);
  // In name order, as Go's os.ReadDir lists them.
  const files = checkout.list(TESTDATA).sort();
  const cases: IstioCase[] = [];
  const add = (entry: string) => {
    const input = stringField(entry, "in");
    if (input === undefined) throw new Error(`${TEST_FILE}: a TestInjection case without "in": ${entry.trim().slice(0, 80)}`);
    const setFlagsAt = /\bsetFlags:\s*\[\]string\{/.exec(entry);
    const setFlags = setFlagsAt ? stringsIn(entry.slice(setFlagsAt.index, closeOf(entry, setFlagsAt.index + setFlagsAt[0].length - 1))) : [];
    const iopFile = stringField(entry, "inFilePath");
    const iopText = iopFile === undefined ? undefined : checkout.read(`${TESTDATA}/${iopFile}`);
    if (iopFile !== undefined && iopText === undefined) throw new Error(`${TESTDATA}/${iopFile} not found at ${checkout.ref}`);
    const iop = iopText === undefined ? undefined : (parseYaml(iopText) as Json);
    const expectedError = stringField(entry, "expectedError");
    const want = stringField(entry, "want") ?? (expectedError === undefined ? `${input}.injected` : undefined);
    const n = String(cases.length).padStart(2, "0");
    cases.push({
      id: `[${n}] ${expectedError === undefined ? want : input}`,
      input,
      want,
      expectedError,
      skipWebhook: /\bskipWebhook:\s*true/.test(entry),
      skipInjection: /\bskipInjection:\s*true/.test(entry),
      iopFile,
      setFlags,
      settings: settingsOf(entry, setFlags, iop),
      defaultSetup: setFlags.length === 0 && iopFile === undefined && funcBody(entry, "mesh") === undefined && funcBody(entry, "setup") === undefined,
    });
  };
  for (const entry of entriesOf(source, table + "cases := []testCase".length)) add(entry);
  // As the Go test does: every other input with a golden of its own is a default case.
  const tested = new Set(cases.map((c) => c.want ?? `${c.input}.injected`));
  for (const f of files) {
    if (!f.endsWith(".yaml") || f.endsWith(".iop.yaml") || tested.has(`${f}.injected`)) continue;
    add(`in: ${JSON.stringify(f)}`);
  }
  return cases;
}
