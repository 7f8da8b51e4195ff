/**
 * Per-pod overrides read from annotations, validated by a table of validators. Every problem is
 * collected and reported at once; an invalid value denies the pod (as Istio does) with a message
 * naming the annotation, the value and the accepted form.
 */
import {
  Annotation,
  type InterceptionMode,
  InterceptionModes,
  type ProxyLogLevel,
  ProxyLogLevels,
  type Resources,
} from "../config/config.js";
import { parse as parseYaml } from "yaml";
import { InvalidAnnotationError } from "../errors.js";
import {
  CIDR_LIST_FORM,
  IMAGE_FORM,
  PORT_LIST_FORM,
  QUANTITY_FORM,
  isCidrList,
  isDnsLabel,
  isImageRef,
  isPortList,
  isQuantity,
  parseQuantity,
} from "../validation/formats.js";
import { type StringMap, lookup } from "./pod.js";

/** The validated overrides of one pod. Absent fields fall back to the configuration. */
export interface PodOverrides {
  readonly proxyImage?: string;
  readonly proxyCPU?: string;
  readonly proxyMemory?: string;
  readonly proxyCPULimit?: string;
  readonly proxyMemoryLimit?: string;
  readonly logLevel?: ProxyLogLevel;
  readonly interceptionMode?: InterceptionMode;
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
}

interface Validator {
  readonly field: keyof PodOverrides;
  readonly form: string;
  readonly valid: (value: string) => boolean;
  readonly parse?: (value: string) => unknown;
}

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
  [Annotation.InterceptionMode]: {
    field: "interceptionMode",
    form: `one of ${InterceptionModes.join(", ")}`,
    valid: oneOf(InterceptionModes),
  },
  [Annotation.IncludeOutboundIPRanges]: { field: "includeOutboundIPRanges", form: CIDR_LIST_FORM, valid: isCidrList },
  [Annotation.ExcludeOutboundIPRanges]: { field: "excludeOutboundIPRanges", form: CIDR_LIST_FORM, valid: isCidrList },
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
  [Annotation.ProxyConfig]: {
    field: "proxyConfig",
    form: "a JSON or YAML object of ProxyConfig fields (holdApplicationUntilProxyStarts: true|false)",
    valid: (v) => parseProxyConfig(v) !== null,
    parse: (v) => parseProxyConfig(v),
  },
  [Annotation.PrometheusMergeMetrics]: {
    field: "prometheusMerge",
    form: "true or false",
    valid: oneOf(["true", "false"]),
    parse: (v) => v === "true",
  },
  [Annotation.RewriteAppProbers]: {
    field: "rewriteAppProbers",
    form: "true or false",
    valid: oneOf(["true", "false"]),
    parse: (v) => v === "true",
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
  [Annotation.NativeSidecar]: {
    field: "nativeSidecar",
    form: "true or false",
    valid: oneOf(["true", "false"]),
    parse: (v) => v === "true",
  },
};

function show(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

/**
 * Read and validate every override annotation on a pod. `base` is the configured resources, so a
 * request above its limit (after overrides are merged over the configuration) is caught here and
 * not by the API server later.
 */
export function readOverrides(annotations: StringMap | undefined, base: Resources): PodOverrides {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, validator] of Object.entries(ANNOTATION_VALIDATORS)) {
    const raw = lookup(annotations, key);
    if (raw === undefined) continue;
    const value = raw.trim();
    if (!validator.valid(value)) {
      problems.push(`${key}=${show(raw)} is not valid: expected ${validator.form}`);
      continue;
    }
    out[validator.field] = validator.parse ? validator.parse(value) : value;
  }
  const overrides = out as PodOverrides;
  const touchesResources =
    overrides.proxyCPU !== undefined ||
    overrides.proxyMemory !== undefined ||
    overrides.proxyCPULimit !== undefined ||
    overrides.proxyMemoryLimit !== undefined;
  // The configured resources were checked when the configuration loaded.
  const resources = touchesResources ? mergeResources(base, overrides) : { requests: {}, limits: {} };
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

/** Merge the resource overrides field by field over the configured resources. */
export function mergeResources(base: Resources, o: PodOverrides): Resources {
  return {
    requests: {
      ...base.requests,
      ...(o.proxyCPU !== undefined && { cpu: o.proxyCPU }),
      ...(o.proxyMemory !== undefined && { memory: o.proxyMemory }),
    },
    limits: {
      ...base.limits,
      ...(o.proxyCPULimit !== undefined && { cpu: o.proxyCPULimit }),
      ...(o.proxyMemoryLimit !== undefined && { memory: o.proxyMemoryLimit }),
    },
  };
}
