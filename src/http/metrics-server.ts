/**
 * An optional plain-HTTP listener that serves only GET /metrics, for scrapers that do not speak
 * the webhook's TLS (config server.metricsPort).
 */
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";

export async function startMetricsServer(metrics: Metrics, port: number, host: string, logger: Logger): Promise<{ port: number; close(): void }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "Content-Type": "application/json" }).end('{"code":"NOT_FOUND","message":"only GET /metrics is served here"}');
      return;
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
