/**
 * The names of the injection templates and the checks of the templates a configuration declares
 * (src/injection/templates.ts renders them). Here, below the core, because the configuration is
 * validated once when it loads: a template a pod may ask for, and the shape of an overlay, are
 * facts of the configuration.
 */
import { ContainerName } from "./config.js";
import { isObject } from "../json-values.js";
import { isDnsLabel, isQualifiedName } from "../validation/formats.js";

export const BuiltinTemplate = {
  Sidecar: "sidecar",
  Gateway: "gateway",
  GrpcAgent: "grpc-agent",
  GrpcSimple: "grpc-simple",
} as const;
export type ProxyTemplate = typeof BuiltinTemplate.Sidecar | typeof BuiltinTemplate.Gateway | typeof BuiltinTemplate.GrpcAgent;

/** The templates that render the proxy (a pod names at most one). */
export const PROXY_TEMPLATES: readonly ProxyTemplate[] = [BuiltinTemplate.Sidecar, BuiltinTemplate.Gateway, BuiltinTemplate.GrpcAgent];

/** A container name in an overlay that stands for every app container. */
export const EVERY_APP_CONTAINER = "*";

const SPEC_FIELDS_NOT_OVERLAID = new Set(["nodeName", "hostNetwork", "serviceAccountName", "serviceAccount", "overhead"]);

function checkNamedList(value: unknown, path: string, allowEvery: boolean, problems: string[]): void {
  if (!Array.isArray(value)) {
    problems.push(`${path} must be a list`);
    return;
  }
  const seen = new Set<string>();
  value.forEach((item, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(item)) return void problems.push(`${at} must be an object`);
    const name = item.name;
    if (typeof name !== "string" || !(isDnsLabel(name) || (allowEvery && name === EVERY_APP_CONTAINER))) {
      problems.push(`${at}.name must be a DNS label${allowEvery ? ' or "*" (every app container)' : ""}`);
    } else if (seen.has(name)) problems.push(`${at}.name ${JSON.stringify(name)} appears twice`);
    else seen.add(name);
    if (typeof name === "string" && name === ContainerName.Proxy && path.endsWith("containers")) {
      problems.push(`${at} names ${ContainerName.Proxy}: the proxy comes from the sidecar, gateway or grpc-agent template`);
    }
  });
}

function checkStringMap(value: unknown, path: string, problems: string[]): void {
  if (!isObject(value)) return void problems.push(`${path} must be a map of strings`);
  for (const [k, v] of Object.entries(value)) {
    if (!isQualifiedName(k)) problems.push(`${path} key ${JSON.stringify(k)} is not a valid key`);
    if (typeof v !== "string") problems.push(`${path}[${JSON.stringify(k)}] must be a string`);
  }
}

/** Validate one configured template (a partial pod); problems are pushed with their path. */
export function checkOverlayTemplate(value: unknown, path: string, problems: string[]): void {
  if (!isObject(value)) return void problems.push(`${path} must be an object with metadata and/or spec`);
  for (const key of Object.keys(value)) {
    if (key !== "metadata" && key !== "spec") problems.push(`${path}.${key} is not allowed (only metadata and spec)`);
  }
  if (value.metadata !== undefined) {
    if (!isObject(value.metadata)) problems.push(`${path}.metadata must be an object`);
    else {
      for (const key of Object.keys(value.metadata)) {
        if (key !== "labels" && key !== "annotations") problems.push(`${path}.metadata.${key} is not allowed (only labels and annotations)`);
      }
      if (value.metadata.labels !== undefined) checkStringMap(value.metadata.labels, `${path}.metadata.labels`, problems);
      if (value.metadata.annotations !== undefined) checkStringMap(value.metadata.annotations, `${path}.metadata.annotations`, problems);
    }
  }
  if (value.spec !== undefined) {
    if (!isObject(value.spec)) return void problems.push(`${path}.spec must be an object`);
    for (const key of Object.keys(value.spec)) {
      if (SPEC_FIELDS_NOT_OVERLAID.has(key)) problems.push(`${path}.spec.${key} cannot be set by a template`);
    }
    if (value.spec.containers !== undefined) checkNamedList(value.spec.containers, `${path}.spec.containers`, true, problems);
    if (value.spec.initContainers !== undefined) checkNamedList(value.spec.initContainers, `${path}.spec.initContainers`, false, problems);
    if (value.spec.volumes !== undefined) checkNamedList(value.spec.volumes, `${path}.spec.volumes`, false, problems);
  }
}

/** Every template name a pod may ask for under this configuration. */
export function templateNames(configured: Readonly<Record<string, unknown>>): ReadonlySet<string> {
  return new Set<string>([...Object.values(BuiltinTemplate), ...Object.keys(configured)]);
}

/**
 * Problems with a pod's (or the configuration's default) list of template names: unknown names and
 * more than one template that renders the proxy.
 */
export function checkTemplateList(names: readonly string[], known: ReadonlySet<string>, subject: string): string[] {
  const problems: string[] = [];
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    problems.push(`${subject} names unknown template${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => JSON.stringify(n)).join(", ")}; known: ${[...known].join(", ")}`);
  }
  const proxies = names.filter((n) => (PROXY_TEMPLATES as readonly string[]).includes(n));
  if (new Set(proxies).size > 1) {
    problems.push(`${subject} names ${proxies.join(" and ")}, which each render the proxy; choose one`);
  }
  return problems;
}
