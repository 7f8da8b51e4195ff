/**
 * What the `rollout` command reads and writes beyond the audit's snapshot, with the caller's own
 * credentials (api-calls.ts, feature rollout-cli): the PodDisruptionBudgets (listed in pages), a
 * workload read by name to follow its rollout, the pods of one workload (listed in pages, by its
 * selector), and the restart itself: the pod template annotation `kubectl.kubernetes.io/restartedAt`
 * sent as a strategic merge patch, byte for byte what `kubectl rollout restart` sends. A refusal
 * names the verb and the resource that was refused, with the API server's own message.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError, NotFoundError } from "../errors.js";
import { ApiRequestError, getJson, listInPages } from "./pager.js";
import { trimForReports } from "./trim.js";

type Json = Record<string, unknown>;

export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet";

const RESOURCES: Readonly<Record<WorkloadKind, string>> = { Deployment: "deployments", StatefulSet: "statefulsets", DaemonSet: "daemonsets" };

/** The API server's answer to a refused call, as one sentence naming the verb and the resource. */
function failure(what: string, err: unknown): KubeApiError {
  if (err instanceof ApiRequestError) return new KubeApiError(`${what} failed${err.httpStatus ? ` (HTTP ${err.httpStatus})` : ""}: ${err.detail}`, err.httpStatus, err);
  const code = typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : undefined;
  const body = (err as { body?: unknown }).body;
  let detail = (err as Error).message ?? String(err);
  try {
    const status = typeof body === "string" ? (JSON.parse(body) as { message?: unknown }) : (body as { message?: unknown } | undefined);
    if (typeof status?.message === "string") detail = status.message;
  } catch {
    // not a Status body: keep the client's message
  }
  return new KubeApiError(`${what} failed${code ? ` (HTTP ${code})` : ""}: ${detail}`, code, err);
}

function path(kind: WorkloadKind, namespace: string, name?: string): string {
  const base = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${RESOURCES[kind]}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** What the planner reads of a PodDisruptionBudget. */
function trimBudget(o: Json): Json {
  const m = (o.metadata ?? {}) as Json;
  const spec = (o.spec ?? {}) as Json;
  const status = (o.status ?? {}) as Json;
  return {
    kind: "PodDisruptionBudget",
    metadata: { name: m.name, namespace: m.namespace },
    spec: { ...(spec.selector !== undefined && { selector: spec.selector }) },
    status: Object.fromEntries(["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"].flatMap((k) => (status[k] === undefined ? [] : [[k, status[k]]]))),
  };
}

/** The PodDisruptionBudgets of a namespace, or of every namespace, in pages. */
export async function listDisruptionBudgets(kc: KubeConfig, namespace?: string): Promise<Json[]> {
  const out: Json[] = [];
  const listPath = namespace === undefined ? "/apis/policy/v1/poddisruptionbudgets" : `/apis/policy/v1/namespaces/${encodeURIComponent(namespace)}/poddisruptionbudgets`;
  try {
    await listInPages(kc, listPath, { onPage: (items) => items.forEach((o) => out.push(trimBudget(o))), onRestart: () => void out.splice(0) });
  } catch (err) {
    throw failure(`list poddisruptionbudgets.policy${namespace === undefined ? "" : ` in namespace ${namespace}`}`, err);
  }
  return out;
}

/** A workload as the API server has it now (plain JSON, trimmed as the snapshot's); NotFoundError when gone. */
export async function getWorkload(kc: KubeConfig, kind: WorkloadKind, namespace: string, name: string): Promise<Json> {
  try {
    return trimForReports(kind, await getJson(kc, path(kind, namespace, name)));
  } catch (err) {
    if (err instanceof ApiRequestError && err.httpStatus === 404) throw new NotFoundError(`${kind.toLowerCase()} ${name} not found in namespace ${namespace}`);
    throw failure(`get ${RESOURCES[kind]}.apps ${namespace}/${name}`, err);
  }
}

/** The label selector's equality terms as a query (k=v,...); set-based terms are checked by the caller. */
export function equalitySelector(matchLabels: Readonly<Record<string, string>> | undefined): string | undefined {
  const terms = Object.entries(matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  return terms.length === 0 ? undefined : terms.join(",");
}

/** The pods of a namespace that carry `labelSelector` (equality terms), in pages, trimmed as the snapshot's. */
export async function listPodsBySelector(kc: KubeConfig, namespace: string, labelSelector: string | undefined): Promise<Json[]> {
  const out: Json[] = [];
  try {
    await listInPages(kc, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, {
      ...(labelSelector !== undefined && { labelSelector }),
      onPage: (items) => items.forEach((o) => out.push(trimForReports("Pod", o))),
      onRestart: () => void out.splice(0),
    });
  } catch (err) {
    throw failure(`list pods in namespace ${namespace}`, err);
  }
  return out;
}

/** The body `kubectl rollout restart` sends (a strategic merge patch of the pod template's annotations). */
export function restartPatch(restartedAt: string): Json {
  return { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": restartedAt } } } } };
}

/**
 * Restart a workload as `kubectl rollout restart` does; returns the workload's generation after
 * the patch (its controller has acted on the restart once it observes that generation).
 */
export async function restartWorkload(kc: KubeConfig, kind: WorkloadKind, namespace: string, name: string, restartedAt: string): Promise<number> {
  const k8s = await import("@kubernetes/client-node");
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const options = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch);
  const body = restartPatch(restartedAt);
  try {
    const patched =
      kind === "Deployment"
        ? await apps.patchNamespacedDeployment({ name, namespace, body }, options)
        : kind === "StatefulSet"
          ? await apps.patchNamespacedStatefulSet({ name, namespace, body }, options)
          : await apps.patchNamespacedDaemonSet({ name, namespace, body }, options);
    return patched.metadata?.generation ?? 0;
  } catch (err) {
    throw failure(`patch ${RESOURCES[kind]}.apps ${namespace}/${name}`, err);
  }
}
