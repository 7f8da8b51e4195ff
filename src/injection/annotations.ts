/**
 * Per-pod overrides read from annotations, validated by a table of validators. Every problem is
 * collected and reported at once; an invalid value denies the pod (as Istio does) with a message
 * naming the annotation, the value and the accepted form.
 */
import {
  Annotation,
  type PodInterceptionMode,
  PodInterceptionModes,
  type ProxyLogLevel,
  ProxyLogLevels,
  type Resources,
} from "../config/config.js";
import { parse as parseYaml } from "yaml";
import { InvalidAnnotationError } from "../errors.js";
import {
  CIDR_LIST_FORM,
  EXCLUDE_CIDR_LIST_FORM,
  IMAGE_FORM,
  PORT_LIST_FORM,
  QUANTITY_FORM,
  isCidrList,
  isExcludeCidrList,
  isDnsLabel,
  isImageRef,
  isPortList,
  isQuantity,
  parseQuantity,
} from "../validation/formats.js";
import { type StringMap, lookup } from "./pod.js";
import { parseGoBool } from "./prometheus.js";
import { checkTemplateList, templateNames } from "./templates.js";

const BUILTIN_TEMPLATE_NAMES = templateNames({});

/** The validated overrides of one pod. Absent fields fall back to the configuration. */
export interface PodOverrides {
  readonly proxyImage?: string;
  readonly proxyCPU?: string;
  readonly proxyMemory?: string;
  readonly proxyCPULimit?: string;
  readonly proxyMemoryLimit?: string;
  readonly logLevel?: ProxyLogLevel;
  readonly componentLogLevel?: string;
  readonly agentLogLevel?: string;
  /** NONE: no traffic capture (no istio-init). */
  readonly interceptionMode?: PodInterceptionMode;
  /** status.sidecar.istio.io/port: the agent's status port; 0 turns the proxy's probes off. */
  readonly statusPort?: number;
  readonly readinessInitialDelaySeconds?: number;
  readonly readinessPeriodSeconds?: number;
  readonly readinessFailureThreshold?: number;
  /** Interfaces whose traffic is redirected as the pod's own (-k), e.g. a KubeVirt VM's. */
  readonly rerouteInterfaces?: string;
  /** Interfaces left out of capture (-c). */
  readonly excludeInterfaces?: string;
  /** inject.istio.io/templates: the templates to apply, in order. */
  readonly templates?: readonly string[];
  readonly includeOutboundIPRanges?: string;
  readonly excludeOutboundIPRanges?: string;
  readonly includeInboundPorts?: string;
  readonly excludeInboundPorts?: string;
  readonly includeOutboundPorts?: string;
  readonly excludeOutboundPorts?: string;
  readonly nativeSidecar?: boolean;
  /** proxy.istio.io/config: ProxyConfig fields merged into the proxy's PROXY_CONFIG. */
  readonly proxyConfig?: Readonly<Record<string, unknown>>;
  readonly prometheusMerge?: boolean;
  readonly rewriteAppProbers?: boolean;
  /** sidecar.istio.io/userVolume: volumes to add, by name. */
  readonly userVolumes?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** sidecar.istio.io/userVolumeMount: proxy mounts to add, by volume name. */
  readonly userVolumeMounts?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Values that Istio reads as a default instead of refusing: ignored, each with a sentence why. */
  readonly ignored?: readonly string[];
}

interface Validator {
  readonly field: keyof PodOverrides;
  readonly form: string;
  readonly valid: (value: string) => boolean;
  readonly parse?: (value: string) => unknown;
  /**
   * An invalid value is ignored with a warning (the default applies) instead of denying the pod:
   * for switches that Istio reads this way, so a pod Istio admits is admitted here too. `value`
   * is what Istio reads such a value as (absent: the default applies); `note` ends the warning.
   */
  readonly onInvalid?: { readonly value?: unknown; readonly note: string };
}

const IGNORED = { note: "ignored (as Istio does), the default applies." } as const;

const GO_BOOL_FORM = "true or false (also 1, t, TRUE, 0, f, FALSE, as Go reads booleans)";
const isGoBool = (v: string) => parseGoBool(v) !== undefined;
const UINT32_FORM = "a whole number 0-4294967295";
const isUint32 = (v: string) => /^\d{1,10}$/.test(v) && Number(v) <= 0xffffffff;
const INTERFACE_LIST_FORM = "a comma-separated list of interface names (a letter, then letters, digits, _ . -; at most 15 characters)";
const isInterfaceList = (v: string) =>
  v === "" || v.split(",").every((i) => /^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/.test(i.trim()));
const LOG_LEVEL_FORM = "log levels such as misc:error or default:info, comma-separated, without spaces";
const isLogLevelText = (v: string) => /^[A-Za-z0-9_.:,-]+$/.test(v);
const TEMPLATE_LIST_FORM = "a comma-separated list of template names";
const parseTemplateList = (v: string) =>
  v
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");

const oneOf = (values: readonly string[]) => (v: string) => values.includes(v);

/** A JSON object of objects keyed by DNS labels (userVolume), or null. */
function parseNamedObjects(value: string, check: (v: Record<string, unknown>) => boolean): Record<string, Record<string, unknown>> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  for (const [name, v] of Object.entries(parsed)) {
    if (!isDnsLabel(name) || typeof v !== "object" || v === null || Array.isArray(v) || !check(v as Record<string, unknown>)) return null;
  }
  return parsed as Record<string, Record<string, unknown>>;
}

const isMount = (v: Record<string, unknown>) =>
  typeof v.mountPath === "string" && v.mountPath.startsWith("/") && (v.readOnly === undefined || typeof v.readOnly === "boolean");

/** proxy.istio.io/config: a JSON or YAML object; holdApplicationUntilProxyStarts, if set, a boolean. */
function parseProxyConfig(value: string): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = parseYaml(value, { maxAliasCount: 0 });
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const hold = (parsed as Record<string, unknown>).holdApplicationUntilProxyStarts;
  if (hold !== undefined && typeof hold !== "boolean") return null;
  return parsed as Record<string, unknown>;
}

/** Annotation → validator. Order here is the order problems are reported in. */
export const ANNOTATION_VALIDATORS: Readonly<Record<string, Validator>> = {
  [Annotation.ProxyImage]: { field: "proxyImage", form: IMAGE_FORM, valid: isImageRef },
  [Annotation.ProxyCPU]: { field: "proxyCPU", form: QUANTITY_FORM, valid: isQuantity },
  [Annotation.ProxyMemory]: { field: "proxyMemory", form: QUANTITY_FORM, valid: isQuantity },
  [Annotation.ProxyCPULimit]: { field: "proxyCPULimit", form: QUANTITY_FORM, valid: isQuantity },
  [Annotation.ProxyMemoryLimit]: { field: "proxyMemoryLimit", form: QUANTITY_FORM, valid: isQuantity },
  [Annotation.LogLevel]: {
    field: "logLevel",
    form: `one of ${ProxyLogLevels.join(", ")}`,
    valid: oneOf(ProxyLogLevels),
  },
  [Annotation.ComponentLogLevel]: { field: "componentLogLevel", form: LOG_LEVEL_FORM, valid: isLogLevelText },
  [Annotation.AgentLogLevel]: { field: "agentLogLevel", form: LOG_LEVEL_FORM, valid: isLogLevelText },
  [Annotation.InterceptionMode]: {
    field: "interceptionMode",
    form: `one of ${PodInterceptionModes.join(", ")}`,
    valid: oneOf(PodInterceptionModes),
  },
  [Annotation.StatusPort]: {
    field: "statusPort",
    form: "a port 0-65535 (0 turns the proxy's probes off)",
    valid: (v) => /^\d{1,5}$/.test(v) && Number(v) <= 65535,
    parse: Number,
  },
  [Annotation.ReadinessInitialDelaySeconds]: { field: "readinessInitialDelaySeconds", form: UINT32_FORM, valid: isUint32, parse: Number },
  [Annotation.ReadinessPeriodSeconds]: { field: "readinessPeriodSeconds", form: UINT32_FORM, valid: isUint32, parse: Number },
  [Annotation.ReadinessFailureThreshold]: { field: "readinessFailureThreshold", form: UINT32_FORM, valid: isUint32, parse: Number },
  [Annotation.IncludeOutboundIPRanges]: { field: "includeOutboundIPRanges", form: CIDR_LIST_FORM, valid: isCidrList },
  [Annotation.ExcludeOutboundIPRanges]: { field: "excludeOutboundIPRanges", form: EXCLUDE_CIDR_LIST_FORM, valid: isExcludeCidrList },
  [Annotation.IncludeInboundPorts]: {
    field: "includeInboundPorts",
    form: `* or ${PORT_LIST_FORM}`,
    valid: (v) => isPortList(v, true),
  },
  [Annotation.ExcludeInboundPorts]: {
    field: "excludeInboundPorts",
    form: PORT_LIST_FORM,
    valid: (v) => isPortList(v, false),
  },
  [Annotation.IncludeOutboundPorts]: {
    field: "includeOutboundPorts",
    form: PORT_LIST_FORM,
    valid: (v) => isPortList(v, false),
  },
  [Annotation.ExcludeOutboundPorts]: {
    field: "excludeOutboundPorts",
    form: PORT_LIST_FORM,
    valid: (v) => isPortList(v, false),
  },
  [Annotation.ExcludeInterfaces]: { field: "excludeInterfaces", form: INTERFACE_LIST_FORM, valid: isInterfaceList },
  // The older name first: when both are set, istio.io/reroute-virtual-interfaces wins (as Istio).
  [Annotation.KubevirtInterfaces]: { field: "rerouteInterfaces", form: INTERFACE_LIST_FORM, valid: isInterfaceList },
  [Annotation.RerouteVirtualInterfaces]: { field: "rerouteInterfaces", form: INTERFACE_LIST_FORM, valid: isInterfaceList },
  [Annotation.Templates]: {
    field: "templates",
    form: TEMPLATE_LIST_FORM,
    valid: (v) => parseTemplateList(v).length > 0,
    parse: parseTemplateList,
  },
  [Annotation.ProxyConfig]: {
    field: "proxyConfig",
    form: "a JSON or YAML object of ProxyConfig fields (holdApplicationUntilProxyStarts: true|false)",
    valid: (v) => parseProxyConfig(v) !== null,
    parse: (v) => parseProxyConfig(v),
  },
  [Annotation.PrometheusMergeMetrics]: { field: "prometheusMerge", form: GO_BOOL_FORM, valid: isGoBool, parse: parseGoBool },
  [Annotation.RewriteAppProbers]: {
    field: "rewriteAppProbers",
    form: GO_BOOL_FORM,
    valid: isGoBool,
    parse: parseGoBool,
    onInvalid: IGNORED,
  },
  [Annotation.UserVolume]: {
    field: "userVolumes",
    form: 'a JSON object of volumes by name, e.g. {"certs":{"secret":{"secretName":"certs"}}}',
    valid: (v) => parseNamedObjects(v, () => true) !== null,
    parse: (v) => parseNamedObjects(v, () => true),
  },
  [Annotation.UserVolumeMount]: {
    field: "userVolumeMounts",
    form: 'a JSON object of mounts by volume name, e.g. {"certs":{"mountPath":"/etc/certs","readOnly":true}}',
    valid: (v) => parseNamedObjects(v, isMount) !== null,
    parse: (v) => parseNamedObjects(v, isMount),
  },
  // Istio turns native sidecars on for any value but "false"; a value that is not a boolean is
  // read that way too, with a warning.
  [Annotation.NativeSidecar]: {
    field: "nativeSidecar",
    form: "true or false",
    valid: oneOf(["true", "false"]),
    parse: (v) => v !== "false",
    onInvalid: { value: true, note: 'read as true (any value but "false" turns it on, as in Istio).' },
  },
};

/** The validators as a list, made once (readOverrides runs for every pod). */
const VALIDATOR_ENTRIES = Object.entries(ANNOTATION_VALIDATORS);

function show(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

/**
 * Read and validate every override annotation on a pod. A proxy request above its limit, both
 * from annotations, is caught here and not by the API server later.
 */
export function readOverrides(annotations: StringMap | undefined, knownTemplates: ReadonlySet<string> = BUILTIN_TEMPLATE_NAMES): PodOverrides {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const [key, validator] of VALIDATOR_ENTRIES) {
    const raw = lookup(annotations, key);
    if (raw === undefined) continue;
    const value = raw.trim();
    if (!validator.valid(value)) {
      const lenient = validator.onInvalid;
      if (lenient) {
        ignored.push(`${key}=${show(raw)} is not ${validator.form}; ${lenient.note}`);
        if (lenient.value !== undefined) out[validator.field] = lenient.value;
      } else {
        problems.push(`${key}=${show(raw)} is not valid: expected ${validator.form}`);
      }
      continue;
    }
    out[validator.field] = validator.parse ? validator.parse(value) : value;
  }
  if (ignored.length > 0) out.ignored = ignored;
  if (Array.isArray(out.templates)) {
    const subject = `${Annotation.Templates}=${show(lookup(annotations, Annotation.Templates) ?? "")}`;
    problems.push(...checkTemplateList(out.templates as string[], knownTemplates, subject));
  }
  const overrides = out as PodOverrides;
  // Resource annotations replace the configured resources (as Istio): only they can contradict
  // each other. The configured resources were checked when the configuration loaded.
  const resources = resourcesFromAnnotations(overrides) ?? { requests: {}, limits: {} };
  for (const r of ["cpu", "memory"] as const) {
    const req = resources.requests[r];
    const lim = resources.limits[r];
    if (req !== undefined && lim !== undefined && parseQuantity(req) > parseQuantity(lim)) {
      const reqKey = r === "cpu" ? Annotation.ProxyCPU : Annotation.ProxyMemory;
      const limKey = r === "cpu" ? Annotation.ProxyCPULimit : Annotation.ProxyMemoryLimit;
      problems.push(`the proxy's ${r} request ${req} (${reqKey}) exceeds its limit ${lim} (${limKey}); raise the limit too`);
    }
  }
  if (problems.length > 0) throw new InvalidAnnotationError(problems);
  return overrides;
}

/**
 * userVolume / userVolumeMount against the pod: new volume names must be free, and every mount
 * must name a volume the pod will have. Returns the problems (empty when fine).
 */
export function checkUserVolumes(o: PodOverrides, podVolumes: readonly string[], injectedVolumes: readonly string[]): string[] {
  const problems: string[] = [];
  const taken = new Set([...podVolumes, ...injectedVolumes]);
  for (const name of Object.keys(o.userVolumes ?? {})) {
    if (taken.has(name)) problems.push(`${Annotation.UserVolume} adds volume ${JSON.stringify(name)}, which the pod already has`);
  }
  const available = new Set([...taken, ...Object.keys(o.userVolumes ?? {})]);
  for (const name of Object.keys(o.userVolumeMounts ?? {})) {
    if (!available.has(name)) problems.push(`${Annotation.UserVolumeMount} mounts volume ${JSON.stringify(name)}, which the pod does not have`);
  }
  return problems;
}

/**
 * The proxy's resources when any resource annotation is set: exactly what the annotations give
 * (the configured requests and limits are dropped, as Istio does); null when none is set.
 */
export function resourcesFromAnnotations(o: PodOverrides): Resources | null {
  if (o.proxyCPU === undefined && o.proxyMemory === undefined && o.proxyCPULimit === undefined && o.proxyMemoryLimit === undefined) {
    return null;
  }
  return {
    requests: {
      ...(o.proxyCPU !== undefined && { cpu: o.proxyCPU }),
      ...(o.proxyMemory !== undefined && { memory: o.proxyMemory }),
    },
    limits: {
      ...(o.proxyCPULimit !== undefined && { cpu: o.proxyCPULimit }),
      ...(o.proxyMemoryLimit !== undefined && { memory: o.proxyMemoryLimit }),
    },
  };
}
