/**
 * A real HTTPS socket: the CA is pinned (no rejectUnauthorized:false), the SANs are checked, and a
 * certificate swap is served to new connections while an open keep-alive connection survives.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpsRequest, Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type Lifecycle, type ServerHandle, startServer } from "../../src/http/server.js";
import { silentLogger } from "../../src/log.js";
import { generateCA, generateServingCert } from "../../src/tls/certificates.js";
import { type ServingMaterial, loadOrCreateLocalCerts, servingNames } from "../../src/tls/cert-store.js";
import { aPod, reviewFor, testApp } from "../support/builders.js";

let dir: string;
let material: ServingMaterial;
let handle: ServerHandle;
const lifecycle: Lifecycle = { ready: true, draining: false };
const names = servingNames({ name: "sidecar-injector", namespace: "mesh-system" });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "injector-tls-"));
  material = (await loadOrCreateLocalCerts({ dir, names, now: new Date() })).material;
  const app = testApp({ health: { ready: () => lifecycle.ready, draining: () => lifecycle.draining } });
  handle = await startServer({ app, tls: material, port: 0, host: "127.0.0.1", logger: silentLogger(), lifecycle });
});

afterAll(async () => {
  await handle.close(1000);
  rmSync(dir, { recursive: true, force: true });
});

function peerCert(servername: string, ca: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: handle.port, servername, ca }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on("error", reject);
  });
}

function get(path: string, opts: { ca: string; servername: string; agent?: Agent; body?: string }): Promise<{ status: number; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port: handle.port,
        path,
        method: opts.body ? "POST" : "GET",
        ca: opts.ca,
        servername: opts.servername,
        agent: opts.agent ?? false,
        headers: opts.body ? { "Content-Type": "application/json" } : {},
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

describe("TLS", () => {
  it("serves /inject over TLS with the CA pinned", async () => {
    const res = await get("/inject", { ca: material.caCert, servername: "localhost", body: JSON.stringify(reviewFor(aPod())) });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).response.allowed).toBe(true);
  });

  it.each(["localhost", "sidecar-injector.mesh-system.svc", "sidecar-injector.mesh-system.svc.cluster.local"])(
    "the certificate matches the name %s",
    async (servername) => {
      const res = await get("/healthz", { ca: material.caCert, servername });
      expect(res.status).toBe(200);
    },
  );

  it("lists loopback and in-cluster names as SANs", async () => {
    const cert = await peerCert("localhost", material.caCert);
    for (const n of ["DNS:localhost", "IP Address:127.0.0.1", "DNS:sidecar-injector.mesh-system.svc"]) {
      expect(cert.subjectaltname).toContain(n);
    }
    expect(cert.subjectaltname).toMatch(/IP Address:(0:0:0:0:0:0:0:1|::1)/);
  });

  it("rejects a name the certificate does not cover", async () => {
    await expect(get("/healthz", { ca: material.caCert, servername: "evil.example" })).rejects.toThrow(/altnames|Hostname/i);
  });

  it("rejects a client that pins another CA", async () => {
    const other = await generateCA({ commonName: "other", days: 1, now: new Date() });
    await expect(get("/healthz", { ca: other.cert, servername: "localhost" })).rejects.toThrow(/certificate/i);
  });

  it("refuses TLS 1.1", async () => {
    await expect(
      new Promise((resolve, reject) => {
        const s = connect({ host: "127.0.0.1", port: handle.port, ca: material.caCert, servername: "localhost", maxVersion: "TLSv1.1", minVersion: "TLSv1" }, () => resolve(s));
        s.on("error", reject);
      }),
    ).rejects.toThrow();
  });

  it("swaps the certificate for new connections without dropping an open one", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get("/healthz", { ca: material.caCert, servername: "localhost", agent });
    expect(before.status).toBe(200);
    const oldFingerprint = (await peerCert("localhost", material.caCert)).fingerprint256;

    const newCA = await generateCA({ commonName: "rotated CA", days: 30, now: new Date() });
    const pair = await generateServingCert({ ca: newCA, names, days: 7, now: new Date() });
    handle.setCertificate(pair);

    // The open keep-alive connection still works (it was set up with the old certificate).
    const sameConnection = await get("/healthz", { ca: material.caCert, servername: "localhost", agent });
    expect(sameConnection).toMatchObject({ status: 200, reused: true });
    // New connections get the new certificate, which chains to the new CA only.
    const cert = await peerCert("localhost", newCA.cert);
    expect(cert.fingerprint256).not.toBe(oldFingerprint);
    await expect(peerCert("localhost", material.caCert)).rejects.toThrow();
    agent.destroy();
    handle.setCertificate(material);
  });
});
