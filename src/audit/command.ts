/**
 * `sidecar-injector audit`: read a cluster snapshot (a file, or a live cluster), audit it with the
 * current configuration, print the report; or, with --server, print a running injector's GET /audit. Exit codes: 0 clean, 3 a finding at or above
 * --fail-on, 1 invalid input or configuration (2, usage, is the CLI's).
 */
import { type CommandIO, loadCommandConfig, readInputFile, reportFailure } from "../command-io.js";
import { InvalidInputError } from "../errors.js";
import { compileTemplate } from "../injection/template.js";
import { clusterAccessFrom, kubeConfigFor } from "../kube/client.js";
import { listClusterObjects } from "../kube/snapshot.js";
import { parseManifests } from "../preview/documents.js";
import { sniffFormat } from "../preview/commands.js";
import { type RemoteReportOptions, fetchRemoteReport } from "../remote-report.js";
import { type AuditReport, type Severity, auditCluster, failsAt, flattenObjects } from "./audit.js";
import { formatAudit } from "./format.js";

export interface AuditCommandOptions {
  readonly fromFile?: string | undefined;
  readonly output: "table" | "json" | "yaml";
  readonly failOn: Severity;
  readonly configPath?: string | undefined;
  /** The CA the injector serves with (PEM), to check the webhooks' caBundle; with `remote`, the CA to trust for it. */
  readonly caPath?: string | undefined;
  /** Ask a running injector's GET /audit (with the caller's bearer token) instead. */
  readonly remote?: Omit<RemoteReportOptions, "caPath"> | undefined;
}

export const EXIT_FINDINGS = 3;

export async function runAudit(opts: AuditCommandOptions, io: CommandIO): Promise<number> {
  try {
    if (opts.remote !== undefined) {
      const report = (await fetchRemoteReport({ ...opts.remote, caPath: opts.caPath }, "/audit", {}, io.env)) as AuditReport;
      io.stdout(formatAudit(report, opts.output));
      return failsAt(report, opts.failOn) ? EXIT_FINDINGS : 0;
    }
    const config = await loadCommandConfig(io.env, opts.configPath);
    let objects;
    let webhookConfigsListed: boolean | undefined;
    if (opts.fromFile !== undefined) {
      const text = await readInputFile(opts.fromFile);
      objects = flattenObjects(parseManifests(text, sniffFormat(text)).map((d) => d.value));
    } else {
      const kc = await kubeConfigFor(clusterAccessFrom(io.env));
      if (kc === null) throw new InvalidInputError(["no cluster: set KUBECONFIG (or run in a pod), or give --from-file"]);
      ({ objects, webhookConfigsListed } = await listClusterObjects(kc));
    }
    const servedCa = opts.caPath === undefined ? undefined : await readInputFile(opts.caPath);
    const report = auditCluster(objects, {
      template: compileTemplate(config),
      servedCa,
      ...(webhookConfigsListed !== undefined && { webhookConfigsListed }),
    });
    io.stdout(formatAudit(report, opts.output));
    return failsAt(report, opts.failOn) ? EXIT_FINDINGS : 0;
  } catch (err) {
    return reportFailure(err, io);
  }
}
