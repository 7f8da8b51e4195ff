/**
 * Learn the cluster's Kubernetes version once at startup, to resolve `nativeSidecars: auto`
 * (native sidecars — init containers with restartPolicy: Always — are on by default from 1.29).
 */
import { KubeApiError } from "../errors.js";
import type { KubeClients } from "./client.js";

export interface ClusterVersion {
  readonly major: number;
  readonly minor: number;
  readonly gitVersion: string;
}

/** "1", "29+" (GKE/EKS append "+") → numbers. */
function toNumber(text: string | undefined): number {
  const m = /^(\d+)/.exec(text ?? "");
  return m ? Number(m[1]) : Number.NaN;
}

export const NATIVE_SIDECAR_MIN_MINOR = 29;

export function supportsNativeSidecars(v: ClusterVersion): boolean {
  return v.major > 1 || (v.major === 1 && v.minor >= NATIVE_SIDECAR_MIN_MINOR);
}

/** GET /version; throws KubeApiError on failure or timeout. */
export async function fetchClusterVersion(clients: KubeClients, timeoutMs: number): Promise<ClusterVersion> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KubeApiError(`GET /version timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const info = await Promise.race([clients.version.getCode(), timeout]);
    const major = toNumber(info.major);
    const minor = toNumber(info.minor);
    if (Number.isNaN(major) || Number.isNaN(minor)) {
      throw new KubeApiError(`GET /version returned an unreadable version (${info.major}.${info.minor})`);
    }
    return { major, minor, gitVersion: info.gitVersion };
  } catch (err) {
    if (err instanceof KubeApiError) throw err;
    const code = (err as { code?: number }).code;
    throw new KubeApiError(`GET /version failed: ${(err as Error).message}`, code, err);
  } finally {
    clearTimeout(timer);
  }
}
