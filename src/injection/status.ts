/**
 * The `sidecar.istio.io/status` annotation: Istio's record of what was injected, which we extend
 * with the template hash so stale pods can be found later.
 */

export interface SidecarStatus {
  readonly initContainers: readonly string[];
  readonly containers: readonly string[];
  readonly volumes: readonly string[];
  /** Istio writes null when there are none; kept for compatibility with its tooling. */
  readonly imagePullSecrets: readonly string[] | null;
  readonly revision: string;
  /** Hash of the sidecar template (configuration) that produced this injection. */
  readonly templateHash?: string;
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/** Parse the annotation; null when it is not a status record we understand. */
export function parseStatus(text: string | undefined): SidecarStatus | null {
  if (text === undefined || text === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const initContainers = v.initContainers ?? [];
  const containers = v.containers ?? [];
  const volumes = v.volumes ?? [];
  const pullSecrets = v.imagePullSecrets ?? null;
  if (!isStringList(initContainers) || !isStringList(containers) || !isStringList(volumes)) return null;
  if (pullSecrets !== null && !isStringList(pullSecrets)) return null;
  return {
    initContainers,
    containers,
    volumes,
    imagePullSecrets: pullSecrets,
    revision: typeof v.revision === "string" ? v.revision : "",
    ...(typeof v.templateHash === "string" && { templateHash: v.templateHash }),
  };
}

const formatted = new WeakMap<SidecarStatus, string>();

/** Serialize in Istio's field order (cached for frozen, shared records). */
export function formatStatus(status: SidecarStatus): string {
  const cached = formatted.get(status);
  if (cached !== undefined) return cached;
  const text = serializeStatus(status);
  if (Object.isFrozen(status)) formatted.set(status, text);
  return text;
}

function serializeStatus(status: SidecarStatus): string {
  return JSON.stringify({
    initContainers: status.initContainers,
    containers: status.containers,
    volumes: status.volumes,
    imagePullSecrets: status.imagePullSecrets,
    revision: status.revision,
    templateHash: status.templateHash,
  });
}
