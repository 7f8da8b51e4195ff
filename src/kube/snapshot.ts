/**
 * A read-only snapshot of what the audit needs from a live cluster: namespaces, pods, and the
 * workloads that own pods. Objects are returned as plain JSON (the client's models use the wire
 * field names; a JSON round trip turns their timestamps back into strings).
 * API calls: list namespaces, pods, replicasets, deployments, statefulsets, daemonsets, jobs
 * (cluster-wide), and mutatingwebhookconfigurations when allowed (else the audit skips those checks).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError } from "../errors.js";

type Json = Record<string, unknown>;

export interface ClusterSnapshot {
  readonly objects: Json[];
  /** False when the webhook configurations could not be listed (forbidden): their checks are skipped. */
  readonly webhookConfigsListed: boolean;
}

export async function listClusterObjects(kc: KubeConfig): Promise<ClusterSnapshot> {
  const k8s = await import("@kubernetes/client-node");
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const lists: Array<[string, () => Promise<{ items: unknown[] }>]> = [
    ["Namespace", () => core.listNamespace()],
    ["Pod", () => core.listPodForAllNamespaces()],
    ["ReplicaSet", () => apps.listReplicaSetForAllNamespaces()],
    ["Deployment", () => apps.listDeploymentForAllNamespaces()],
    ["StatefulSet", () => apps.listStatefulSetForAllNamespaces()],
    ["DaemonSet", () => apps.listDaemonSetForAllNamespaces()],
    ["Job", () => batch.listJobForAllNamespaces()],
  ];
  const out: Json[] = [];
  for (const [kind, list] of lists) {
    let result: { items: unknown[] };
    try {
      result = await list();
    } catch (err) {
      const code = (err as { code?: number }).code;
      throw new KubeApiError(`list ${kind.toLowerCase()}s failed${code ? ` (HTTP ${code})` : ""}: ${(err as Error).message}`, code, err);
    }
    for (const item of result.items) out.push({ ...(JSON.parse(JSON.stringify(item)) as Json), kind });
  }
  let webhookConfigsListed = true;
  try {
    const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
    const mwcs = await admission.listMutatingWebhookConfiguration();
    for (const item of mwcs.items) out.push({ ...(JSON.parse(JSON.stringify(item)) as Json), kind: "MutatingWebhookConfiguration" });
  } catch {
    webhookConfigsListed = false;
  }
  return { objects: out, webhookConfigsListed };
}
