import { afterEach, describe, expect, it } from "@jest/globals";
import { type FakeKube, sendJson, sendStatus, startFakeKube } from "../../test/support/fake-kube.js";
import { KubeApiError } from "../errors.js";
import { clusterAccessFrom, makeKubeClients } from "./client.js";
import { fetchClusterVersion, supportsNativeSidecars } from "./cluster-version.js";

let fake: FakeKube | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function version(major: string, minor: string) {
  return { major, minor, gitVersion: `v${major}.${minor.replace("+", "")}.3`, platform: "linux/amd64" };
}

describe("fetchClusterVersion (real client-node against a fake API server)", () => {
  it.each([
    ["1", "29", true],
    ["1", "33", true],
    ["1", "28", false],
    ["1", "29+", true],
    ["1", "27+", false],
    ["2", "0", true],
  ])("%s.%s → native sidecars %s", async (major, minor, native) => {
    fake = await startFakeKube({ "GET /version": (_req, res) => sendJson(res, 200, version(major, minor)) });
    const v = await fetchClusterVersion(await makeKubeClients(fake.kubeConfig()), 2000);
    expect(supportsNativeSidecars(v)).toBe(native);
    expect(fake.requests).toEqual(["GET /version"]);
  });

  it("turns an API error into KubeApiError", async () => {
    fake = await startFakeKube({ "GET /version": (_req, res) => sendStatus(res, 403, "Forbidden", "forbidden") });
    await expect(fetchClusterVersion(await makeKubeClients(fake.kubeConfig()), 2000)).rejects.toBeInstanceOf(KubeApiError);
  });

  it("times out", async () => {
    fake = await startFakeKube({ "GET /version": () => undefined });
    await expect(fetchClusterVersion(await makeKubeClients(fake.kubeConfig()), 100)).rejects.toThrow(/timed out after 100 ms/);
  });

  it("rejects an unreadable version", async () => {
    fake = await startFakeKube({ "GET /version": (_req, res) => sendJson(res, 200, version("x", "y")) });
    await expect(fetchClusterVersion(await makeKubeClients(fake.kubeConfig()), 2000)).rejects.toThrow(/unreadable version/);
  });
});

describe("clusterAccessFrom", () => {
  it.each([
    [{}, { kind: "none" }],
    [{ KUBECONFIG: "/k/config" }, { kind: "kubeconfig", path: "/k/config" }],
    [{ KUBECONFIG: ":/a:/b" }, { kind: "kubeconfig", path: "/a" }],
    [{ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443", KUBECONFIG: "/k" }, { kind: "in-cluster" }],
  ])("%j", (env, access) => {
    expect(clusterAccessFrom(env)).toEqual(access);
  });
});
