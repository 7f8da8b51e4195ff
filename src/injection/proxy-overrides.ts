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

/**
 * The remembered user container, from the annotation in Istio's format
 * ({"containers":[...]} or {"initContainers":[...]}) or in the format of versions before 0.3 (the
 * container itself).
 */
function rememberedProxy(text: string): Json | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(parsed)) return null;
  if (Array.isArray(parsed.containers) || Array.isArray(parsed.initContainers)) {
    const all = [...(Array.isArray(parsed.containers) ? parsed.containers : []), ...(Array.isArray(parsed.initContainers) ? parsed.initContainers : [])];
    const own = all.find((c) => isObject(c) && c.name === ContainerName.Proxy);
    return isObject(own) ? withoutAutoImage(own) : null;
  }
  return parsed.name === ContainerName.Proxy || parsed.name === undefined ? withoutAutoImage(parsed) : null;
}

/** The annotation that remembers the user's istio-proxy, in Istio's format. */
export function formatProxyOverrides(user: Json, native: boolean): string {
  return JSON.stringify(native ? { initContainers: [user] } : { containers: [user] });
}

/**
 * The user's proxy fields for this pod: its own istio-proxy (container or init container) on first
 * injection, or the remembered ones when the injector re-injects a pod it injected before. Null
 * when none. An image of "auto" is dropped, so the configured image applies.
 */
export function userProxyOf(pod: Pod, previous: SidecarStatus | null): Json | null {
  const ours = previous !== null && [...previous.containers, ...previous.initContainers].includes(ContainerName.Proxy);
  if (!ours) {
    const own = pod.spec.containers.find((c) => c.name === ContainerName.Proxy) ?? pod.spec.initContainers?.find((c) => c.name === ContainerName.Proxy);
    return own ? withoutAutoImage({ ...own }) : null;
  }
  const remembered = lookup(pod.metadata.annotations, Annotation.ProxyOverrides);
  return remembered === undefined ? null : rememberedProxy(remembered);
}
