import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { silentLogger } from "../log.js";
import { checkServingPair, describeCertificate, generateCA, generateServingCert } from "./certificates.js";
import { normalizePem, readCertificates } from "./pem.js";
import { folderPaths, loadOrCreateLocalCerts, readServingFiles, servingNames, watchServingFiles } from "./cert-store.js";

const names = servingNames({ name: "sidecar-injector", namespace: "mesh" });
const now = new Date("2026-11-25T12:00:00Z");
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "certs-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("servingNames", () => {
  it("covers loopback and every in-cluster service name", () => {
    expect(names).toEqual([
      "localhost",
      "127.0.0.1",
      "::1",
      "sidecar-injector",
      "sidecar-injector.mesh",
      "sidecar-injector.mesh.svc",
      "sidecar-injector.mesh.svc.cluster.local",
    ]);
  });
});

describe("loadOrCreateLocalCerts", () => {
  it("creates a CA and a serving pair, keys 0600, then reuses them", async () => {
    const first = await loadOrCreateLocalCerts({ dir, names, now });
    expect(first.action).toBe("created");
    expect(statSync(join(dir, "tls.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "ca.key")).mode & 0o777).toBe(0o600);
    // Every file in our PEM form: blocks on lines of their own, a line break at the end, so a
    // ca.crt concatenated into a caBundle reads the same with Go's strict reader.
    for (const f of ["ca.crt", "ca.key", "tls.crt", "tls.key"]) {
      const text = readFileSync(join(dir, f), "utf8");
      expect({ f, normal: normalizePem(text) === text }).toEqual({ f, normal: true });
    }
    expect(readCertificates(readFileSync(join(dir, "ca.crt"), "utf8") + readFileSync(join(dir, "tls.crt"), "utf8"))).toHaveLength(2);
    expect(checkServingPair(first.material, first.material.caCert, names, now)).toEqual([]);
    const info = describeCertificate(first.material.cert);
    expect(info.names).toEqual(names);
    expect(readFileSync(join(dir, "ca.crt"), "utf8")).toBe(first.material.caCert);

    const second = await loadOrCreateLocalCerts({ dir, names, now });
    expect(second.action).toBe("reused");
    expect(second.material).toEqual(first.material);
  });

  it("renews the serving pair from the same CA when it nears expiry", async () => {
    const first = await loadOrCreateLocalCerts({ dir, names, now, certDays: 10, renewBeforeDays: 30 });
    const second = await loadOrCreateLocalCerts({ dir, names, now, certDays: 365, renewBeforeDays: 30 });
    expect(second.action).toBe("renewed");
    expect(second.material.caCert).toBe(first.material.caCert);
    expect(second.material.cert).not.toBe(first.material.cert);
  });

  it("re-issues when a required name is missing", async () => {
    await loadOrCreateLocalCerts({ dir, names: ["localhost"], now });
    const again = await loadOrCreateLocalCerts({ dir, names, now });
    expect(again.action).toBe("renewed");
    expect(describeCertificate(again.material.cert).names).toEqual(names);
  });

  it("starts over when the files are garbage", async () => {
    for (const f of ["ca.crt", "ca.key", "tls.crt", "tls.key"]) writeFileSync(join(dir, f), "garbage");
    const r = await loadOrCreateLocalCerts({ dir, names, now });
    expect(r.action).toBe("created");
    expect(checkServingPair(r.material, r.material.caCert, names, now)).toEqual([]);
  });
});

describe("checkServingPair", () => {
  it("finds every problem", async () => {
    const ca = await generateCA({ commonName: "ca", days: 10, now });
    const other = await generateCA({ commonName: "other", days: 10, now });
    const pair = await generateServingCert({ ca, names: ["localhost"], days: 1, now });
    const later = new Date(now.getTime() + 2 * 86_400_000);
    expect(checkServingPair({ cert: pair.cert, key: other.key }, other.cert, ["localhost", "x.example"], later)).toEqual([
      "the private key does not match the certificate",
      expect.stringMatching(/^the certificate expired at/),
      "the certificate is not signed by the CA",
      "the certificate does not cover x.example",
    ]);
  });
});

describe("watchServingFiles", () => {
  it("hands over a new usable pair and ignores an unusable one", async () => {
    const first = await loadOrCreateLocalCerts({ dir, names, now: new Date() });
    const seen: string[] = [];
    const w = watchServingFiles(folderPaths(dir), (m) => seen.push(m.cert), silentLogger(), () => new Date(), 20, describeCertificate(first.material.cert).fingerprint256);
    await new Promise((r) => setTimeout(r, 50));
    writeFileSync(join(dir, "tls.crt"), "not a cert");
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual([]);
    const ca = { cert: first.material.caCert, key: readFileSync(join(dir, "ca.key"), "utf8") };
    const next = await generateServingCert({ ca, names, days: 2, now: new Date() });
    writeFileSync(join(dir, "tls.key"), next.key);
    writeFileSync(join(dir, "tls.crt"), next.cert);
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    w.close();
    expect(seen).toEqual([next.cert]);
    await expect(readServingFiles(folderPaths(dir), new Date())).resolves.toMatchObject({ cert: next.cert });
  });
});

describe("files mode", () => {
  it("reads a pair from explicit paths without a CA, and refuses an expired one", async () => {
    const ca = await generateCA({ commonName: "ca", days: 10, now: new Date() });
    const pair = await generateServingCert({ ca, names, days: 1, now: new Date() });
    const old = await generateServingCert({ ca, names, days: 1, now: new Date(Date.now() - 3 * 86_400_000) });
    writeFileSync(join(dir, "mine.crt"), pair.cert);
    writeFileSync(join(dir, "mine.key"), pair.key);
    writeFileSync(join(dir, "old.crt"), old.cert);
    await expect(readServingFiles({ cert: join(dir, "mine.crt"), key: join(dir, "mine.key") }, new Date())).resolves.toEqual({ caCert: "", cert: pair.cert, key: pair.key });
    await expect(readServingFiles({ cert: join(dir, "old.crt"), key: join(dir, "mine.key") }, new Date())).rejects.toThrow(/old.crt: the certificate expired at/);
    await expect(readServingFiles({ cert: join(dir, "none.crt"), key: join(dir, "none.key") }, new Date())).rejects.toThrow(/no certificate and key at/);
  });
});
