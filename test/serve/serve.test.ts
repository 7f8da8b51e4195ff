/**
 * The built binary, end to end on this machine: native sidecars learned from a (fake) cluster's
 * version at startup, certificate files swapped while serving, and the config file reloaded.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { parseAllDocuments } from "yaml";
import { generateServingCert } from "../../src/tls/certificates.js";
import { servingNames } from "../../src/tls/cert-store.js";
import { aPod, reviewFor } from "../support/builders.js";
import { type FakeApiServer, Kinds, startFakeApiServer, writeKubeconfig } from "../support/fake-apiserver.js";
import { CLI, type Started, assertBuilt, call, cleanupInjectors, freePort, get, postReview, startInjector, waitFor } from "../support/injector-process.js";
import { Callers, INJECTOR_NAMES, bearer } from "../support/report-auth.js";

beforeAll(assertBuilt);

let fake: FakeApiServer | undefined;
const dirs: string[] = [];
afterEach(async () => {
  cleanupInjectors();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await fake?.close();
  fake = undefined;
});

interface Op {
  op: string;
  path: string;
  value: { name?: string; image?: string; restartPolicy?: string } | Array<{ name?: string; restartPolicy?: string }>;
}

async function patchFor(s: Started): Promise<Op[]> {
  const res = await postReview(s, reviewFor(aPod()));
  expect(res.status).toBe(200);
  const response = JSON.parse(res.body).response as { patch?: string };
  return JSON.parse(Buffer.from(response.patch ?? "", "base64").toString()) as Op[];
}

async function kubeconfigFor(dir: string, minor: string, rbac = false): Promise<string> {
  fake = await startFakeApiServer({ version: { major: "1", minor, gitVersion: `v1.${minor}.0` }, users: Object.values(Callers), ...(rbac && { rbac: INJECTOR_NAMES }) });
  return writeKubeconfig(join(dir, "kubeconfig"), fake.url, "t");
}

/** GET as a caller who may list pods cluster-wide. */
const asViewer = (s: Started, path: string) => get(s, path, { Authorization: bearer(Callers.viewer) });

describe("nativeSidecars: auto", () => {
  it.each([
    ["30", true],
    ["28", false],
  ])("a cluster at 1.%s → native %s", async (minor, native) => {
    const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
    dirs.push(dir);
    const kubeconfig = await kubeconfigFor(dir, minor);
    const s = await startInjector({}, { KUBECONFIG: kubeconfig });
    expect(s.logs()).toContain('"learned cluster version"');
    expect(fake?.requests).toContain("GET /version");
    const ops = await patchFor(s);
    const init = ops.find((o) => o.path === "/spec/initContainers");
    const names = (init?.value as Array<{ name?: string; restartPolicy?: string }>).map((c) => c.name);
    if (native) {
      expect(names).toEqual(["istio-init", "istio-proxy"]);
      expect((init?.value as Array<{ restartPolicy?: string }>)[1]?.restartPolicy).toBe("Always");
    } else {
      expect(names).toEqual(["istio-init"]);
      expect(ops.some((o) => o.path === "/spec/containers/1")).toBe(true);
    }
  });

  it("no cluster → classic, and says so", async () => {
    const s = await startInjector({});
    expect(s.logs()).toContain("no cluster configured: nativeSidecars=auto resolves to off");
    const ops = await patchFor(s);
    expect(ops.some((o) => o.path === "/spec/containers/1")).toBe(true);
  });
});

function fingerprint(s: Started, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: s.port, servername: "localhost", ca }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on("error", reject);
  });
}

describe("namespace labels from the watch", () => {
  it("warns when the pod's namespace enforces a Pod Security level that rejects istio-init", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
    dirs.push(dir);
    const kubeconfig = await kubeconfigFor(dir, "30");
    const shop = (labels: Record<string, string>) => fake?.put(Kinds.Namespace, { metadata: { name: "shop", labels } });
    shop({ "istio-injection": "enabled", "pod-security.kubernetes.io/enforce": "restricted" });
    const s = await startInjector({ nativeSidecars: "false" }, { KUBECONFIG: kubeconfig });
    const warningsFor = async (namespace: string) => {
      const res = await postReview(s, reviewFor(aPod(), { namespace }));
      return (JSON.parse(res.body).response as { warnings?: string[] }).warnings ?? [];
    };
    expect(await waitFor(async () => (await warningsFor("shop")).some((w) => w.includes('enforces Pod Security "restricted"')))).toBe(true);
    expect(await warningsFor("default")).toEqual([]);
    shop({ "istio-injection": "enabled" });
    expect(await waitFor(async () => (await warningsFor("shop")).length === 0)).toBe(true);
  });
});

describe("one watch per kind", () => {
  it("with GET /audit on, namespaces are still watched once: the audit reads the admission path's cache", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
    dirs.push(dir);
    const kubeconfig = await kubeconfigFor(dir, "30");
    fake?.put(Kinds.Namespace, { metadata: { name: "shop", labels: { "istio-injection": "enabled" } } });
    const s = await startInjector({ auditEndpoint: true }, { KUBECONFIG: kubeconfig });
    expect(await waitFor(async () => (await asViewer(s, "/audit")).status === 200)).toBe(true);
    const report = JSON.parse((await asViewer(s, "/audit")).body) as { summary: { namespaces: number } };
    expect(report.summary.namespaces).toBeGreaterThanOrEqual(1);
    const namespaceCalls = (fake?.requests ?? []).filter((r) => r.split("?")[0] === "GET /api/v1/namespaces");
    expect(namespaceCalls.filter((r) => r.includes("watch=true"))).toHaveLength(1);
    expect(namespaceCalls.filter((r) => !r.includes("watch=true"))).toHaveLength(1);
    expect(s.logs().split("\n").filter((l) => l.includes('"cache synced"') && l.includes('"cache":"namespaces"'))).toHaveLength(1);
  });
});

describe("GET /explain", () => {
  it("answers from the watch-backed caches, and follows a namespace label change", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
    dirs.push(dir);
    const kubeconfig = await kubeconfigFor(dir, "32");
    fake?.put(Kinds.Namespace, { metadata: { name: "shop", labels: { "istio-injection": "enabled" } } });
    fake?.put(Kinds.Deployment, {
      metadata: { name: "web", namespace: "shop" },
      spec: { selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } } },
    });
    const webhooks = parseAllDocuments(readFileSync(join(import.meta.dirname, "..", "..", "manifests", "base", "webhook.yaml"), "utf8"))[0]?.toJSON() as Record<string, unknown>;
    fake?.put(Kinds.MutatingWebhookConfiguration, webhooks);
    const s = await startInjector({ auditEndpoint: true }, { KUBECONFIG: kubeconfig });
    const decision = async () => {
      const res = await asViewer(s, "/explain?namespace=shop&kind=deployment&name=web");
      return res.status === 200 ? (JSON.parse(res.body) as { objects: Array<{ decision: string }> }).objects[0]?.decision : `HTTP ${res.status}`;
    };
    expect(await waitFor(async () => (await decision()) === "inject")).toBe(true);
    fake?.put(Kinds.Namespace, { metadata: { name: "shop", labels: {} } });
    expect(await waitFor(async () => (await decision()) === "not_called")).toBe(true);
    expect((await asViewer(s, "/explain?namespace=shop&kind=deployment&name=nope")).status).toBe(404);
  });
});

describe("GET /audit and GET /explain from outside: delegated authentication and authorization", () => {
  it("401 without a token, 403 without list pods, 200 with it, explain scoped to namespace rights; /inject and /preview open", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
    dirs.push(dir);
    // The test API server enforces the injector's RBAC (src/kube/api-calls.ts) on its own calls.
    const kubeconfig = await kubeconfigFor(dir, "32", true);
    fake?.put(Kinds.Namespace, { metadata: { name: "shop", labels: { "istio-injection": "enabled" } } });
    fake?.put(Kinds.Namespace, { metadata: { name: "bank", labels: { "istio-injection": "enabled" } } });
    fake?.put(Kinds.Pod, { metadata: { name: "vault-0", namespace: "bank" }, spec: { containers: [{ name: "vault", image: "vault:1" }] } });
    const s = await startInjector({ auditEndpoint: true }, { KUBECONFIG: kubeconfig });
    expect(await waitFor(async () => (await asViewer(s, "/audit")).status === 200)).toBe(true);
    const as = (user: { token: string } | null, path: string) => get(s, path, user === null ? {} : { Authorization: `Bearer ${user.token}` });
    const outcomes = [];
    for (const [who, user, path] of [
      ["no token", null, "/audit"],
      ["a wrong token", { token: "stolen" }, "/audit"],
      ["a user without list pods", Callers.nobody, "/audit"],
      ["a namespace user", Callers.shopDev, "/audit"],
      ["a namespace user", Callers.shopDev, "/explain"],
      ["a namespace user", Callers.shopDev, "/explain?namespace=bank"],
      ["a namespace user", Callers.shopDev, "/explain?namespace=shop"],
      ["a cluster viewer", Callers.viewer, "/audit"],
      ["a cluster viewer", Callers.viewer, "/explain?namespace=bank"],
    ] as const) {
      const res = await as(user, path);
      outcomes.push({ who, path, status: res.status, challenge: res.headers["www-authenticate"], leaks: res.status !== 200 && res.body.includes("vault") });
    }
    expect(outcomes).toEqual([
      { who: "no token", path: "/audit", status: 401, challenge: "Bearer", leaks: false },
      { who: "a wrong token", path: "/audit", status: 401, challenge: 'Bearer error="invalid_token"', leaks: false },
      { who: "a user without list pods", path: "/audit", status: 403, challenge: undefined, leaks: false },
      { who: "a namespace user", path: "/audit", status: 403, challenge: undefined, leaks: false },
      { who: "a namespace user", path: "/explain", status: 403, challenge: undefined, leaks: false },
      { who: "a namespace user", path: "/explain?namespace=bank", status: 403, challenge: undefined, leaks: false },
      { who: "a namespace user", path: "/explain?namespace=shop", status: 200, challenge: undefined, leaks: false },
      { who: "a cluster viewer", path: "/audit", status: 200, challenge: undefined, leaks: false },
      { who: "a cluster viewer", path: "/explain?namespace=bank", status: 200, challenge: undefined, leaks: false },
    ]);
    expect(fake?.denied).toEqual([]);
    expect((await postReview(s, reviewFor(aPod()))).status).toBe(200);
    const preview = call(s, "POST", "/preview", JSON.stringify(aPod()));
    preview.req.end(JSON.stringify(aPod()));
    expect((await preview.done).status).toBe(200);
    expect((await get(s, "/healthz")).status).toBe(200);
  });
});

describe("while serving", () => {
  it("swaps in new certificate files", async () => {
    const s = await startInjector({});
    const before = await fingerprint(s, s.ca);
    const certs = join(s.dir, "certs");
    const ca = { cert: s.ca, key: readFileSync(join(certs, "ca.key"), "utf8") };
    const next = await generateServingCert({ ca, names: servingNames({ name: "sidecar-injector", namespace: "sidecar-injector" }), days: 2, now: new Date() });
    writeFileSync(join(certs, "tls.key"), next.key);
    writeFileSync(join(certs, "tls.crt"), next.cert);
    expect(await waitFor(async () => (await fingerprint(s, s.ca)) !== before)).toBe(true);
    expect(await waitFor(() => s.logs().includes('"serving certificate swapped"'))).toBe(true);
  });

  it("reloads a valid config file and keeps serving the old one when the new one is invalid", async () => {
    const s = await startInjector({ sidecar: { image: "registry.example/proxy:1" } });
    const imageOf = async () => {
      const ops = await patchFor(s);
      return (ops.find((o) => o.path === "/spec/containers/1")?.value as { image?: string }).image;
    };
    expect(await imageOf()).toBe("registry.example/proxy:1");
    writeFileSync(join(s.dir, "config.yaml"), "sidecar:\n  image: registry.example/proxy:2\n");
    expect(await waitFor(() => s.logs().includes('"configuration reloaded"'))).toBe(true);
    expect(await imageOf()).toBe("registry.example/proxy:2");
    writeFileSync(join(s.dir, "config.yaml"), "sidecar:\n  image: 'not an image'\n");
    expect(await waitFor(() => s.logs().includes("new configuration rejected"))).toBe(true);
    expect(await imageOf()).toBe("registry.example/proxy:2");
  });
});

describe("metrics", () => {
  it("serves /metrics on the webhook port and on the plain-HTTP metrics port", async () => {
    const port = await freePort();
    const s = await startInjector({ server: { metricsPort: port, host: "127.0.0.1" } });
    await postReview(s, reviewFor(aPod()));
    const viaTls = await get(s, "/metrics");
    expect(viaTls.status).toBe(200);
    expect(viaTls.body).toContain("sidecar_injection_success_total 1");
    expect(viaTls.body).toMatch(/sidecar_injector_certificate_expiry_timestamp_seconds\{certificate="serving"\} \d+/);
    const plain = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(plain.status).toBe(200);
    expect(await plain.text()).toContain("sidecar_injection_requests_total 1");
    expect((await fetch(`http://127.0.0.1:${port}/inject`)).status).toBe(404);
  });
});

describe("CLI --server", () => {
  const testdata = join(import.meta.dirname, "..", "cli", "testdata");
  function cli(args: string[]) {
    return spawnSync(process.execPath, [CLI, ...args], { cwd: testdata, encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  }

  it("asks a running injector and prints what local rendering prints", async () => {
    const s = await startInjector({});
    const remote = ["--server", `https://localhost:${s.port}`, "--ca", join(s.dir, "certs", "ca.crt")];
    for (const args of [
      ["inject", "-f", "mixed.yaml"],
      ["inject", "-f", "list.json", "-o", "json"],
      ["explain", "-f", "mixed.yaml", "--namespace-labels", "team=web", "-o", "json"],
    ]) {
      const local = cli(args);
      const viaServer = cli([...args, ...remote]);
      expect({ args, status: viaServer.status, stdout: viaServer.stdout }).toEqual({ args, status: 0, stdout: local.stdout });
    }
    const broken = cli(["inject", "-f", "broken.yaml", ...remote]);
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain("documents[1].spec.template: not an object");
  });

  it("audit and explain against the cluster ask a running injector's /audit and /explain with the caller's token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
    dirs.push(dir);
    const kubeconfig = await kubeconfigFor(dir, "32");
    fake?.put(Kinds.Namespace, { metadata: { name: "shop", labels: { "istio-injection": "enabled" } } });
    fake?.put(Kinds.Pod, { metadata: { name: "web-1", namespace: "shop" }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } });
    const s = await startInjector({ auditEndpoint: true }, { KUBECONFIG: kubeconfig });
    expect(await waitFor(async () => (await asViewer(s, "/audit")).status === 200)).toBe(true);
    const remote = ["--server", `https://localhost:${s.port}`, "--ca", join(s.dir, "certs", "ca.crt")];
    // The caller's own KUBECONFIG: its current user's token is sent.
    const viewerConfig = writeKubeconfig(join(dir, "viewer-kubeconfig"), fake?.url ?? "", Callers.viewer.token);
    // Not spawnSync: the test API server in this process must keep answering the injector's reviews.
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, ...args], { cwd: testdata, encoding: "utf8", env: { PATH: process.env.PATH ?? "", KUBECONFIG: viewerConfig } }, (err, stdout, stderr) => {
          resolve({ status: err === null ? 0 : typeof err.code === "number" ? err.code : null, stdout, stderr });
        });
      });
    const audit = await run(["audit", "-o", "json", ...remote]);
    expect({ status: audit.status, stderr: audit.stderr }).toEqual({ status: 3, stderr: "" });
    expect((JSON.parse(audit.stdout) as { findings: Array<{ object: string }> }).findings.map((f) => f.object)).toContain("Pod/shop/web-1");
    const explain = await run(["explain", "pod/web-1", "-n", "shop", "-o", "json", "--token", Callers.shopDev.token, ...remote]);
    expect(explain.stderr).toBe("");
    expect((JSON.parse(explain.stdout) as { objects: Array<{ object: string }> }).objects.map((o) => o.object)).toEqual(["Pod/shop/web-1"]);
    const refused = await run(["explain", "-A", "--token", Callers.shopDev.token, ...remote]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('answered HTTP 403 FORBIDDEN: user "shop-dev" may not list pods cluster-wide');
  });

  it("says so when the server cannot be reached or not trusted", async () => {
    const s = await startInjector({});
    const untrusted = cli(["explain", "-f", "mixed.yaml", "--server", `https://localhost:${s.port}`]);
    expect(untrusted.status).toBe(1);
    expect(untrusted.stderr).toMatch(/cannot reach https:\/\/localhost:\d+: .*certificate/);
    s.stop();
    const gone = cli(["explain", "-f", "mixed.yaml", "--server", `https://localhost:${s.port}`, "--ca", "mixed.yaml"]);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain("cannot reach");
  });
});

describe("roles (server.role): the webhook never holds the cluster, the reports never admit", () => {
  async function clusterWithPods(dir: string, pods: number): Promise<string> {
    fake = await startFakeApiServer({ version: { major: "1", minor: "32", gitVersion: "v1.32.0" }, users: Object.values(Callers) });
    const kubeconfig = writeKubeconfig(join(dir, "kubeconfig"), fake.url, "t");
    fake?.put(Kinds.Namespace, { metadata: { name: "shop", labels: { "istio-injection": "enabled" } } });
    for (let i = 0; i < pods; i++) {
      fake?.put(Kinds.Pod, {
        metadata: { name: `web-${i}`, namespace: "shop", managedFields: [{ manager: "kubelet" }], ownerReferences: [{ kind: "ReplicaSet", name: "web-1", controller: true }] },
        spec: { containers: [{ name: "web", image: "nginx:1.27", env: [{ name: "A", value: "x".repeat(200) }] }] },
      });
    }
    return kubeconfig;
  }

  it("webhook: admits and previews, lists and watches namespaces only, and says where the reports are, even with auditEndpoint on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
    dirs.push(dir);
    const kubeconfig = await clusterWithPods(dir, 20);
    const s = await startInjector({ auditEndpoint: true, server: { role: "webhook" } }, { KUBECONFIG: kubeconfig });
    expect((await patchFor(s)).length).toBeGreaterThan(0);
    const audit = await get(s, "/audit");
    expect(audit.status).toBe(404);
    expect(JSON.parse(audit.body).message).toMatch(/reports role/);
    expect(s.logs()).toContain("served by the reports role");
    const resources = new Set((fake?.requests ?? []).filter((r) => r.startsWith("GET /api") && r !== "GET /version").map((r) => r.split("?")[0]));
    expect([...resources]).toEqual(["GET /api/v1/namespaces"]);
  });

  it("reports: serves /audit and /explain from paged lists, refuses /inject and /preview, and serves a certificate of its own Service", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
    dirs.push(dir);
    const kubeconfig = await clusterWithPods(dir, 620);
    const s = await startInjector({ server: { role: "reports" }, tls: { mode: "self-managed" } }, { KUBECONFIG: kubeconfig });
    const viewer = { Authorization: bearer(Callers.viewer) };
    expect(await waitFor(async () => (await get(s, "/audit", viewer)).status === 200)).toBe(true);
    const report = JSON.parse((await get(s, "/audit", viewer)).body) as { summary: { pods: number; findings: Record<string, number> } };
    expect(report.summary.pods).toBe(620);
    expect(report.summary.findings.missing_sidecar).toBe(620);
    expect((await get(s, "/explain?namespace=shop", viewer)).status).toBe(200);
    expect((await get(s, "/audit")).status).toBe(401);
    // Pods are listed in pages of 500, never at once, and watched from the list's resourceVersion.
    expect(fake?.listCalls.filter((c) => c.path === "/api/v1/pods").map((c) => [c.limit, c.items])).toEqual([
      [500, 500],
      [500, 120],
    ]);
    for (const path of ["/inject", "/preview"]) {
      const c = call(s, "POST", path, "{}");
      c.req.end("{}");
      const res = await c.done;
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(JSON.parse(res.body).message).toMatch(/served by the webhook's replicas/);
    }
    // Its own pair (tls.mode self-managed in the shared config is the webhook's): named for sidecar-injector-reports.
    expect(s.logs()).toContain("reports role: serving its own certificate");
    expect(s.logs()).toContain("sidecar-injector-reports.sidecar-injector.svc");
    expect((fake?.requests ?? []).some((r) => r.includes("/leases") || r.includes("/secrets"))).toBe(false);
  });

  it("reports without a cluster is a configuration error that says why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "reports-"));
    dirs.push(dir);
    writeFileSync(join(dir, "config.yaml"), JSON.stringify({ server: { role: "reports" } }));
    const r = spawnSync(process.execPath, [CLI, "serve", "--port", "0", "--cert-dir", join(dir, "certs"), "--config", join(dir, "config.yaml")], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" }, timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("server.role reports reads the cluster");
  });
});
