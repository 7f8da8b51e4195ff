/**
 * Which workload a pod belongs to, derived from its owner references the way Istio does
 * (a ReplicaSet with a pod-template-hash suffix is a Deployment; a Job with a timestamp suffix
 * belongs to a CronJob).
 */
import { Label } from "../config/config.js";
import { type Pod, lookup } from "./pod.js";

/** Where each kind that carries pods keeps its pod template (a Pod is its own template). */
export const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  ReplicationController: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

/** The API group of each workload kind, as an AdmissionReview names it. */
export const WORKLOAD_GROUPS: Readonly<Record<string, string>> = {
  Deployment: "apps",
  StatefulSet: "apps",
  DaemonSet: "apps",
  ReplicaSet: "apps",
  ReplicationController: "",
  Job: "batch",
  CronJob: "batch",
};

export interface WorkloadRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
}

const CRONJOB_SUFFIX = /^(.+)-\d{8,11}$/;

export function workloadOf(pod: Pod): WorkloadRef {
  const owners = pod.metadata.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller === true) ?? owners[0];
  if (owner && typeof owner.name === "string" && typeof owner.kind === "string") {
    const apiVersion = typeof owner.apiVersion === "string" ? owner.apiVersion : "v1";
    if (owner.kind === "ReplicaSet") {
      const hash = lookup(pod.metadata.labels, Label.PodTemplateHash);
      if (hash && owner.name.endsWith(`-${hash}`)) {
        return { apiVersion: "apps/v1", kind: "Deployment", name: owner.name.slice(0, -hash.length - 1) };
      }
    }
    if (owner.kind === "Job") {
      const m = CRONJOB_SUFFIX.exec(owner.name);
      if (m?.[1]) return { apiVersion: "batch/v1", kind: "CronJob", name: m[1] };
    }
    return { apiVersion, kind: owner.kind, name: owner.name };
  }
  const name = pod.metadata.name || (pod.metadata.generateName ?? "").replace(/-$/, "") || "unknown";
  return { apiVersion: "v1", kind: "Pod", name };
}

/** True when the pod runs to completion as part of a Job (directly or through a CronJob). */
export function isJobPod(pod: Pod): boolean {
  const owners = pod.metadata.ownerReferences ?? [];
  if (owners.some((o) => o.kind === "Job")) return true;
  const labels = pod.metadata.labels;
  return lookup(labels, Label.JobName) !== undefined || lookup(labels, Label.LegacyJobName) !== undefined;
}
