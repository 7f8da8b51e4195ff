import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { testContext } from "../../test/support/builders.js";
import { type FakeKube, sendJson, sendStatus, startFakeKube } from "../../test/support/fake-kube.js";
import { auditCluster, flattenObjects } from "../audit/audit.js";
import { KubeApiError } from "../errors.js";
import { AUDIT_SOURCE_PATHS, listClusterObjects } from "./snapshot.js";

const PATHS: Record<string, string> = AUDIT_SOURCE_PATHS;

let fake: FakeKube | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function snapshot(): Array<Record<string, unknown>> {
  const text = readFileSync(join(import.meta.dirname, "..", "..", "test", "audit", "testdata", "findings.json"), "utf8");
  return flattenObjects([JSON.parse(text.replaceAll("$CURRENT_TEMPLATE_HASH", testContext().template.hash))]);
}

describe("listClusterObjects (real client-node against a fake API server)", () => {
  it("lists what the audit needs and gives the same report as the file", async () => {
    const objects = snapshot();
    const routes = Object.fromEntries(
      Object.entries(PATHS).map(([kind, path]) => [
        `GET ${path}`,
        (_req: unknown, res: Parameters<typeof sendJson>[0]) =>
          sendJson(res, 200, {
            apiVersion: "v1",
            kind: `${kind}List`,
            metadata: { resourceVersion: "7" },
            items: objects.filter((o) => o.kind === kind).map(({ kind: _k, apiVersion: _a, ...rest }) => rest),
          }),
      ]),
    );
    fake = await startFakeKube(routes);
    const live = await listClusterObjects(fake.kubeConfig());
    expect(fake.requests.sort()).toEqual(Object.values(PATHS).map((p) => `GET ${p}`).sort());
    expect(live.webhookConfigsListed).toBe(true);
    const template = testContext().template;
    expect(auditCluster(live.objects, { template })).toEqual(auditCluster(objects, { template }));
  });

  it("skips the webhook configurations when it may not list them", async () => {
    const empty = (kind: string) => (_req: unknown, res: Parameters<typeof sendJson>[0]) => sendJson(res, 200, { kind: `${kind}List`, apiVersion: "v1", metadata: {}, items: [] });
    fake = await startFakeKube({
      ...Object.fromEntries(Object.entries(PATHS).map(([kind, path]) => [`GET ${path}`, empty(kind)])),
      [`GET ${PATHS.MutatingWebhookConfiguration}`]: (_req, res) => sendStatus(res, 403, "Forbidden", "forbidden"),
    });
    const live = await listClusterObjects(fake.kubeConfig());
    expect(live.webhookConfigsListed).toBe(false);
    expect(auditCluster(live.objects, { template: testContext().template, webhookConfigsListed: false }).summary.findings.webhook_config).toBe(0);
  });

  it("names the list that failed", async () => {
    fake = await startFakeKube({
      "GET /api/v1/namespaces": (_req, res) => sendJson(res, 200, { kind: "NamespaceList", apiVersion: "v1", metadata: {}, items: [] }),
      "GET /api/v1/pods": (_req, res) => sendStatus(res, 403, "Forbidden", "pods is forbidden"),
    });
    const err = await listClusterObjects(fake.kubeConfig()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as Error).message).toMatch(/^list pods failed \(HTTP 403\)/);
  });
});
