// AdmissionReview payloads for the benchmark: small (~2 KB), typical (~6 KB, a Deployment-made
// pod with probes, env and managedFields), large (~512 KB, a pod carrying a big
// last-applied-configuration annotation and managedFields, as real clusters produce) and
// large-env (~512 KB with its bulk in the containers' env and 200 annotations: a ConfigMap inlined
// into env, a generated manifest). Every pod carries a `team.example/owner` annotation, which the
// benchmark's never-seen-pod rows change in every request (DISTINCT_MARK).

export const DISTINCT_MARK = '"team.example/owner":"';

function review(uid, pod) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      requestResource: { group: "", version: "v1", resource: "pods" },
      namespace: "bookinfo",
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller", uid: "a1b2c3", groups: ["system:serviceaccounts", "system:authenticated"] },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { kind: "CreateOptions", apiVersion: "meta.k8s.io/v1" },
    },
  };
}

function container(name, i) {
  return {
    name,
    image: `registry.example/shop/${name}:1.${i}.0`,
    imagePullPolicy: "IfNotPresent",
    ports: [{ containerPort: 8080 + i, name: `http-${i}`, protocol: "TCP" }],
    env: Array.from({ length: 8 }, (_, k) => ({ name: `SETTING_${k}`, value: `value-${k}-${name}` })).concat([
      { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
    ]),
    readinessProbe: { httpGet: { path: "/ready", port: 8080 + i }, periodSeconds: 5, timeoutSeconds: 2 },
    livenessProbe: { httpGet: { path: "/live", port: 8080 + i }, initialDelaySeconds: 10 },
    startupProbe: { tcpSocket: { port: 8080 + i }, failureThreshold: 30 },
    resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
    volumeMounts: [
      { name: "config", mountPath: "/etc/app" },
      { name: "kube-api-access-x1y2z", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
    ],
    securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
  };
}

function managedField(i) {
  return {
    manager: "kube-controller-manager",
    operation: "Update",
    apiVersion: "v1",
    time: "2026-11-25T12:00:00Z",
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:metadata": { "f:labels": { ".": {}, "f:app": {}, "f:pod-template-hash": {}, "f:version": {} }, "f:ownerReferences": { ".": {}, [`k:{"uid":"${i}"}`]: {} } },
      "f:spec": { "f:containers": { [`k:{"name":"app-${i}"}`]: { ".": {}, "f:env": {}, "f:image": {}, "f:ports": {}, "f:readinessProbe": {}, "f:resources": {} } } },
    },
  };
}

function basePod(containers, extra = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: "reviews-v1-7d8f9c6b5d-",
      namespace: "bookinfo",
      labels: { app: "reviews", version: "v1", "pod-template-hash": "7d8f9c6b5d" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "reviews-v1-7d8f9c6b5d", uid: "0d6f1c2e-1111-4222-8333-444455556666", controller: true, blockOwnerDeletion: true }],
      ...extra,
    },
    spec: {
      serviceAccountName: "reviews",
      containers,
      volumes: [
        { name: "config", configMap: { name: "reviews-config" } },
        { name: "kube-api-access-x1y2z", projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: "token" } }, { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } }] } },
      ],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      schedulerName: "default-scheduler",
      tolerations: [
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      ],
    },
  };
}

function small() {
  const pod = basePod([{ name: "web", image: "nginx:1.27", ports: [{ containerPort: 80 }] }], {
    annotations: { "team.example/owner": "web-platform", "team.example/oncall": "web-oncall@example.com" },
  });
  return review("bench-small", pod);
}

function typical() {
  const pod = basePod([container("reviews", 1), container("cache", 2)], {
    annotations: { "team.example/owner": "reviews", "team.example/runbook": "https://runbooks.example/reviews#restarts-and-rollbacks" },
    managedFields: [managedField(1), managedField(2), managedField(3)],
  });
  return review("bench-typical", pod);
}

function large() {
  const containers = [container("reviews", 1), container("cache", 2)];
  const lastApplied = JSON.stringify({ kind: "Pod", spec: { containers: Array.from({ length: 260 }, (_, i) => container(`c${i}`, i)) } });
  const pod = basePod(containers, {
    annotations: { "team.example/owner": "reviews", "kubectl.kubernetes.io/last-applied-configuration": lastApplied },
    managedFields: Array.from({ length: 340 }, (_, i) => managedField(i)),
  });
  return review("bench-large", pod);
}

function largeEnv() {
  const inlined = (name) =>
    container(name, 1).env.concat(
      Array.from({ length: 800 }, (_, k) => ({ name: `CONFIG_${name.toUpperCase()}_${String(k).padStart(4, "0")}`, value: `setting ${k} of ${name}: ${"x".repeat(80)}` })),
    );
  const containers = ["reviews", "cache", "worker", "metrics"].map((name, i) => ({ ...container(name, i + 1), env: inlined(name) }));
  const annotations = { "team.example/owner": "reviews" };
  for (let i = 0; i < 200; i++) annotations[`generated.example/key-${i}`] = `value ${i}: ${"y".repeat(160)}`;
  return review("bench-large-env", basePod(containers, { annotations }));
}

export const PAYLOADS = { small: small(), typical: typical(), large: large(), "large-env": largeEnv() };
