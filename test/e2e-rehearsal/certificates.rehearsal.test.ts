/**
 * Runs the real-cluster certificate suite (test/e2e/certificates.e2e.test.ts) against the
 * in-process API server, so the suite itself is known to work before anyone points it at a
 * cluster, and cannot rot unnoticed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "@jest/globals";
import { startFakeApiServer, writeKubeconfig } from "../support/fake-apiserver.js";

const api = await startFakeApiServer({ version: { major: "1", minor: "30", gitVersion: "v1.30.0" } });
const dir = mkdtempSync(join(tmpdir(), "injector-rehearsal-"));
const path = join(dir, "kubeconfig");
writeKubeconfig(path, api.url, "rehearsal");
const before = process.env.KUBECONFIG;
process.env.KUBECONFIG = path;
await import("../e2e/certificates.e2e.test.js");

afterAll(async () => {
  if (before === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = before;
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});
