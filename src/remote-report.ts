/**
 * `audit --server` and `explain … --server`: ask a running injector's GET /audit or GET /explain
 * instead of reading the cluster here. Those endpoints answer only callers the cluster's RBAC
 * allows, so the request carries the caller's bearer token: --token, or the one KUBECONFIG's
 * current user sends to the API server. Every failure is an InvalidInputError saying what to do.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { type CommandIO, readInputFile } from "./command-io.js";
import { InvalidInputError } from "./errors.js";
import { bearerTokenOf, clusterAccessFrom, kubeConfigFor } from "./kube/client.js";

export interface RemoteReportOptions {
  /** The injector's base URL (https://…). */
  readonly server: string;
  /** CA to trust for `server` (PEM file). */
  readonly caPath?: string | undefined;
  /** The bearer token; default: KUBECONFIG's current user's. */
  readonly token?: string | undefined;
}

/** How long the injector may take to answer (a cluster-wide audit of a large cluster). */
const REMOTE_TIMEOUT_MS = 60_000;

/** --token, else the bearer token KUBECONFIG's current user (or the pod's ServiceAccount) sends. */
export async function callerToken(token: string | undefined, env: CommandIO["env"]): Promise<string> {
  if (token !== undefined) {
    if (!/^\S+$/.test(token)) throw new InvalidInputError(["--token must be a token without spaces (e.g. --token \"$(kubectl create token NAME)\")"]);
    return token;
  }
  let kc;
  try {
    kc = await kubeConfigFor(clusterAccessFrom(env));
  } catch (err) {
    throw new InvalidInputError([`cannot read KUBECONFIG for a bearer token: ${(err as Error).message}`]);
  }
  if (kc === null) throw new InvalidInputError(["no bearer token for --server: set KUBECONFIG or give --token \"$(kubectl create token NAME)\""]);
  let found: string | null;
  try {
    found = await bearerTokenOf(kc);
  } catch (err) {
    throw new InvalidInputError([`cannot get a bearer token from KUBECONFIG's current user: ${(err as Error).message}`]);
  }
  if (found === null) {
    throw new InvalidInputError([
      "KUBECONFIG's current user sends no bearer token (a client certificate?): give --token \"$(kubectl create token NAME)\"",
    ]);
  }
  return found;
}

/** GET `path?query` from the injector with the caller's token; the parsed JSON of a 200. */
export async function fetchRemoteReport(opts: RemoteReportOptions, path: "/audit" | "/explain", query: Readonly<Record<string, string>>, env: CommandIO["env"]): Promise<unknown> {
  let url: URL;
  try {
    url = new URL(path, opts.server);
  } catch {
    throw new InvalidInputError([`--server ${JSON.stringify(opts.server)} is not a URL`]);
  }
  for (const [k, v] of Object.entries({ ...query, output: "json" })) url.searchParams.set(k, v);
  const token = await callerToken(opts.token, env);
  const ca = opts.caPath === undefined ? undefined : await readInputFile(opts.caPath);
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const send = url.protocol === "http:" ? httpRequest : httpsRequest;
    const req = send(
      url,
      { method: "GET", headers: { Authorization: `Bearer ${token}`, Accept: "application/json" }, ...(ca !== undefined && { ca }), timeout: REMOTE_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${REMOTE_TIMEOUT_MS / 1000} s`)));
    req.on("error", (err) => reject(new InvalidInputError([`cannot reach ${url.origin}: ${err.message}`])));
    req.end();
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidInputError([`${url.origin} answered HTTP ${status} with a body that is not JSON`]);
  }
  if (status === 200) return parsed;
  const { code, message } = (parsed ?? {}) as { code?: unknown; message?: unknown };
  const why = typeof message === "string" ? message : `HTTP ${status}`;
  throw new InvalidInputError([`${url.origin}${path} answered HTTP ${status}${typeof code === "string" ? ` ${code}` : ""}: ${why}`]);
}
