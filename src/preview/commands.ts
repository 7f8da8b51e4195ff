/**
 * The `inject` and `explain` commands: read manifests, run them through the preview (the
 * webhook's own pipeline), and print. Exit codes: 0 done, 1 invalid input or configuration.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { type CommandIO, type IstioFiles, loadCommandConfig, readInputFile, reportFailure } from "../command-io.js";
import { InvalidInputError } from "../errors.js";
import { compileTemplate } from "../injection/template.js";
import { type InputFormat, readDocuments } from "./documents.js";
import { explainJson, explainTable, formatManifests } from "./format.js";
import { type ObjectPreview, type PreviewParams, previewDocuments } from "./preview.js";

export interface PreviewCommandOptions {
  /** A file path, or "-" for standard input. */
  readonly filename: string;
  /** Ask a running injector's /preview (its live configuration) instead of rendering locally. */
  readonly server?: string | undefined;
  /** CA to trust for `server` (PEM file). */
  readonly caPath?: string | undefined;
  readonly output: string;
  readonly configPath?: string | undefined;
  /** Istio's values and mesh configuration files (ConfigMap exports or the bare objects). */
  readonly istioFiles?: IstioFiles | undefined;
  readonly namespace?: string | undefined;
  readonly namespaceLabels?: Readonly<Record<string, string>> | undefined;
}

/** Parse `k=v,k2=v2` (an empty string is no labels). Throws InvalidInputError naming the item. */
export function parseLabelList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new InvalidInputError([`namespace label ${JSON.stringify(item)} is not key=value`]);
    Object.defineProperty(out, item.slice(0, eq), { value: item.slice(eq + 1), enumerable: true, writable: true });
  }
  return out;
}

/** JSON when the text starts like JSON, else YAML (which also reads JSON). */
export function sniffFormat(text: string): InputFormat {
  const first = text.trimStart()[0];
  return first === "{" || first === "[" ? "json" : "yaml";
}

/** POST the manifests to a running injector's /preview and return its per-object results. */
async function previewRemotely(opts: PreviewCommandOptions, text: string, format: InputFormat): Promise<ObjectPreview[]> {
  const server = opts.server as string;
  let url: URL;
  try {
    url = new URL("/preview", server);
  } catch {
    throw new InvalidInputError([`--server ${JSON.stringify(server)} is not a URL`]);
  }
  url.searchParams.set("output", "json");
  if (opts.namespace) url.searchParams.set("namespace", opts.namespace);
  if (opts.namespaceLabels) {
    url.searchParams.set("namespaceLabels", Object.entries(opts.namespaceLabels).map(([k, v]) => `${k}=${v}`).join(","));
  }
  const ca = opts.caPath === undefined ? undefined : await readInputFile(opts.caPath);
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const send = url.protocol === "http:" ? httpRequest : httpsRequest;
    const req = send(
      url,
      {
        method: "POST",
        headers: { "Content-Type": format === "json" ? "application/json" : "application/yaml" },
        ...(ca !== undefined && { ca }),
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", (err) => reject(new InvalidInputError([`cannot reach ${url.origin}: ${err.message}`])));
    req.end(text);
  });
  let parsed: { results?: ObjectPreview[]; message?: string; problems?: string[] };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    throw new InvalidInputError([`${url.origin} answered HTTP ${status} with a body that is not JSON`]);
  }
  if (status !== 200 || !Array.isArray(parsed.results)) {
    throw new InvalidInputError(parsed.problems ?? [parsed.message ?? `${url.origin} answered HTTP ${status}`]);
  }
  return parsed.results;
}

async function prepare(opts: PreviewCommandOptions, io: CommandIO) {
  const text = opts.filename === "-" ? await io.readStdin() : await readInputFile(opts.filename);
  const format = sniffFormat(text);
  if (opts.server !== undefined) {
    const docs = readDocuments(text, format); // checked here too, so errors name the same paths
    return { docs, previews: await previewRemotely(opts, text, format) };
  }
  const config = await loadCommandConfig(io.env, opts.configPath, opts.istioFiles, io.stderr);
  const docs = readDocuments(text, format);
  const params: PreviewParams = { namespace: opts.namespace, namespaceLabels: opts.namespaceLabels };
  const previews = previewDocuments(docs, { template: compileTemplate(config), clusterSupportsNativeSidecars: undefined }, params);
  return { docs, previews };
}

/** `inject`: the manifests with every injectable pod template injected, in order. */
export async function runInject(opts: PreviewCommandOptions, io: CommandIO): Promise<number> {
  try {
    const { docs, previews } = await prepare(opts, io);
    const denied = previews.filter((p) => p.decision === "deny");
    if (denied.length > 0) {
      throw new InvalidInputError(denied.flatMap((p) => (p.error?.problems ?? []).map((m) => `${p.where} (${p.kind}/${p.name}): ${m}`)));
    }
    io.stdout(formatManifests(docs, previews, opts.output === "json" ? "json" : "yaml"));
    for (const p of previews) for (const w of p.warnings) io.stderr(`warning: ${p.kind}/${p.name}: ${w}\n`);
    return 0;
  } catch (err) {
    return reportFailure(err, io);
  }
}

/** `explain`: a table (or JSON) of every object's decision, reasons and warnings. */
export async function runExplain(opts: PreviewCommandOptions, io: CommandIO): Promise<number> {
  try {
    const { previews } = await prepare(opts, io);
    io.stdout(opts.output === "json" ? `${JSON.stringify(explainJson(previews), null, 2)}\n` : explainTable(previews));
    return 0;
  } catch (err) {
    return reportFailure(err, io);
  }
}
