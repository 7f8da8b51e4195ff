/**
 * `audit --server` and `explain --server` in process: the caller's token (flag, KUBECONFIG token,
 * exec plugin, none), and the commands against a running app guarded by the real delegated auth
 * over the test API server: what they print, and what they say when refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { auditCluster } from "./audit/audit.js";
import { runAudit } from "./audit/command.js";
import { formatAudit } from "./audit/format.js";
import type { CommandIO } from "./command-io.js";
import { explainCluster } from "./explain/cluster.js";
import { explainQuery, runExplainCluster } from "./explain/command.js";
import { formatExplain } from "./explain/format.js";
import { writeKubeconfig } from "../test/support/fake-apiserver.js";
import { testApp, testContext } from "../test/support/builders.js";
import { Callers, type ReportAuth, startReportAuth } from "../test/support/report-auth.js";
import { callerToken } from "./remote-report.js";

const objects = [
  { kind: "Namespace", metadata: { name: "shop", labels: { "istio-injection": "enabled" } } },
  { kind: "Pod", metadata: { name: "web-1", namespace: "shop" }, spec: { containers: [{ name: "app", image: "web" }] } },
];
const context = testContext();
const report = auditCluster(objects, { template: context.template });

let dir: string;
let auth: ReportAuth;
let server: Server;
let url: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "remote-report-"));
  auth = await startReportAuth();
  const app = testApp({ audit: () => report, explain: (t) => explainCluster(objects, t, { context, webhookConfigsListed: false }), authorize: auth.authorize });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await auth.fake.close();
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(name: string, user: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:1" } }],
      users: [{ name: "u", user }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
      "current-context": "c",
    }),
  );
  return path;
}

function io(env: Record<string, string> = {}): CommandIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { env, readStdin: async () => "", stdout: (t) => out.push(t), stderr: (t) => err.push(t), out, err };
}

describe("the caller's token", () => {
  it("--token wins over KUBECONFIG", async () => {
    expect(await callerToken("flag-token", { KUBECONFIG: kubeconfig("token", { token: "file-token" }) })).toBe("flag-token");
  });
  it("KUBECONFIG's current user's token", async () => {
    expect(await callerToken(undefined, { KUBECONFIG: kubeconfig("token", { token: "file-token" }) })).toBe("file-token");
  });
  it("an exec plugin's token (as for EKS and GKE)", async () => {
    const credential = JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "exec-token" } });
    const exec = { apiVersion: "client.authentication.k8s.io/v1", command: process.execPath, args: ["-e", `process.stdout.write(${JSON.stringify(credential)})`], interactiveMode: "Never" };
    expect(await callerToken(undefined, { KUBECONFIG: kubeconfig("exec", { exec }) })).toBe("exec-token");
  });
  it.each<[string, string | undefined, Record<string, string>, RegExp]>([
    ["no KUBECONFIG and no --token", undefined, {}, /no bearer token for --server: set KUBECONFIG or give --token/],
    ["a user with a client certificate only", undefined, { KUBECONFIG: "cert" }, /sends no bearer token \(a client certificate\?\)/],
    ["an unreadable KUBECONFIG", undefined, { KUBECONFIG: "/nonexistent/kubeconfig" }, /cannot read KUBECONFIG/],
    ["a --token with a space", "a b", {}, /--token must be a token without spaces/],
  ])("%s: says what to do", async (_name, token, env, message) => {
    const resolved = env.KUBECONFIG === "cert" ? { KUBECONFIG: kubeconfig("cert", { "client-certificate-data": "eA==", "client-key-data": "eA==" }) } : env;
    await expect(callerToken(token, resolved)).rejects.toThrow(message);
  });
});

describe("audit --server", () => {
  it("prints the server's report as the local command prints it, with KUBECONFIG's token", async () => {
    const run = io({ KUBECONFIG: writeKubeconfig(join(dir, "viewer"), "https://127.0.0.1:1", Callers.viewer.token) });
    const code = await runAudit({ output: "table", failOn: "error", remote: { server: url } }, run);
    expect({ code, err: run.err.join("") }).toEqual({ code: 3, err: "" });
    expect(run.out.join("")).toBe(formatAudit(report, "table"));
  });
  it.each<[string, string, RegExp]>([
    ["a namespace user", Callers.shopDev.token, /answered HTTP 403 FORBIDDEN: user "shop-dev" may not list pods cluster-wide \(in every namespace\)/],
    ["an unknown token", "stolen", /answered HTTP 401 UNAUTHORIZED: the bearer token was not authenticated by the API server/],
  ])("%s: exit 1 with the server's reason", async (_name, token, message) => {
    const run = io();
    expect(await runAudit({ output: "table", failOn: "error", remote: { server: url, token } }, run)).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err.join("")).toMatch(message);
  });
  it("a server that cannot be reached or is not a URL", async () => {
    for (const [server, message] of [
      ["http://127.0.0.1:1", /cannot reach http:\/\/127.0.0.1:1/],
      ["not a url", /--server "not a url" is not a URL/],
    ] as const) {
      const run = io();
      expect(await runAudit({ output: "json", failOn: "error", remote: { server, token: "t" } }, run)).toBe(1);
      expect(run.err.join("")).toMatch(message);
    }
  });
});

describe("explain --server", () => {
  it("asks for the namespace it was given, with its rights", async () => {
    const run = io();
    const target = { namespace: "shop" };
    const code = await runExplainCluster({ target, output: "table", failOn: "error", remote: { server: url, token: Callers.shopDev.token } }, run);
    expect(run.err.join("")).toBe("");
    expect(code).toBe(3);
    expect(run.out.join("")).toBe(formatExplain(explainCluster(objects, target, { context, webhookConfigsListed: false }), "table"));
  });
  it("-A needs cluster-wide rights", async () => {
    const run = io();
    expect(await runExplainCluster({ target: { namespace: null }, output: "json", failOn: "error", remote: { server: url, token: Callers.shopDev.token } }, run)).toBe(1);
    expect(run.err.join("")).toContain('HTTP 403 FORBIDDEN: user "shop-dev" may not list pods cluster-wide');
  });
  it.each([
    [{ namespace: null }, {}],
    [{ namespace: "shop" }, { namespace: "shop" }],
    [{ namespace: "shop", kind: "Deployment" as const, name: "web" }, { namespace: "shop", kind: "Deployment", name: "web" }],
  ])("the query for %j", (target, query) => {
    expect(explainQuery(target)).toEqual(query);
  });
});
