/**
 * The only module that constructs Kubernetes API clients (@kubernetes/client-node 1.4, ESM).
 * In a pod: in-cluster config; elsewhere: the KUBECONFIG file; neither: no cluster (null).
 * The library is loaded on first use: it adds about 70 MB of resident memory, which a server
 * without a cluster (local runs, benchmarks) should not pay.
 */
import type { KubeConfig, VersionApi } from "@kubernetes/client-node";

/** How to reach a cluster, as read from the environment by the config loader. */
export type ClusterAccess =
  | { readonly kind: "in-cluster" }
  | { readonly kind: "kubeconfig"; readonly path: string }
  | { readonly kind: "none" };

/** Read cluster access from an environment map (called by the config edge only). */
export function clusterAccessFrom(env: Readonly<Record<string, string | undefined>>): ClusterAccess {
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return { kind: "in-cluster" };
  const path = env.KUBECONFIG?.split(":").find((p) => p !== "");
  if (path) return { kind: "kubeconfig", path };
  return { kind: "none" };
}

export interface KubeClients {
  readonly config: KubeConfig;
  readonly version: VersionApi;
}

export async function kubeConfigFor(access: ClusterAccess): Promise<KubeConfig | null> {
  if (access.kind === "none") return null;
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  if (access.kind === "in-cluster") kc.loadFromCluster();
  else kc.loadFromFile(access.path);
  return kc;
}

export async function makeKubeClients(kc: KubeConfig): Promise<KubeClients> {
  const { VersionApi } = await import("@kubernetes/client-node");
  return { config: kc, version: kc.makeApiClient(VersionApi) };
}

/**
 * The bearer token the current user of `kc` sends (a token, a token file, in-cluster, an exec or
 * auth-provider plugin), or null when it authenticates otherwise (a client certificate, basic auth).
 */
export async function bearerTokenOf(kc: KubeConfig): Promise<string | null> {
  const opts: { headers?: Record<string, unknown> } = {};
  await kc.applyToHTTPSOptions(opts as Parameters<KubeConfig["applyToHTTPSOptions"]>[0]);
  const header = opts.headers?.Authorization ?? opts.headers?.authorization;
  const m = typeof header === "string" ? /^Bearer (\S+)$/i.exec(header) : null;
  return m?.[1] ?? null;
}
