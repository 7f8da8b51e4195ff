/**
 * An optional plain-HTTP listener (config server.metricsPort) for what does not speak the
 * webhook's TLS: scrapers (GET /metrics) and kubelet probes (GET /healthz, /readyz). Probes belong
 * here in self-managed TLS mode, where a replica has no certificate until the leader publishes one.
 */
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";
import { type Health, Paths, readyzResponse } from "./app.js";

export async function startMetricsServer(metrics: Metrics, health: Health, port: number, host: string, logger: Logger): Promise<{ port: number; close(): void }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const json = (status: number, body: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "GET" && path === Paths.Healthz) return json(200, { status: "ok" });
    if (req.method === "GET" && path === Paths.Readyz) {
      const answer = readyzResponse(health);
      return json(answer.status, answer.body);
    }
    if (req.method !== "GET" || path !== Paths.Metrics) {
      return json(404, { code: "NOT_FOUND", message: "only GET /metrics, /healthz and /readyz are served here" });
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { "Content-Type": metrics.registry.contentType }).end(text),
      (err: unknown) => {
        logger.error({ err }, "metrics rendering failed");
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  logger.info({ port: actual }, "metrics listening (plain HTTP)");
  return {
    port: actual,
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}
