/**
 * Compare our injected pod template with Istio's golden one, aspect by aspect. Spellings that do
 * not change the pod are normalised on both sides first (docs/compatibility.md,
 * "Same pod, different spelling"): quantities by value, Go's zero values and empty objects
 * omitted, a volume without a source read as emptyDir, JSON env values compared parsed, the
 * field-ref apiVersion dropped (Istio's own test drops it), an empty env value read as none,
 * volumes compared by name (their order means nothing), and our own extra annotation.
 */
import { parseQuantity } from "../../src/validation/formats.js";

type Json = Record<string, unknown>;

/** Annotations only we write (documented extras istiod ignores). */
const OUR_ANNOTATIONS = new Set(["sidecar-injector.io/template-hash"]);
const STATUS = "sidecar.istio.io/status";

export interface AspectResult {
  readonly aspect: string;
  readonly equal: boolean;
  /** Ours and Istio's value, normalised, when they differ. */
  readonly ours?: unknown;
  readonly istio?: unknown;
}

/** Structural equality of JSON values (object key order aside); realm-independent, unlike util.isDeepStrictEqual. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const ka = Object.keys(a).filter((k) => (a as Json)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Json)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Json)[k], (b as Json)[k]));
}

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Drop Go's omitted zero values: empty objects, empty arrays, null, and zero probe numbers. */
function pruneEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneEmpty);
  if (!isObj(v)) return v;
  const out: Json = {};
  for (const [k, val] of Object.entries(v)) {
    const p = pruneEmpty(val);
    if (p === null || p === undefined) continue;
    if (isObj(p) && Object.keys(p).length === 0 && k !== "emptyDir") continue;
    if (Array.isArray(p) && p.length === 0) continue;
    out[k] = p;
  }
  return out;
}

function quantities(resources: unknown): unknown {
  if (!isObj(resources)) return resources;
  const out: Json = {};
  for (const [kind, list] of Object.entries(resources)) {
    out[kind] = isObj(list) ? Object.fromEntries(Object.entries(list).map(([r, q]) => [r, typeof q === "string" ? parseQuantity(q) : q])) : list;
  }
  return out;
}

function probe(p: unknown): unknown {
  if (!isObj(p)) return p;
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== 0));
}

function envValue(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const t = value.trim();
  if ((t.startsWith("{") && t.endsWith("}")) || (t.startsWith("[") && t.endsWith("]"))) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

/**
 * PROXY_CONFIG: ours names the discovery address the proxy is configured with; istiod's holds its
 * mesh's default ProxyConfig (in Istio's test, where the test mesh's defaults are left out, `{}`).
 * Compared without discoveryAddress when it is the mesh default (docs/compatibility.md: "Same pod, different spelling").
 */
const DEFAULT_DISCOVERY_ADDRESS = "istiod.istio-system.svc:15012";
function proxyConfig(value: unknown): unknown {
  if (!isObj(value) || value.discoveryAddress !== DEFAULT_DISCOVERY_ADDRESS) return value;
  const { discoveryAddress: _d, ...rest } = value;
  return rest;
}

function container(c: unknown): Json {
  if (!isObj(c)) return {};
  const out: Json = { ...c };
  if (out.resources !== undefined) out.resources = quantities(out.resources);
  for (const k of ["readinessProbe", "livenessProbe", "startupProbe"]) if (out[k] !== undefined) out[k] = probe(out[k]);
  if (Array.isArray(out.env)) {
    out.env = out.env.map((e) => {
      if (!isObj(e)) return e;
      const copy: Json = { ...e };
      // An empty value is no value (Go leaves it out; the kubelet reads both as "").
      if (copy.value === "") delete copy.value;
      if (copy.value !== undefined) copy.value = envValue(copy.value);
      if (copy.name === "PROXY_CONFIG") copy.value = proxyConfig(copy.value);
      const from = copy.valueFrom;
      if (isObj(from) && isObj(from.fieldRef)) {
        const { apiVersion: _a, ...fieldRef } = from.fieldRef;
        copy.valueFrom = { ...from, fieldRef };
      }
      if (isObj(from) && isObj(from.resourceFieldRef) && from.resourceFieldRef.divisor !== undefined) {
        const d = from.resourceFieldRef.divisor;
        copy.valueFrom = { ...(copy.valueFrom as Json), resourceFieldRef: { ...from.resourceFieldRef, divisor: typeof d === "string" ? parseQuantity(d) : d } };
      }
      return copy;
    });
  }
  return pruneEmpty(out) as Json;
}

function volume(v: unknown): unknown {
  if (!isObj(v)) return v;
  const keys = Object.keys(v).filter((k) => k !== "name");
  return pruneEmpty(keys.length === 0 ? { ...v, emptyDir: {} } : v);
}

function status(annotations: Json): unknown {
  const raw = annotations[STATUS];
  if (typeof raw !== "string") return raw;
  try {
    const parsed = JSON.parse(raw) as Json;
    const { version: _v, templateHash: _h, ...rest } = parsed;
    return rest;
  } catch {
    return raw;
  }
}

/** Annotations whose value is JSON Istio writes with Go's field order and zero values. */
const JSON_ANNOTATIONS = new Set(["proxy.istio.io/overrides"]);

function annotationsOf(meta: Json): Json {
  const a = isObj(meta.annotations) ? meta.annotations : {};
  const kept = Object.entries(a).filter(([k]) => k !== STATUS && !OUR_ANNOTATIONS.has(k));
  return Object.fromEntries(kept.map(([k, v]) => [k, JSON_ANNOTATIONS.has(k) && typeof v === "string" ? jsonAnnotation(v) : v]));
}

function jsonAnnotation(text: string): unknown {
  try {
    const parsed = JSON.parse(text) as Json;
    const lists = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, Array.isArray(v) ? v.map(container) : v]));
    return pruneEmpty(lists);
  } catch {
    return text;
  }
}

function byName(list: unknown): Map<string, Json> {
  const out = new Map<string, Json>();
  if (Array.isArray(list)) for (const c of list) if (isObj(c) && typeof c.name === "string") out.set(c.name, c);
  return out;
}

function names(list: unknown): string[] {
  return Array.isArray(list) ? list.map((c) => (isObj(c) ? String(c.name) : "?")) : [];
}

const SPEC_LISTS = new Set(["containers", "initContainers", "volumes", "imagePullSecrets"]);

/** Every aspect of one pod template (metadata + spec), ours against Istio's. */
export function compareTemplates(ours: Json, istio: Json): AspectResult[] {
  const out: AspectResult[] = [];
  const aspect = (name: string, a: unknown, b: unknown) => {
    const equal = jsonEqual(a, b);
    out.push(equal ? { aspect: name, equal } : { aspect: name, equal, ours: a, istio: b });
  };
  const om = isObj(ours.metadata) ? ours.metadata : {};
  const im = isObj(istio.metadata) ? istio.metadata : {};
  aspect("labels", pruneEmpty(om.labels ?? {}), pruneEmpty(im.labels ?? {}));
  aspect("annotations", annotationsOf(om), annotationsOf(im));
  aspect("status", status(isObj(om.annotations) ? om.annotations : {}), status(isObj(im.annotations) ? im.annotations : {}));
  const os = isObj(ours.spec) ? ours.spec : {};
  const is = isObj(istio.spec) ? istio.spec : {};
  for (const list of ["initContainers", "containers"] as const) {
    aspect(`${list} (names, in order)`, names(os[list]), names(is[list]));
    const mine = byName(os[list]);
    const theirs = byName(is[list]);
    for (const name of new Set([...theirs.keys(), ...mine.keys()])) {
      const a = container(mine.get(name));
      const b = container(theirs.get(name));
      for (const field of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) aspect(`${list}[${name}].${field}`, a[field], b[field]);
    }
  }
  // Volume order means nothing to Kubernetes (Istio puts its own first, we append ours): by name.
  const volumes = (s: Json) => (Array.isArray(s.volumes) ? s.volumes : []).map(volume).sort((a, b) => String((a as Json).name).localeCompare(String((b as Json).name)));
  aspect("volumes", volumes(os), volumes(is));
  aspect("imagePullSecrets", pruneEmpty(os.imagePullSecrets ?? []), pruneEmpty(is.imagePullSecrets ?? []));
  const rest = (s: Json) => pruneEmpty(Object.fromEntries(Object.entries(s).filter(([k]) => !SPEC_LISTS.has(k))));
  aspect("spec (other fields)", rest(os), rest(is));
  return out;
}
