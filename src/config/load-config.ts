/**
 * The single reader of configuration: the embedded defaults, an optional YAML/JSON file, the
 * environment and command-line flags (flags > env > file > defaults). Every problem is collected
 * with its path and reported at once as a ConfigError; the result is deep-frozen.
 */
import { ConfigError, InvalidInputError } from "../errors.js";
import { readYamlDocument } from "../validation/yaml-documents.js";
import { BuiltinTemplate, checkOverlayTemplate, checkTemplateList, templateNames } from "./templates.js";
import { deepFreeze, isObject } from "../json-values.js";
import { type IstioDerived, deriveFromIstio, unwrapConfigMap } from "./istio-settings.js";
import {
  CIDR_LIST_FORM,
  EXCLUDE_CIDR_LIST_FORM,
  IMAGE_FORM,
  PORT_LIST_FORM,
  QUANTITY_FORM,
  isCidrList,
  isExcludeCidrList,
  isDnsLabel,
  isDnsSubdomain,
  isImageRef,
  isPortList,
  isQuantity,
  parseQuantity,
} from "../validation/formats.js";
import {
  CniProviders,
  type Config,
  DEFAULT_CONFIG,
  InboundTrafficPolicies,
  InjectionPolicies,
  InterceptionModes,
  LogLevels,
  NativeSidecarModes,
  ServerRoles,
  TlsModes,
  ProxyLogLevels,
  WorkloadValidationModes,
} from "./config.js";

/** A leaf check: pushes path-named problems for a bad value. */
type Check = (value: unknown, path: string, problems: string[]) => void;
interface Schema {
  readonly [key: string]: Check | Schema;
}

const str: Check = (v, path, problems) => {
  if (typeof v !== "string") problems.push(`${path} must be a string`);
};
const nonEmpty: Check = (v, path, problems) => {
  if (typeof v !== "string" || v.trim() === "") problems.push(`${path} must be a non-empty string`);
};
function int(min: number, max: number): Check {
  return (v, path, problems) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${path} must be an integer from ${min} to ${max}`);
    }
  };
}
function oneOf(values: readonly string[]): Check {
  return (v, path, problems) => {
    if (typeof v !== "string" || !values.includes(v)) problems.push(`${path} must be one of ${values.join(", ")}`);
  };
}
function format(test: (s: string) => boolean, form: string): Check {
  return (v, path, problems) => {
    if (typeof v !== "string" || !test(v)) problems.push(`${path} must be ${form}`);
  };
}
function listOf(item: Check): Check {
  return (v, path, problems) => {
    if (!Array.isArray(v)) {
      problems.push(`${path} must be a list`);
      return;
    }
    v.forEach((x, i) => item(x, `${path}[${i}]`, problems));
  };
}
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"];

/** A Kubernetes label selector: matchLabels and matchExpressions, nothing else. */
const labelSelector: Check = (v, path, problems) => {
  if (!isObject(v)) {
    problems.push(`${path} must be a label selector (matchLabels, matchExpressions)`);
    return;
  }
  for (const key of Object.keys(v)) {
    if (key !== "matchLabels" && key !== "matchExpressions") problems.push(`${path}.${key} is not a known setting`);
  }
  if (v.matchLabels !== undefined) {
    if (!isObject(v.matchLabels)) problems.push(`${path}.matchLabels must be a map of strings`);
    else {
      for (const [k, x] of Object.entries(v.matchLabels)) {
        if (!LABEL_KEY.test(k)) problems.push(`${path}.matchLabels key ${JSON.stringify(k)} is not a label key`);
        if (typeof x !== "string") problems.push(`${path}.matchLabels[${JSON.stringify(k)}] must be a string`);
      }
    }
  }
  if (v.matchExpressions !== undefined) {
    if (!Array.isArray(v.matchExpressions)) {
      problems.push(`${path}.matchExpressions must be a list`);
      return;
    }
    v.matchExpressions.forEach((e: unknown, i: number) => {
      const at = `${path}.matchExpressions[${i}]`;
      if (!isObject(e)) return void problems.push(`${at} must be an object`);
      if (typeof e.key !== "string" || !LABEL_KEY.test(e.key)) problems.push(`${at}.key must be a label key`);
      if (typeof e.operator !== "string" || !OPERATORS.includes(e.operator)) problems.push(`${at}.operator must be one of ${OPERATORS.join(", ")}`);
      const needsValues = e.operator === "In" || e.operator === "NotIn";
      const values = e.values;
      if (needsValues && (!Array.isArray(values) || values.length === 0 || !values.every((x) => typeof x === "string"))) {
        problems.push(`${at}.values must be a non-empty list of strings for ${String(e.operator)}`);
      }
      if (!needsValues && values !== undefined && !(Array.isArray(values) && values.length === 0)) {
        problems.push(`${at}.values must be empty for ${String(e.operator)}`);
      }
    });
  }
};
/** A duration in seconds; fractions allowed so tests and demos can watch rotation happen. */
function seconds(min: number, max: number): Check {
  return (v, path, problems) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      problems.push(`${path} must be a number of seconds from ${min} to ${max}`);
    }
  };
}
function nullable(check: Check): Check {
  return (v, path, problems) => {
    if (v !== null) check(v, path, problems);
  };
}
const bool: Check = (v, path, problems) => {
  if (typeof v !== "boolean") problems.push(`${path} must be true or false`);
};
const quantity = format(isQuantity, QUANTITY_FORM);
const resourceList: Schema = { cpu: quantity, memory: quantity, "ephemeral-storage": quantity };
const resources: Schema = { requests: resourceList, limits: resourceList };

/** Named overlay templates: DNS-label names other than the built-in ones, each a partial pod. */
/** ProxyConfig fields (Istio's JSON names); proxyMetadata, which also becomes env, must map names to strings. */
const proxyConfig: Check = (v, path, problems) => {
  if (!isObject(v)) {
    problems.push(`${path} must be an object of ProxyConfig fields`);
    return;
  }
  const metadata = v.proxyMetadata;
  if (metadata === undefined) return;
  if (!isObject(metadata)) {
    problems.push(`${path}.proxyMetadata must be an object of environment variable names to strings`);
    return;
  }
  for (const [k, x] of Object.entries(metadata)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k)) problems.push(`${path}.proxyMetadata.${k} is not an environment variable name`);
    if (typeof x !== "string") problems.push(`${path}.proxyMetadata.${k} must be a string`);
  }
};

const templateMap: Check = (v, path, problems) => {
  if (!isObject(v)) return void problems.push(`${path} must be a map of template names to partial pods`);
  const builtins = new Set<string>(Object.values(BuiltinTemplate));
  for (const [name, template] of Object.entries(v)) {
    const at = `${path}.${name}`;
    if (!isDnsLabel(name)) problems.push(`${at}: a template name must be a DNS label`);
    else if (builtins.has(name)) problems.push(`${at}: ${name} is a built-in template and cannot be redefined`);
    checkOverlayTemplate(template, at, problems);
  }
};

const SCHEMA: Schema = {
  server: {
    role: oneOf(ServerRoles),
    port: int(0, 65535), // 0: any free port (tests)
    host: nonEmpty,
    certDir: nonEmpty,
    shutdownDeadlineMs: int(0, 10 * 60_000),
    shutdownDrainDelayMs: int(0, 10 * 60_000),
    maxBodyBytes: int(1024, 64 * 1024 * 1024),
    logLevel: oneOf(LogLevels),
    metricsPort: nullable(int(0, 65535)),
  },
  preview: {
    workers: int(1, 16),
    queue: int(0, 1_000),
    maxDocuments: int(1, 100_000),
    maxObjectsPerDocument: int(1, 100_000),
    maxRenderedBytes: int(1024, 512 * 1024 * 1024),
    maxCpuMs: int(10, 10 * 60_000),
  },
  tls: {
    mode: oneOf(TlsModes),
    certFile: nullable(nonEmpty),
    keyFile: nullable(nonEmpty),
    caFile: nullable(nonEmpty),
    secretName: format(isDnsSubdomain, "a Secret name (DNS subdomain)"),
    webhookConfigName: format(isDnsSubdomain, "a MutatingWebhookConfiguration name (DNS subdomain)"),
    caValiditySeconds: seconds(60, 100 * 365 * 86_400),
    certValiditySeconds: seconds(1, 100 * 365 * 86_400),
    leaseName: format(isDnsSubdomain, "a Lease name (DNS subdomain)"),
    leaseDurationSeconds: seconds(0.1, 3600),
    renewDeadlineSeconds: seconds(0.1, 3600),
    retryPeriodSeconds: seconds(0.05, 3600),
    resyncSeconds: seconds(0.1, 86_400),
  },
  service: { name: format(isDnsLabel, "a DNS label"), namespace: format(isDnsLabel, "a DNS label") },
  ignoredNamespaces: listOf(format(isDnsLabel, "a namespace name (DNS label)")),
  nativeSidecars: oneOf(NativeSidecarModes),
  workloadValidation: oneOf(WorkloadValidationModes),
  revision: nonEmpty,
  policy: oneOf(InjectionPolicies),
  neverInjectSelector: listOf(labelSelector),
  alwaysInjectSelector: listOf(labelSelector),
  cni: bool,
  cniProvider: oneOf(CniProviders),
  otelSemanticConventions: bool,
  holdApplicationUntilProxyStarts: bool,
  prometheusMerge: bool,
  rewriteAppProbers: bool,
  auditEndpoint: bool,
  defaultTemplates: listOf(nonEmpty),
  templates: templateMap,
  sidecar: {
    image: format(isImageRef, IMAGE_FORM),
    initImage: format(isImageRef, IMAGE_FORM),
    imagePullPolicy: nullable(oneOf(["Always", "IfNotPresent", "Never"])),
    // The API server checks only that a reference names something (pullSecretWarnings).
    imagePullSecrets: listOf(nonEmpty),
    discoveryAddress: nonEmpty,
    clusterDomain: nonEmpty,
    trustDomain: nonEmpty,
    meshId: nonEmpty,
    clusterId: nonEmpty,
    logLevel: oneOf(ProxyLogLevels),
    componentLogLevel: str,
    agentLogLevel: str,
    interceptionMode: oneOf(InterceptionModes),
    includeOutboundIPRanges: format(isCidrList, CIDR_LIST_FORM),
    excludeOutboundIPRanges: format(isExcludeCidrList, EXCLUDE_CIDR_LIST_FORM),
    includeInboundPorts: format((s) => isPortList(s, true), `* or ${PORT_LIST_FORM}`),
    excludeInboundPorts: format((s) => isPortList(s, false), PORT_LIST_FORM),
    includeOutboundPorts: format((s) => isPortList(s, false), PORT_LIST_FORM),
    excludeOutboundPorts: format((s) => isPortList(s, false), PORT_LIST_FORM),
    statusPort: int(0, 65535),
    network: str,
    mountMtlsCerts: bool,
    inboundTrafficPolicy: oneOf(InboundTrafficPolicies),
    readinessInitialDelaySeconds: int(0, 2 ** 31 - 1),
    readinessPeriodSeconds: int(1, 2 ** 31 - 1),
    readinessFailureThreshold: int(1, 2 ** 31 - 1),
    proxyConfig,
    resources,
    initResources: resources,
    tokenAudience: nonEmpty,
    tokenExpirationSeconds: int(600, 2 ** 31 - 1),
    caRootConfigMap: format(isDnsLabel, "a ConfigMap name"),
  },
};


/** Validate a partial config object against the schema: unknown keys and bad values are problems. */
function validatePartial(value: unknown, schema: Schema, path: string, problems: string[]): void {
  if (!isObject(value)) {
    problems.push(`${path || "configuration"} must be an object`);
    return;
  }
  for (const key of Object.keys(value)) {
    const at = path ? `${path}.${key}` : key;
    const rule = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (rule === undefined) {
      problems.push(`${at} is not a known setting`);
    } else if (typeof rule === "function") {
      rule(value[key], at, problems);
    } else {
      validatePartial(value[key], rule, at, problems);
    }
  }
}

/** Deep-merge a validated partial over a base; lists and leaves replace, objects merge. */
function merge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}


/** Settings that only make sense together. */
function checkTls(config: Config, problems: string[]): void {
  const t = config.tls;
  if (!(t.leaseDurationSeconds > t.renewDeadlineSeconds)) {
    problems.push(`tls.leaseDurationSeconds (${t.leaseDurationSeconds}) must be greater than tls.renewDeadlineSeconds (${t.renewDeadlineSeconds})`);
  }
  // client-go's rule: the renew deadline leaves room for a jittered retry (factor 1.2).
  if (!(t.renewDeadlineSeconds > t.retryPeriodSeconds * 1.2)) {
    problems.push(`tls.renewDeadlineSeconds (${t.renewDeadlineSeconds}) must be greater than 1.2 × tls.retryPeriodSeconds (${t.retryPeriodSeconds})`);
  }
  if (!(t.caValiditySeconds > t.certValiditySeconds)) {
    problems.push(`tls.caValiditySeconds (${t.caValiditySeconds}) must be greater than tls.certValiditySeconds (${t.certValiditySeconds})`);
  }
  if (t.mode === "files" && (t.certFile === null) !== (t.keyFile === null)) {
    problems.push("tls.certFile and tls.keyFile must be given together (or neither, for <server.certDir>/tls.crt and tls.key)");
  }
}

function checkDefaultTemplates(config: Config, problems: string[]): void {
  if (config.defaultTemplates.length === 0) problems.push("defaultTemplates must name at least one template");
  problems.push(...checkTemplateList(config.defaultTemplates, templateNames(config.templates), "defaultTemplates"));
}

function checkResourceOrder(config: Config, problems: string[]): void {
  for (const key of ["resources", "initResources"] as const) {
    const { requests, limits } = config.sidecar[key];
    for (const r of ["cpu", "memory"] as const) {
      const req = requests[r];
      const lim = limits[r];
      if (req !== undefined && lim !== undefined && isQuantity(req) && isQuantity(lim)) {
        if (parseQuantity(req) > parseQuantity(lim)) {
          problems.push(`sidecar.${key}.requests.${r} (${req}) must not exceed sidecar.${key}.limits.${r} (${lim})`);
        }
      }
    }
  }
}

/** Parse a config file's text (YAML, of which JSON is a subset). */
export function parseConfigText(text: string, source: string): unknown {
  try {
    return readYamlDocument(text, source, { uniqueKeys: true }) ?? {};
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    // One reader and its limits for every input (src/validation/yaml-documents.ts).
    throw new ConfigError(err.problems.map((p) => p.replace(`${source}: not valid YAML: `, `${source} is not valid YAML or JSON: `)));
  }
}

/** Command-line settings that override the file and the environment. */
export interface ConfigFlags {
  readonly role?: string | undefined;
  readonly port?: number | undefined;
  readonly certDir?: string | undefined;
  readonly tlsMode?: string | undefined;
}

export interface LoadConfigInput {
  /** The environment (process.env at the edge; a literal in tests). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly flags?: ConfigFlags;
  /** Parsed file content (see parseConfigText) and its name for messages. */
  readonly file?: { readonly content: unknown; readonly source: string };
  /**
   * Istio's values and mesh configuration from their own files (--istio-values, --mesh-config):
   * the parsed content (a ConfigMap export or the bare object); each replaces the file's
   * istio.values / istio.meshConfig.
   */
  readonly istio?: {
    readonly values?: { readonly content: unknown; readonly source: string };
    readonly meshConfig?: { readonly content: unknown; readonly source: string };
  };
  /**
   * The two ConfigMaps `istio.fromCluster` names, as `serve` read them from the cluster (an
   * absent one: undefined). Used only when the file's istio block has fromCluster.
   */
  readonly fromCluster?: IstioConfigMaps;
  /** Filled with one line per setting where ours and Istio's disagree (ours wins), for the log. */
  readonly notices?: string[];
  /** Filled with one line per value accepted that cannot do what it says (see pullSecretWarnings), for the log. */
  readonly warnings?: string[];
}

/** Where `istio.fromCluster` reads Istio's settings: a namespace and two ConfigMaps in it. */
export interface IstioClusterSource {
  readonly namespace: string;
  /** Its `data.values`: Istio's injector values (JSON, as Istio's chart writes it). */
  readonly injectorConfigMap: string;
  /** Its `data.mesh`: Istio's MeshConfig (YAML). */
  readonly meshConfigMap: string;
}

/** `istio.fromCluster: {}`: where Istio's chart installs the two ConfigMaps. */
export const DEFAULT_ISTIO_CLUSTER_SOURCE: IstioClusterSource = Object.freeze({
  namespace: "istio-system",
  injectorConfigMap: "istio-sidecar-injector",
  meshConfigMap: "istio",
});

/** The ConfigMaps of an IstioClusterSource as read (undefined: not found). */
export interface IstioConfigMaps {
  readonly injector: unknown;
  readonly mesh: unknown;
}

const FROM_CLUSTER_SCHEMA: Schema = {
  namespace: format(isDnsLabel, "a namespace name (DNS label)"),
  injectorConfigMap: format(isDnsSubdomain, "a ConfigMap name (DNS subdomain)"),
  meshConfigMap: format(isDnsSubdomain, "a ConfigMap name (DNS subdomain)"),
};

/**
 * The file's `istio.fromCluster`, checked and with its defaults; undefined when the file does not
 * set it. Throws ConfigError naming each bad key.
 */
export function istioClusterSourceOf(content: unknown, source: string): IstioClusterSource | undefined {
  const given = isObject(content) && isObject(content.istio) ? content.istio.fromCluster : undefined;
  if (given === undefined) return undefined;
  const problems: string[] = [];
  if (!isObject(given)) problems.push("istio.fromCluster must be an object (namespace, injectorConfigMap, meshConfigMap; {} for Istio's: istio-system, istio-sidecar-injector, istio)");
  else validatePartial(given, FROM_CLUSTER_SCHEMA, "istio.fromCluster", problems);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${source}: ${p}`));
  return Object.freeze({ ...DEFAULT_ISTIO_CLUSTER_SOURCE, ...(given as Partial<IstioClusterSource>) });
}

/** How messages name a ConfigMap of the cluster: `ConfigMap istio-system/istio`. */
export function configMapName(namespace: string, name: string): string {
  return `ConfigMap ${namespace}/${name}`;
}

/** The rule for a dotted setting path, or undefined. */
function checkAt(path: string): Check | undefined {
  let at: Schema | Check = SCHEMA;
  for (const key of path.split(".")) {
    if (typeof at === "function" || !Object.hasOwn(at, key)) return undefined;
    at = at[key] as Schema | Check;
  }
  if (typeof at === "function") return at;
  const schema = at;
  return (v, p, problems) => validatePartial(v, schema, p, problems);
}

function valueAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const key of path.split(".")) cur = isObject(cur) && Object.hasOwn(cur, key) ? cur[key] : undefined;
  return cur;
}

const ISTIO_KEYS = ["values", "meshConfig", "fromCluster"];

/**
 * The configuration Istio's settings give (istio block of the file, or the --istio-values and
 * --mesh-config files), checked by our own rules with the Istio path named; and, in `notices`,
 * every setting the file sets otherwise (the file wins).
 */
function fromIstio(input: LoadConfigInput, fileIstio: unknown, fileRest: unknown, problems: string[]): IstioDerived | undefined {
  const source = input.file?.source ?? "configuration";
  const sections: { values?: unknown; meshConfig?: unknown } = {};
  const bases = { values: `${source}: istio.values`, meshConfig: `${source}: istio.meshConfig` };
  let cluster: IstioClusterSource | undefined;
  if (fileIstio !== undefined) {
    if (!isObject(fileIstio)) problems.push(`${source}: istio must be an object with values and/or meshConfig, or fromCluster`);
    else {
      for (const key of Object.keys(fileIstio)) {
        if (!ISTIO_KEYS.includes(key)) problems.push(`${source}: istio.${key} is not a known setting (istio takes values and meshConfig, or fromCluster)`);
      }
      sections.values = fileIstio.values;
      sections.meshConfig = fileIstio.meshConfig;
      try {
        cluster = istioClusterSourceOf({ istio: fileIstio }, source);
      } catch (err) {
        problems.push(...(err as ConfigError).problems);
      }
    }
  }
  const parse = (text: string, at: string): unknown => {
    try {
      return parseConfigText(text, at);
    } catch (err) {
      problems.push(...(err as ConfigError).problems);
      return undefined;
    }
  };
  if (isObject(fileIstio) && fileIstio.fromCluster !== undefined) {
    // The cluster is then the source of Istio's settings: nothing else may give them.
    const others = [
      ...(fileIstio.values !== undefined ? ["istio.values"] : []),
      ...(fileIstio.meshConfig !== undefined ? ["istio.meshConfig"] : []),
      ...(input.istio?.values !== undefined ? ["--istio-values"] : []),
      ...(input.istio?.meshConfig !== undefined ? ["--mesh-config"] : []),
    ];
    if (others.length > 0) {
      problems.push(`${source}: istio.fromCluster cannot be combined with ${others.join(", ")}: with fromCluster, Istio's settings come from the cluster's ConfigMaps only`);
      return undefined;
    }
    if (cluster === undefined) return undefined;
    if (input.fromCluster === undefined) {
      problems.push(`${source}: istio.fromCluster is read by serve, from its cluster; for this command export the ConfigMaps (kubectl get cm -o yaml) and pass them with --istio-values and --mesh-config`);
      return undefined;
    }
    const injectorName = configMapName(cluster.namespace, cluster.injectorConfigMap);
    const meshName = configMapName(cluster.namespace, cluster.meshConfigMap);
    if (input.fromCluster.injector === undefined) problems.push(`${injectorName} (istio.fromCluster) was not found`);
    else {
      sections.values = unwrapConfigMap({ ...(input.fromCluster.injector as object), kind: "ConfigMap" }, "values", injectorName, (t) => parse(t, `${injectorName} data.values`), problems);
      bases.values = `${injectorName}: values`;
    }
    // Istio's mesh defaults without the mesh ConfigMap or its mesh key, as istiod reads it.
    const mesh = input.fromCluster.mesh;
    if (isObject(mesh) && isObject(mesh.data) && typeof mesh.data.mesh === "string") {
      sections.meshConfig = unwrapConfigMap({ ...mesh, kind: "ConfigMap" }, "mesh", meshName, (t) => parse(t, `${meshName} data.mesh`), problems);
      bases.meshConfig = `${meshName}: mesh`;
    }
  }
  for (const [key, cmKey] of [
    ["values", "values"],
    ["meshConfig", "mesh"],
  ] as const) {
    const given = input.istio?.[key];
    if (given === undefined) continue;
    sections[key] = unwrapConfigMap(given.content, cmKey, given.source, (t) => parse(t, `${given.source} data.${cmKey}`), problems);
    bases[key] = `${given.source}: ${cmKey}`;
  }
  if (sections.values === undefined && sections.meshConfig === undefined) return undefined;
  const found: string[] = [];
  const derived = deriveFromIstio(sections, bases, found);
  // global.proxy.resources sizes istio-init too (Istio's template renders both from it).
  const mappedResources = valueAt(derived.partial, "sidecar.resources");
  if (mappedResources !== undefined && valueAt(derived.partial, "sidecar.initResources") === undefined) {
    (derived.partial.sidecar as Record<string, unknown>).initResources = mappedResources;
    (derived.sources as Map<string, string>).set("sidecar.initResources", derived.sources.get("sidecar.resources") ?? "");
  }
  for (const [setting, from] of derived.sources) {
    const check = checkAt(setting);
    if (check === undefined) continue;
    check(valueAt(derived.partial, setting), `${from} (as ${setting})`, found);
    const ours = valueAt(fileRest, setting);
    const theirs = valueAt(derived.partial, setting);
    if (ours !== undefined && JSON.stringify(ours) !== JSON.stringify(theirs)) {
      input.notices?.push(`${setting}: ${JSON.stringify(ours)} (${source}) wins over ${JSON.stringify(theirs)} from ${from}`);
    }
  }
  problems.push(...found);
  return derived;
}

/**
 * Pull secret names no Secret can have. The API server accepts any name in a pod's
 * imagePullSecrets (it checks only that a reference sets nothing but its name), so such a
 * name is injected as given, as istiod does; but Secret names are lower-case DNS subdomains, so
 * the kubelet finds no Secret by it and pulls without it. Worth a warning, not a refusal.
 */
export function pullSecretWarnings(names: readonly string[], at: (index: number) => string): string[] {
  return names.flatMap((name, i) =>
    isDnsSubdomain(name)
      ? []
      : [`${at(i)}: ${JSON.stringify(name)} is not a name a Secret can have (a lower-case DNS subdomain): the pods get the reference, but the kubelet finds no Secret by it and pulls without it`],
  );
}

/** Environment variables the injector reads, and the setting each one sets. */
const ENV_SETTINGS: ReadonlyArray<readonly [name: string, path: readonly [string, string]]> = [
  ["ROLE", ["server", "role"]],
  ["PORT", ["server", "port"]],
  ["METRICS_PORT", ["server", "metricsPort"]],
  ["LOG_LEVEL", ["server", "logLevel"]],
  ["CERT_DIR", ["server", "certDir"]],
  ["POD_NAMESPACE", ["service", "namespace"]],
  ["TLS_MODE", ["tls", "mode"]],
];

/** The rule for a two-level setting path (every env/flag setting is one). */
function ruleAt(path: readonly [string, string]): Check {
  const section = SCHEMA[path[0]] as Schema;
  return section[path[1]] as Check;
}

/** Env and flag values as a partial config; each bad value is a problem naming its source. */
function overridesFromEnvAndFlags(input: LoadConfigInput, problems: string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const set = (path: readonly [string, string], value: unknown, source: string): void => {
    const found: string[] = [];
    ruleAt(path)(value, path.join("."), found);
    problems.push(...found.map((p) => `${source}: ${p}`));
    out[path[0]] = { ...out[path[0]], [path[1]]: value };
  };
  for (const [name, path] of ENV_SETTINGS) {
    const raw = input.env[name];
    if (raw === undefined || raw === "") continue;
    const value = (path[1] === "port" || path[1] === "metricsPort") && /^\d+$/.test(raw) ? Number(raw) : raw;
    set(path, value, `${name}=${JSON.stringify(raw)} (environment)`);
  }
  if (input.flags?.role !== undefined) set(["server", "role"], input.flags.role, "--role");
  if (input.flags?.port !== undefined) set(["server", "port"], input.flags.port, "--port");
  if (input.flags?.certDir !== undefined) set(["server", "certDir"], input.flags.certDir, "--cert-dir");
  if (input.flags?.tlsMode !== undefined) set(["tls", "mode"], input.flags.tlsMode, "--tls-mode");
  return out;
}

/**
 * Build the configuration. Throws ConfigError listing every problem (file, env and flags together).
 */
export function loadConfig(input: LoadConfigInput): Config {
  const problems: string[] = [];
  let merged: unknown = DEFAULT_CONFIG;
  // The istio block is Istio's own settings, mapped below; the rest of the file is ours.
  const content = input.file?.content;
  const { istio: fileIstio, ...fileRest } = isObject(content) ? content : { istio: undefined };
  const derived = fromIstio(input, fileIstio, fileRest, problems);
  const istio = derived?.partial;
  if (istio !== undefined) merged = merge(merged, istio);
  if (input.file !== undefined) {
    const fileProblems: string[] = [];
    validatePartial(isObject(content) ? fileRest : content, SCHEMA, "", fileProblems);
    problems.push(...fileProblems.map((p) => `${input.file?.source}: ${p}`));
    if (fileProblems.length === 0) merged = merge(merged, fileRest);
  }
  // Resources from Istio's values are whole (a null there removes a default): they replace, not merge.
  for (const key of ["resources", "initResources"]) {
    const fromIstio = valueAt(istio, `sidecar.${key}`);
    if (fromIstio !== undefined && valueAt(fileRest, `sidecar.${key}`) === undefined && isObject(merged) && isObject(merged.sidecar)) {
      merged = { ...merged, sidecar: { ...merged.sidecar, [key]: fromIstio } };
    }
  }
  const overrides = overridesFromEnvAndFlags(input, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  merged = merge(merged, overrides);
  const config = structuredClone(merged) as Config;
  checkResourceOrder(config, problems);
  checkDefaultTemplates(config, problems);
  checkTls(config, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  // Named where the value came from: the file's own setting wins over Istio's.
  const istioSecrets = valueAt(fileRest, "sidecar.imagePullSecrets") === undefined ? derived?.sources.get("sidecar.imagePullSecrets") : undefined;
  const secretAt = (i: number) =>
    istioSecrets === undefined ? `${input.file?.source ?? "configuration"}: sidecar.imagePullSecrets[${i}]` : `${istioSecrets}[${i}] (as sidecar.imagePullSecrets)`;
  input.warnings?.push(...pullSecretWarnings(config.sidecar.imagePullSecrets, secretAt));
  return deepFreeze(config);
}
