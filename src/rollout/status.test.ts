import { describe, expect, it } from "@jest/globals";
import { rolloutStatus } from "./status.js";

type Json = Record<string, unknown>;
const deployment = (generation: number, replicas: number, status: Json): Json => ({ metadata: { name: "web", generation }, spec: { replicas }, status });
const statefulSet = (generation: number, replicas: number, status: Json, updateStrategy?: Json): Json => ({ metadata: { name: "db", generation }, spec: { replicas, ...(updateStrategy && { updateStrategy }) }, status });
const daemonSet = (generation: number, status: Json, updateStrategy?: Json): Json => ({ metadata: { name: "agent", generation }, spec: { ...(updateStrategy && { updateStrategy }) }, status });

describe("rolloutStatus: kubectl rollout status's rules", () => {
  it.each([
    ["spec update not observed", deployment(3, 2, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }), false, false, "Waiting for deployment spec update to be observed..."],
    ["new replicas not all updated", deployment(3, 3, { observedGeneration: 3, replicas: 4, updatedReplicas: 1, availableReplicas: 3 }), false, false, 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...'],
    ["old replicas pending termination", deployment(3, 2, { observedGeneration: 3, replicas: 3, updatedReplicas: 2, availableReplicas: 3 }), false, false, 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...'],
    ["updated not yet available", deployment(3, 2, { observedGeneration: 3, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }), false, false, 'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...'],
    ["complete", deployment(3, 2, { observedGeneration: 3, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 }), true, false, 'deployment "web" successfully rolled out'],
    [
      "progress deadline exceeded",
      deployment(3, 2, { observedGeneration: 3, replicas: 3, updatedReplicas: 1, availableReplicas: 2, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "web-1" has timed out progressing.' }] }),
      false,
      true,
      'deployment "web" exceeded its progress deadline: ReplicaSet "web-1" has timed out progressing.',
    ],
    ["no status yet", { metadata: { name: "web", generation: 1 }, spec: { replicas: 1 } }, false, false, "Waiting for deployment spec update to be observed..."],
  ])("Deployment: %s", (_name, o, done, failed, message) => {
    expect(rolloutStatus("Deployment", o)).toMatchObject({ done, failed, message });
  });

  it.each([
    ["spec update not observed", statefulSet(2, 3, { observedGeneration: 1, readyReplicas: 3 }), false, false, "Waiting for statefulset spec update to be observed..."],
    ["pods not ready", statefulSet(2, 3, { observedGeneration: 2, readyReplicas: 2, currentRevision: "db-1", updateRevision: "db-2" }), false, false, "Waiting for 1 pods to be ready..."],
    ["revisions differ", statefulSet(2, 3, { observedGeneration: 2, readyReplicas: 3, updatedReplicas: 1, currentRevision: "db-1", updateRevision: "db-2" }), false, false, "waiting for statefulset rolling update to complete 1 pods at revision db-2..."],
    ["complete", statefulSet(2, 3, { observedGeneration: 2, readyReplicas: 3, currentReplicas: 3, currentRevision: "db-2", updateRevision: "db-2" }), true, false, "statefulset rolling update complete 3 pods at revision db-2..."],
    ["partitioned, done", statefulSet(2, 3, { observedGeneration: 2, readyReplicas: 3, updatedReplicas: 1, currentRevision: "db-1", updateRevision: "db-2" }, { type: "RollingUpdate", rollingUpdate: { partition: 2 } }), true, false, "partitioned roll out complete: 1 new pods have been updated..."],
    ["OnDelete", statefulSet(2, 3, { observedGeneration: 2, readyReplicas: 3 }, { type: "OnDelete" }), false, true, "rollout status is only available for RollingUpdate strategy type"],
  ])("StatefulSet: %s", (_name, o, done, failed, message) => {
    expect(rolloutStatus("StatefulSet", o)).toMatchObject({ done, failed, message });
  });

  it.each([
    ["not observed", daemonSet(2, { observedGeneration: 1, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 }), false, false, "Waiting for daemon set spec update to be observed..."],
    ["not all updated", daemonSet(2, { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 1, numberAvailable: 2 }), false, false, 'Waiting for daemon set "agent" rollout to finish: 1 out of 2 new pods have been updated...'],
    ["not all available", daemonSet(2, { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 1 }), false, false, 'Waiting for daemon set "agent" rollout to finish: 1 of 2 updated pods are available...'],
    ["complete", daemonSet(2, { observedGeneration: 2, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 }), true, false, 'daemon set "agent" successfully rolled out'],
    ["OnDelete", daemonSet(2, {}, { type: "OnDelete" }), false, true, "rollout status is only available for RollingUpdate strategy type"],
  ])("DaemonSet: %s", (_name, o, done, failed, message) => {
    expect(rolloutStatus("DaemonSet", o)).toMatchObject({ done, failed, message });
  });

  it("counts ready of desired for progress lines", () => {
    expect(rolloutStatus("Deployment", deployment(3, 4, { observedGeneration: 3, replicas: 5, updatedReplicas: 2, availableReplicas: 4 }))).toMatchObject({ ready: 2, desired: 4 });
  });
});
