import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { silentLogger } from "../../src/log.js";
import { createMetrics } from "../../src/metrics.js";
import type { ServingMaterial } from "../../src/tls/cert-store.js";
import { generateCA, generateServingCert } from "../../src/tls/certificates.js";
import { type ServingCertificates, resolveTlsMode, startServingCertificates } from "../../src/tls/serving.js";
import { testConfig } from "../support/builders.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let certs: ServingCertificates | undefined;
let dir = "";
afterEach(async () => {
  await certs?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("resolveTlsMode", () => {
  it.each([
    ["auto", "in-cluster", "self-managed"],
    ["auto", "kubeconfig", "local"],
    ["auto", "none", "local"],
    ["files", "in-cluster", "files"],
    ["self-managed", "kubeconfig", "self-managed"],
  ] as const)("%s with %s access → %s", (mode, kind, expected) => {
    expect(resolveTlsMode(mode, kind === "kubeconfig" ? { kind, path: "/k" } : { kind })).toBe(expected);
  });
});

describe("files mode", () => {
  it("waits (not ready) for files that are not there yet, then serves them and swaps in renewals; never writes", async () => {
    dir = mkdtempSync(join(tmpdir(), "injector-files-"));
    const config = testConfig({ tls: { mode: "files", certFile: join(dir, "m", "tls.crt"), keyFile: join(dir, "m", "tls.key") } });
    const { mkdirSync, readdirSync } = await import("node:fs");
    mkdirSync(join(dir, "m"));
    const seen: ServingMaterial[] = [];
    certs = await startServingCertificates({ config, mode: "files", kc: null, identity: "x", logger: silentLogger(), metrics: createMetrics("t"), onChange: (m) => seen.push(m) });
    expect(certs.material()).toBeNull();
    expect(certs.readiness()).toEqual({ ready: false, reason: "no serving certificate yet" });
    const ca = await generateCA({ commonName: "cert-manager CA", days: 10, now: new Date() });
    const names = ["sidecar-injector.sidecar-injector.svc"];
    for (const days of [1, 2]) {
      const pair = await generateServingCert({ ca, names, days, now: new Date() });
      writeFileSync(join(dir, "m", "tls.key"), pair.key);
      writeFileSync(join(dir, "m", "tls.crt"), pair.cert);
      for (let i = 0; i < 100 && seen.at(-1)?.cert !== pair.cert; i++) await sleep(20);
      expect(certs.material()?.cert).toBe(pair.cert);
    }
    expect(seen).toHaveLength(2);
    expect(certs.readiness()).toEqual({ ready: true, reason: "serving" });
    expect(readdirSync(join(dir, "m")).sort()).toEqual(["tls.crt", "tls.key"]);
  });
});
