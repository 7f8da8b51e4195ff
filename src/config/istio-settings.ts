/**
 * Istio's install settings as input (`istio.values`, `istio.meshConfig`): the `values` of ConfigMap
 * istio-sidecar-injector and the `mesh` of ConfigMap istio, read as partial objects over Istio
 * 1.30's defaults and mapped to our settings. Every key is one of four kinds, in one table each:
 * mapped to a setting of ours; accepted and ignored (Istio reads it, but it does not change what
 * is injected); accepted only at Istio's default (we cannot honor another value, and say why);
 * anything else is refused with its path. A Go template in any value is refused too: templates
 * here are data (overlay templates), never Go. `null` means "not set", as in Helm.
 * Pure: returns the partial configuration and where each setting came from; never logs.
 */
import { isObject } from "../json-values.js";

type Json = Record<string, unknown>;

/** A setting of ours, as a dotted path (`sidecar.image`). */
export type SettingPath = string;

type Convert = (value: unknown, at: string, problems: string[]) => unknown;

type Rule =
  | { readonly kind: "set"; readonly setting: SettingPath; readonly convert?: Convert }
  | { readonly kind: "image"; readonly part: "hub" | "tag" | "image" }
  | { readonly kind: "ignored" }
  | { readonly kind: "default"; readonly value: unknown; readonly reason: string };

const SKIP = Symbol("skip");

const set = (setting: SettingPath, convert?: Convert): Rule => (convert ? { kind: "set", setting, convert } : { kind: "set", setting });
const ignored: Rule = { kind: "ignored" };
const onlyDefault = (value: unknown, reason: string): Rule => ({ kind: "default", value, reason });

/** "" means "Istio's default" for several string values: the setting is then left as it is. */
const nonEmpty: Convert = (v) => (v === "" ? SKIP : v);
const stringOrBool: Convert = (v, at, problems) => {
  if (v === true || v === "true") return "true";
  if (v === false || v === "false") return "false";
  problems.push(`${at} must be true or false`);
  return SKIP;
};
const pullSecrets: Convert = (v, at, problems) => {
  if (!Array.isArray(v)) {
    problems.push(`${at} must be a list of Secret names`);
    return SKIP;
  }
  return v.map((s, i) => {
    if (typeof s === "string") return s;
    if (isObject(s) && typeof s.name === "string") return s.name;
    problems.push(`${at}[${i}] must be a Secret name or {name: …}`);
    return "";
  });
};
const pullPolicy: Convert = (v) => (v === "" ? null : v);
const numberFromString: Convert = (v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v);
const autoInject: Convert = (v, at, problems) => {
  if (v === "enabled" || v === "disabled") return v;
  problems.push(`${at} must be enabled or disabled`);
  return SKIP;
};
/** Istio 1.30's global.proxy.resources. */
const ISTIO_PROXY_RESOURCES = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "2000m", memory: "1024Mi" } } as const;
/** Merged over Istio's defaults as Helm merges values: a null removes the default. */
const proxyResources: Convert = (v, at, problems) => {
  if (!isObject(v)) {
    problems.push(`${at} must be an object with requests and/or limits`);
    return SKIP;
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const kind of ["requests", "limits"] as const) {
    const given = v[kind];
    const merged: Record<string, unknown> = { ...ISTIO_PROXY_RESOURCES[kind] };
    if (given === null) {
      out[kind] = {};
      continue;
    }
    if (isObject(given)) {
      for (const [r, q] of Object.entries(given)) {
        if (q === null) delete merged[r];
        else merged[r] = typeof q === "number" ? String(q) : q;
      }
    }
    out[kind] = merged;
  }
  for (const key of Object.keys(v)) if (key !== "requests" && key !== "limits") problems.push(`${at}.${key} is not a key Istio's injector reads`);
  return out;
};
/** MeshConfig's ExtensionProvider.OpenTelemetryTracingProvider.serviceAttributeEnrichment values (ISTIO_CANONICAL: the default). */
const SERVICE_ATTRIBUTE_ENRICHMENTS = ["ISTIO_CANONICAL", "OTEL_SEMANTIC_CONVENTIONS"];
/**
 * The providers are istiod's business, but for one thing: as istiod, any OpenTelemetry provider
 * asking for OTEL_SEMANTIC_CONVENTIONS gives every sidecar OTEL_RESOURCE_ATTRIBUTES.
 */
const otelConventions: Convert = (v, at, problems) => {
  if (!Array.isArray(v)) {
    problems.push(`${at} must be a list of providers`);
    return SKIP;
  }
  let conventions = false;
  v.forEach((p, i) => {
    if (!isObject(p)) return void problems.push(`${at}[${i}] must be a provider (an object with a name and one provider's settings)`);
    const otel = p.opentelemetry;
    if (otel === undefined || otel === null) return;
    if (!isObject(otel)) return void problems.push(`${at}[${i}].opentelemetry must be an object`);
    const enrichment = otel.serviceAttributeEnrichment;
    if (enrichment === undefined || enrichment === null) return;
    if (typeof enrichment !== "string" || !SERVICE_ATTRIBUTE_ENRICHMENTS.includes(enrichment)) {
      problems.push(`${at}[${i}].opentelemetry.serviceAttributeEnrichment must be one of ${SERVICE_ATTRIBUTE_ENRICHMENTS.join(", ")}`);
    } else if (enrichment === "OTEL_SEMANTIC_CONVENTIONS") conventions = true;
  });
  return conventions;
};
const revision: Convert = (v) => (v === "" ? "default" : v);

const UNSUPPORTED = "not supported by this injector";

/** Istio's injector values (ConfigMap istio-sidecar-injector, key `values`), by path. */
export const VALUES_RULES: Readonly<Record<string, Rule>> = {
  "global.hub": { kind: "image", part: "hub" },
  "global.tag": { kind: "image", part: "tag" },
  "global.proxy.image": { kind: "image", part: "image" },
  "global.imagePullPolicy": set("sidecar.imagePullPolicy", pullPolicy),
  "global.imagePullSecrets": set("sidecar.imagePullSecrets", pullSecrets),
  "global.proxy.includeIPRanges": set("sidecar.includeOutboundIPRanges"),
  "global.proxy.excludeIPRanges": set("sidecar.excludeOutboundIPRanges"),
  "global.proxy.includeInboundPorts": set("sidecar.includeInboundPorts"),
  "global.proxy.excludeInboundPorts": set("sidecar.excludeInboundPorts"),
  "global.proxy.includeOutboundPorts": set("sidecar.includeOutboundPorts"),
  "global.proxy.excludeOutboundPorts": set("sidecar.excludeOutboundPorts"),
  "global.proxy.statusPort": set("sidecar.statusPort", numberFromString),
  "global.proxy.readinessInitialDelaySeconds": set("sidecar.readinessInitialDelaySeconds", numberFromString),
  "global.proxy.readinessPeriodSeconds": set("sidecar.readinessPeriodSeconds", numberFromString),
  "global.proxy.readinessFailureThreshold": set("sidecar.readinessFailureThreshold", numberFromString),
  "global.proxy.holdApplicationUntilProxyStarts": set("holdApplicationUntilProxyStarts"),
  "global.proxy.logLevel": set("sidecar.logLevel"),
  "global.proxy.componentLogLevel": set("sidecar.componentLogLevel"),
  "global.proxy.clusterDomain": set("sidecar.clusterDomain"),
  "global.proxy.autoInject": set("policy", autoInject),
  "global.logging.level": set("sidecar.agentLogLevel"),
  "global.trustDomain": set("sidecar.trustDomain", nonEmpty),
  "global.sds.token.aud": set("sidecar.tokenAudience"),
  "global.meshID": set("sidecar.meshId", nonEmpty),
  "global.network": set("sidecar.network"),
  "global.mountMtlsCerts": set("sidecar.mountMtlsCerts"),
  // As Istio's template: the proxy and istio-init both take these, nulls left out (Helm's merge).
  "global.proxy.resources": set("sidecar.resources", proxyResources),
  "global.multiCluster.clusterName": set("sidecar.clusterId", nonEmpty),
  revision: set("revision", revision),
  "pilot.cni.enabled": set("cni"),
  "pilot.cni.provider": set("cniProvider", nonEmpty),
  "pilot.env.ENABLE_NATIVE_SIDECARS": set("nativeSidecars", stringOrBool),
  "sidecarInjectorWebhook.neverInjectSelector": set("neverInjectSelector"),
  "sidecarInjectorWebhook.alwaysInjectSelector": set("alwaysInjectSelector"),
  "sidecarInjectorWebhook.defaultTemplates": set("defaultTemplates", (v) => (Array.isArray(v) && v.length === 0 ? SKIP : v)),
  "sidecarInjectorWebhook.rewriteAppHTTPProbe": set("rewriteAppProbes"),

  // Accepted only at Istio's default: another value changes the pod in a way we do not render.
  "global.proxy_init.resources": onlyDefault(null, `${UNSUPPORTED} yet: set sidecar.initResources`),
  "global.proxy_init.image": onlyDefault("proxyv2", `${UNSUPPORTED}: istio-init runs global.proxy.image (set sidecar.initImage)`),
  "global.proxy.privileged": onlyDefault(false, UNSUPPORTED),
  "global.proxy.enableCoreDump": onlyDefault(false, UNSUPPORTED),
  "global.proxy.lifecycle": onlyDefault({}, UNSUPPORTED),
  "global.proxy.startupProbe.enabled": onlyDefault(true, UNSUPPORTED),
  "global.proxy.startupProbe.failureThreshold": onlyDefault(600, UNSUPPORTED),
  "global.pilotCertProvider": onlyDefault("istiod", UNSUPPORTED),
  "global.jwtPolicy": onlyDefault("third-party-jwt", UNSUPPORTED),
  "global.caAddress": onlyDefault("", `${UNSUPPORTED}: the CA is sidecar.discoveryAddress`),
  "global.podDNSSearchNamespaces": onlyDefault(null, UNSUPPORTED),
  "global.proxy.tracer": onlyDefault("none", UNSUPPORTED),
  "global.nativeNftables": onlyDefault(false, UNSUPPORTED),
  "global.caName": onlyDefault("", UNSUPPORTED),
  "global.proxy.outlierLogPath": onlyDefault("", UNSUPPORTED),
  "global.proxy.seccompProfile": onlyDefault({}, UNSUPPORTED),
  "global.proxy_init.forceApplyIptables": onlyDefault(false, UNSUPPORTED),
  "gateways.securityContext": onlyDefault({}, UNSUPPORTED),
  "gateways.seccompProfile": onlyDefault({}, UNSUPPORTED),
  "pilot.env.COMPLIANCE_POLICY": onlyDefault("", `${UNSUPPORTED} (FIPS)`),
  "sidecarInjectorWebhook.templates": onlyDefault({}, "custom Go templates are not supported: write them as overlay templates (templates.<name>)"),
  "sidecarInjectorWebhook.injectedAnnotations": onlyDefault({}, UNSUPPORTED),
  "meshConfig": onlyDefault({}, "the mesh configuration goes in istio.meshConfig"),

  // Accepted and ignored: read by istiod or the charts, but they change nothing in the pod.
  "pilot.env": ignored,
  "pilot.cni": ignored,
  "sidecarInjectorWebhook.enableNamespacesByDefault": ignored,
  "sidecarInjectorWebhook.reinvocationPolicy": ignored,
  "sidecarInjectorWebhook.objectSelector": ignored,
  "sidecarInjectorWebhook.useLegacySelectors": ignored,
  "global.logAsJson": ignored,
  "global.logging": ignored,
  "global.priorityClassName": ignored,
  "global.defaultResources": ignored,
  "global.defaultPodDisruptionBudget": ignored,
  "global.defaultNodeSelector": ignored,
  "global.defaultTolerations": ignored,
  "global.omitSidecarInjectorConfigMap": ignored,
  "global.operatorManageWebhooks": ignored,
  "global.configValidation": ignored,
  "global.istiod": ignored,
  "global.externalIstiod": ignored,
  "global.remotePilotAddress": ignored,
  "global.configCluster": ignored,
  "global.meshNetworks": ignored,
  "global.variant": ignored,
  "global.platform": ignored,
  "global.ipFamilies": ignored,
  "global.ipFamilyPolicy": ignored,
  "global.waypoint": ignored,
  "global.certSigners": ignored,
  "global.sts": ignored,
  "global.networkPolicy": ignored,
  "global.resourceScope": ignored,
  "global.istioNamespace": onlyDefault("istio-system", `${UNSUPPORTED}: set sidecar.discoveryAddress`),
};

/** MeshConfig (ConfigMap istio, key `mesh`), by path. */
export const MESH_RULES: Readonly<Record<string, Rule>> = {
  trustDomain: set("sidecar.trustDomain", nonEmpty),
  "defaultConfig.interceptionMode": set("sidecar.interceptionMode"),
  "defaultConfig.holdApplicationUntilProxyStarts": set("holdApplicationUntilProxyStarts"),
  "defaultConfig.discoveryAddress": set("sidecar.discoveryAddress"),
  // Every other ProxyConfig field travels to the proxy in PROXY_CONFIG (proxyMetadata also as env).
  defaultConfig: set("sidecar.proxyConfig"),
  "inboundTrafficPolicy.mode": set("sidecar.inboundTrafficPolicy"),
  // Providers are istiod's business, except OpenTelemetry's semantic conventions, which add proxy env.
  extensionProviders: set("otelSemanticConventions", otelConventions),
  // Mesh-wide traffic and telemetry settings istiod applies through xDS, not through the pod.
  accessLogFile: ignored,
  accessLogFormat: ignored,
  accessLogEncoding: ignored,
  enableTracing: ignored,
  enableEnvoyAccessLogService: ignored,
  enableAutoMtls: ignored,
  enablePrometheusMerge: set("prometheusMerge"),
  outboundTrafficPolicy: ignored,
  defaultProviders: ignored,
  rootNamespace: ignored,
  trustDomainAliases: ignored,
  localityLbSetting: ignored,
  dnsRefreshRate: ignored,
  connectTimeout: ignored,
  protocolDetectionTimeout: ignored,
  ingressClass: ignored,
  ingressService: ignored,
  ingressControllerMode: ignored,
  ingressSelector: ignored,
  tcpKeepalive: ignored,
  h2UpgradePolicy: ignored,
  defaultServiceExportTo: ignored,
  defaultVirtualServiceExportTo: ignored,
  defaultDestinationRuleExportTo: ignored,
  serviceSettings: ignored,
  discoverySelectors: ignored,
  pathNormalization: ignored,
  caCertificates: ignored,
  certificates: ignored,
  meshMTLS: ignored,
  tlsDefaults: ignored,
  verifyCertificateAtClient: ignored,
  configSources: ignored,
  mesh: ignored,
};

/** Istio 1.30's image defaults (global.hub, global.tag, global.proxy.image). */
export const ISTIO_IMAGE_DEFAULTS = { hub: "docker.io/istio", tag: "1.30.3", image: "proxyv2" } as const;

export interface IstioDerived {
  /** A partial configuration of ours (nested), from Istio's settings. */
  readonly partial: Json;
  /** Each setting of ours set here, and the Istio path it came from. */
  readonly sources: ReadonlyMap<SettingPath, string>;
}

function setPath(target: Json, path: SettingPath, value: unknown): void {
  const keys = path.split(".");
  let cur = target;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(cur[key])) cur[key] = {};
    cur = cur[key] as Json;
  }
  cur[keys[keys.length - 1] as string] = value;
}

/** The deepest rule for a path or one of its parents (an object's own rule beats its parent's). */
function ruleFor(rules: Readonly<Record<string, Rule>>, path: string): { rule: Rule; exact: boolean } | undefined {
  if (Object.hasOwn(rules, path)) return { rule: rules[path] as Rule, exact: true };
  const parts = path.split(".");
  for (let i = parts.length - 1; i > 0; i--) {
    const parent = parts.slice(0, i).join(".");
    if (Object.hasOwn(rules, parent)) return { rule: rules[parent] as Rule, exact: false };
  }
  return undefined;
}

/** Whether a rule names a path under this one (so an object here is walked into). */
function hasDeeper(rules: Readonly<Record<string, Rule>>, path: string): boolean {
  return Object.keys(rules).some((k) => k.startsWith(`${path}.`));
}

/** The path of the first Go template (`{{`) inside a value, if any. */
function goTemplateIn(value: unknown, at: string): string | undefined {
  if (typeof value === "string") return value.includes("{{") ? at : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = goTemplateIn(value[i], `${at}[${i}]`);
      if (found) return found;
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const found = goTemplateIn(v, `${at}.${k}`);
      if (found) return found;
    }
  }
  return undefined;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface Walk {
  readonly rules: Readonly<Record<string, Rule>>;
  readonly base: string;
  readonly problems: string[];
  readonly out: Json;
  readonly sources: Map<SettingPath, string>;
  readonly image: { hub?: string; tag?: string; image?: string; from: string[] };
}

/**
 * Walk one object. `covered`: the object itself is the value of a mapped key (meshConfig's
 * defaultConfig): its keys need no rule of their own, but those with one are applied too.
 */
function walk(w: Walk, value: Json, prefix: string, covered = false): void {
  for (const [key, v] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const at = `${w.base}.${path}`;
    if (v === null || v === undefined) continue; // not set, as in Helm
    const found = ruleFor(w.rules, path);
    const exact = found?.exact === true ? found.rule : undefined;
    if ((exact === undefined || exact.kind === "ignored") && isObject(v) && hasDeeper(w.rules, path)) {
      walk(w, v, path, covered);
      continue;
    }
    const template = goTemplateIn(v, at);
    if (template !== undefined) {
      w.problems.push(`${template}: Go templates are not supported (templates here are data: see templates.<name>)`);
      continue;
    }
    if (exact === undefined) {
      if (covered) continue;
      if (found?.rule.kind === "ignored") continue;
      w.problems.push(`${at} is not a key Istio's injector reads (docs/configuration.md, "The istio block", lists the keys accepted and ignored)`);
      continue;
    }
    apply(w, exact, v, at);
    if (exact.kind === "set" && isObject(v) && hasDeeper(w.rules, path)) walk(w, v, path, true);
  }
}

function apply(w: Walk, rule: Rule, v: unknown, at: string): void {
  if (rule.kind === "ignored") return;
  if (rule.kind === "default") {
    if (!sameValue(v, rule.value)) w.problems.push(`${at}: ${JSON.stringify(v)} is ${rule.reason} (only Istio's default ${JSON.stringify(rule.value)} is accepted)`);
    return;
  }
  if (rule.kind === "image") {
    if (typeof v !== "string" || v === "") {
      w.problems.push(`${at} must be a non-empty string`);
      return;
    }
    w.image[rule.part] = v;
    w.image.from.push(at);
    return;
  }
  const converted = rule.convert ? rule.convert(v, at, w.problems) : v;
  if (converted === SKIP) return;
  setPath(w.out, rule.setting, converted);
  w.sources.set(rule.setting, at);
}

/**
 * Map Istio's values and mesh configuration to a partial configuration of ours. Problems (each
 * naming its path under `base.values` / `base.meshConfig`) are pushed to `problems`; the values
 * themselves are checked later against our own rules, with the Istio path named.
 */
export function deriveFromIstio(input: { values?: unknown; meshConfig?: unknown }, bases: { values: string; meshConfig: string }, problems: string[]): IstioDerived {
  const out: Json = {};
  const sources = new Map<SettingPath, string>();
  const image: Walk["image"] = { from: [] };
  for (const [which, rules] of [
    ["values", VALUES_RULES],
    ["meshConfig", MESH_RULES],
  ] as const) {
    const value = input[which];
    if (value === undefined || value === null) continue;
    if (!isObject(value)) {
      problems.push(`${bases[which]} must be an object`);
      continue;
    }
    walk({ rules, base: bases[which], problems, out, sources, image }, value, "");
  }
  if (image.from.length > 0) {
    const name = image.image ?? ISTIO_IMAGE_DEFAULTS.image;
    // As Istio's template: an image with a "/" is used as it is, else hub/image:tag.
    const ref = name.includes("/") ? name : `${image.hub ?? ISTIO_IMAGE_DEFAULTS.hub}/${name}:${image.tag ?? ISTIO_IMAGE_DEFAULTS.tag}`;
    for (const setting of ["sidecar.image", "sidecar.initImage"]) {
      setPath(out, setting, ref);
      sources.set(setting, image.from.join(", "));
    }
  }
  return { partial: out, sources };
}

/**
 * A ConfigMap export (`kubectl get cm -o yaml`) or the bare object: the object under `data[key]`
 * (a YAML or JSON string, parsed by `parse`), or the value itself when it is not a ConfigMap.
 */
export function unwrapConfigMap(doc: unknown, key: "values" | "mesh", source: string, parse: (text: string) => unknown, problems: string[]): unknown {
  if (!isObject(doc) || doc.kind !== "ConfigMap") return doc;
  const data = doc.data;
  const text = isObject(data) ? data[key] : undefined;
  if (typeof text !== "string") {
    problems.push(`${source}: a ConfigMap without data.${key}`);
    return undefined;
  }
  return parse(text);
}
