import { describe, expect, it } from "@jest/globals";
import { aPod } from "../../test/support/builders.js";
import { isJobPod, workloadOf } from "./workload.js";

const owner = (kind: string, name: string, apiVersion = "apps/v1") => ({ metadata: { ownerReferences: [{ apiVersion, kind, name, controller: true }] } });

describe("workloadOf", () => {
  it.each([
    ["a Deployment's pod", aPod({ labels: { "pod-template-hash": "7d8f9c" }, ...owner("ReplicaSet", "web-7d8f9c") }), "apps/v1 Deployment web"],
    ["a bare ReplicaSet's pod", aPod(owner("ReplicaSet", "web-rs")), "apps/v1 ReplicaSet web-rs"],
    ["a StatefulSet's pod", aPod(owner("StatefulSet", "db")), "apps/v1 StatefulSet db"],
    ["a CronJob's pod", aPod(owner("Job", "report-29345678", "batch/v1")), "batch/v1 CronJob report"],
    ["a plain Job's pod", aPod(owner("Job", "migrate", "batch/v1")), "batch/v1 Job migrate"],
    ["a bare pod", aPod(), "v1 Pod web-0"],
    ["a bare pod with generateName", aPod({ metadata: { name: undefined, generateName: "debug-" } }), "v1 Pod debug"],
  ])("%s", (_name, pod, expected) => {
    const w = workloadOf(pod);
    expect(`${w.apiVersion} ${w.kind} ${w.name}`).toBe(expected);
  });
});

describe("isJobPod", () => {
  it.each([
    ["owned by a Job", aPod(owner("Job", "j", "batch/v1")), true],
    ["labelled by the Job controller", aPod({ labels: { "batch.kubernetes.io/job-name": "j" } }), true],
    ["legacy job-name label", aPod({ labels: { "job-name": "j" } }), true],
    ["a Deployment's pod", aPod(owner("ReplicaSet", "web-1")), false],
  ])("%s → %s", (_name, pod, expected) => {
    expect(isJobPod(pod)).toBe(expected);
  });
});
