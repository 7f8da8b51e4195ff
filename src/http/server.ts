/**
 * The HTTPS shell around the app: TLS (1.2 minimum), certificate swaps without dropping
 * connections (setSecureContext), and a graceful close: not ready, finish in-flight requests,
 * close keep-alive connections, and force the rest closed at the deadline.
 */
import type { RequestListener } from "node:http";
import { type Server, createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { describeCertificate, type KeyPair } from "../tls/certificates.js";

/** Shared, mutable lifecycle flags read by /readyz and the routes. */
export interface Lifecycle {
  ready: boolean;
  draining: boolean;
}

export interface ServerOptions {
  readonly app: RequestListener;
  /** The serving pair; null: handshakes fail until setCertificate (self-managed TLS waiting for its Secret). */
  readonly tls: KeyPair | null;
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
}

export interface ServerHandle {
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  /** Serve a new certificate for new TLS handshakes; open connections are kept. */
  setCertificate(pair: KeyPair): void;
  /**
   * Drain and close: not ready at once; keep accepting for `drainDelayMs` (endpoints catch up);
   * then stop listening, let in-flight requests finish and close keep-alive connections.
   * Resolves with timedOut when connections had to be cut at `deadlineMs` (counted from the call).
   */
  close(deadlineMs: number, drainDelayMs?: number): Promise<{ timedOut: boolean }>;
}

/** API servers keep webhook connections alive; match controller-runtime's/Pepr's timeouts. */
const KEEP_ALIVE_TIMEOUT_MS = 90_000;
const HEADERS_TIMEOUT_MS = 32_000;
const REQUEST_TIMEOUT_MS = 30_000;

export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const { logger, lifecycle } = opts;
  const server = createServer(
    { ...(opts.tls && { key: opts.tls.key, cert: opts.tls.cert }), minVersion: "TLSv1.2" },
    opts.app,
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.on("tlsClientError", (err) => logger.debug({ err: err.message }, "TLS handshake failed"));
  server.on("clientError", (err, socket) => {
    logger.debug({ err: err.message }, "client error");
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;

  let closing: Promise<{ timedOut: boolean }> | undefined;
  return {
    server,
    port: address.port,
    host: address.address,
    setCertificate(pair: KeyPair) {
      server.setSecureContext({ key: pair.key, cert: pair.cert, minVersion: "TLSv1.2" });
      const info = describeCertificate(pair.cert);
      logger.info({ notAfter: info.notAfter.toISOString(), fingerprint256: info.fingerprint256 }, "serving certificate swapped");
    },
    close(deadlineMs: number, drainDelayMs = 0) {
      closing ??= new Promise((resolve) => {
        lifecycle.draining = true;
        lifecycle.ready = false;
        let done = false;
        let sweep: NodeJS.Timeout | undefined;
        const finish = (timedOut: boolean) => {
          if (done) return;
          done = true;
          clearTimeout(delay);
          clearInterval(sweep);
          clearTimeout(deadline);
          resolve({ timedOut });
        };
        const deadline = setTimeout(() => {
          logger.warn({ deadlineMs }, "shutdown deadline passed; closing remaining connections");
          server.close();
          server.closeAllConnections();
          finish(true);
        }, deadlineMs);
        const delay = setTimeout(() => {
          server.close(() => finish(false));
          server.closeIdleConnections();
          // Keep-alive connections become idle once their in-flight response is sent: close them.
          sweep = setInterval(() => server.closeIdleConnections(), 25);
        }, Math.min(drainDelayMs, deadlineMs));
      });
      return closing;
    },
  };
}
