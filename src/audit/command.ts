/**
 * `sidecar-injector audit`: read a cluster snapshot (a file, or a live cluster), audit it with the
 * current configuration, print the report. Exit codes: 0 clean, 3 a finding at or above
 * --fail-on, 1 invalid input or configuration (2, usage, is the CLI's).
 */
import { readFile } from "node:fs/promises";
import { loadConfig, parseConfigText } from "../config/load-config.js";
import { ConfigError, InjectorError, InvalidInputError } from "../errors.js";
import { compileTemplate } from "../injection/template.js";
import { clusterAccessFrom, kubeConfigFor } from "../kube/client.js";
import { listClusterObjects } from "../kube/snapshot.js";
import { parseManifests } from "../preview/documents.js";
import { sniffFormat } from "../preview/commands.js";
import { type Severity, auditCluster, failsAt, flattenObjects } from "./audit.js";
import { formatAudit } from "./format.js";

export interface AuditCommandOptions {
  readonly fromFile?: string | undefined;
  readonly output: "table" | "json" | "yaml";
  readonly failOn: Severity;
  readonly configPath?: string | undefined;
  /** The CA the injector serves with (PEM), to check the webhooks' caBundle. */
  readonly caPath?: string | undefined;
}

export interface AuditIO {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export const EXIT_FINDINGS = 3;

async function read(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new InvalidInputError([`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
}

export async function runAudit(opts: AuditCommandOptions, io: AuditIO): Promise<number> {
  try {
    const configText = opts.configPath === undefined ? undefined : await read(opts.configPath);
    const config = loadConfig({
      env: io.env,
      ...(configText !== undefined && { file: { content: parseConfigText(configText, opts.configPath ?? ""), source: opts.configPath ?? "" } }),
    });
    let objects;
    let webhookConfigsListed: boolean | undefined;
    if (opts.fromFile !== undefined) {
      const text = await read(opts.fromFile);
      objects = flattenObjects(parseManifests(text, sniffFormat(text)).map((d) => d.value));
    } else {
      const kc = await kubeConfigFor(clusterAccessFrom(io.env));
      if (kc === null) throw new InvalidInputError(["no cluster: set KUBECONFIG (or run in a pod), or give --from-file"]);
      ({ objects, webhookConfigsListed } = await listClusterObjects(kc));
    }
    const servedCa = opts.caPath === undefined ? undefined : await read(opts.caPath);
    const report = auditCluster(objects, {
      template: compileTemplate(config),
      servedCa,
      ...(webhookConfigsListed !== undefined && { webhookConfigsListed }),
    });
    io.stdout(formatAudit(report, opts.output));
    return failsAt(report, opts.failOn) ? EXIT_FINDINGS : 0;
  } catch (err) {
    if (err instanceof InjectorError) {
      const what = err instanceof ConfigError ? "invalid configuration" : err instanceof InvalidInputError ? "invalid input" : "audit failed";
      io.stderr(`sidecar-injector: ${what}:\n${err.problems.map((p) => `  - ${p}`).join("\n")}\n`);
      return 1;
    }
    throw err;
  }
}
