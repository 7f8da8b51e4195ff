/**
 * The user's own istio-proxy container, merged over the rendered one (the user's fields win), as
 * Istio does: lists keyed by identity are merged (env by name, ports by containerPort, volume
 * mounts by mountPath), resources and securityContext field by field, everything else replaced.
 * The user's container is remembered in an annotation so a re-injection applies it again.
 */
import { Annotation, ContainerName } from "../config/config.js";
import type { Container, Pod } from "./pod.js";
import { lookup } from "./pod.js";
import type { SidecarStatus } from "./status.js";
import { isObject } from "../json-values.js";

type Json = Record<string, unknown>;


function mergeBy(key: string, base: unknown, user: unknown): unknown {
  if (!Array.isArray(user)) return user;
  if (!Array.isArray(base)) return user;
  const out: unknown[] = [...base];
  for (const item of user) {
    const id = isObject(item) ? item[key] : undefined;
    const at = id === undefined ? -1 : out.findIndex((b) => isObject(b) && b[key] === id);
    if (at >= 0) out[at] = item;
    else out.push(item);
  }
  return out;
}

const BY_KEY: Readonly<Record<string, string>> = { env: "name", ports: "containerPort", volumeMounts: "mountPath" };

/** A container with another's fields applied over it (the user's istio-proxy, a template's container). */
export function mergeContainer(rendered: Container, user: Json): Container {
  const out: Json = { ...rendered };
  for (const [field, value] of Object.entries(user)) {
    if (field === "name" || value === undefined) continue;
    const key = BY_KEY[field];
    if (key !== undefined) out[field] = mergeBy(key, out[field], value);
    else if (field === "resources" && isObject(value) && isObject(out.resources)) {
      const r = out.resources;
      out.resources = {
        ...r,
        ...value,
        ...(isObject(value.requests) && { requests: { ...(isObject(r.requests) ? r.requests : {}), ...value.requests } }),
        ...(isObject(value.limits) && { limits: { ...(isObject(r.limits) ? r.limits : {}), ...value.limits } }),
      };
    } else if (field === "securityContext" && isObject(value) && isObject(out.securityContext)) {
      out.securityContext = { ...out.securityContext, ...value };
    } else {
      out[field] = value;
    }
  }
  return out as Container;
}

/** An image of "auto" on the user's istio-proxy means "the configured proxy image" (as Istio). */
const AUTO_IMAGE = "auto";

function withoutAutoImage(c: Json): Json {
  if (c.image !== AUTO_IMAGE) return c;
  const { image: _auto, ...rest } = c;
  return rest;
}

/** The user's own containers the injection merged into, as istiod records them in proxy.istio.io/overrides. */
export interface UserOverrides {
  readonly containers: readonly Json[];
  readonly initContainers: readonly Json[];
}

export const NO_OVERRIDES: UserOverrides = Object.freeze({ containers: [], initContainers: [] });

/**
 * The record of proxy.istio.io/overrides: Istio's format ({"containers":[...],"initContainers":[...]}),
 * or the format of versions before 0.3 (the user's istio-proxy itself). Null when unreadable.
 */
export function readOverridesRecord(text: string | undefined): UserOverrides | null {
  if (text === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(parsed)) return null;
  if (Array.isArray(parsed.containers) || Array.isArray(parsed.initContainers)) {
    const named = (list: unknown): Json[] => (Array.isArray(list) ? list.filter((c): c is Json => isObject(c) && typeof c.name === "string") : []);
    return { containers: named(parsed.containers), initContainers: named(parsed.initContainers) };
  }
  if (parsed.name === ContainerName.Proxy || parsed.name === undefined) return { containers: [{ ...parsed, name: ContainerName.Proxy }], initContainers: [] };
  return null;
}

/** The record's container of that name (from either list), without an "auto" image. */
function remembered(pod: Pod, name: string): Json | null {
  const record = readOverridesRecord(lookup(pod.metadata.annotations, Annotation.ProxyOverrides));
  if (record === null) return null;
  const own = [...record.containers, ...record.initContainers].find((c) => c.name === name);
  return own === undefined ? null : withoutAutoImage(own);
}

/** The annotation's text for the user's containers, in Istio's format (empty lists left out). */
export function formatOverrides(o: UserOverrides): string {
  return JSON.stringify({
    ...(o.containers.length > 0 && { containers: o.containers }),
    ...(o.initContainers.length > 0 && { initContainers: o.initContainers }),
  });
}

/** Whether a previous injection (by its status record) added the container of that name. */
function addedBefore(previous: SidecarStatus | null, name: string): boolean {
  return previous !== null && [...previous.containers, ...previous.initContainers].includes(name);
}

/**
 * The user's proxy fields for this pod: its own istio-proxy (container or init container) on first
 * injection, or the remembered ones when the injector re-injects a pod it injected before. Null
 * when none. An image of "auto" is dropped, so the configured image applies.
 */
export function userProxyOf(pod: Pod, previous: SidecarStatus | null): Json | null {
  if (addedBefore(previous, ContainerName.Proxy)) return remembered(pod, ContainerName.Proxy);
  const own = pod.spec.containers.find((c) => c.name === ContainerName.Proxy) ?? pod.spec.initContainers?.find((c) => c.name === ContainerName.Proxy);
  return own ? withoutAutoImage({ ...own }) : null;
}

/**
 * The user's own istio-init (an init container of that name), merged over the rendered one as
 * istiod does (its image and args win); the remembered one on re-injection. Null when none.
 */
export function userInitOf(pod: Pod, previous: SidecarStatus | null): Json | null {
  if (addedBefore(previous, ContainerName.Init)) return remembered(pod, ContainerName.Init);
  const own = pod.spec.initContainers?.find((c) => c.name === ContainerName.Init);
  return own ? withoutAutoImage({ ...own }) : null;
}
