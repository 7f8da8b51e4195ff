/**
 * `sidecar-injector explain [KIND/NAME] -n NS | -A`: read the cluster with the caller's own
 * credentials (read-only: get the namespace, list its workloads and pods, list the webhook
 * configurations when allowed), explain, print. Exit codes as for audit: 0 clean, 3 a finding at
 * or above --fail-on, 1 invalid input, configuration or a refused read (2, usage, is the CLI's).
 * With --server: the same report from a running injector's GET /explain, with the caller's token.
 */
import { type CommandIO, type IstioFiles, loadCommandConfig, readInputFile, reportFailure } from "../command-io.js";
import { InvalidInputError } from "../errors.js";
import { type Severity } from "../audit/audit.js";
import { EXIT_FINDINGS } from "../audit/command.js";
import { compileTemplate } from "../injection/template.js";
import { clusterAccessFrom, kubeConfigFor, makeKubeClients } from "../kube/client.js";
import { fetchClusterVersion, supportsNativeSidecars } from "../kube/cluster-version.js";
import { listClusterObjects } from "../kube/snapshot.js";
import { type RemoteReportOptions, fetchRemoteReport } from "../remote-report.js";
import { type ExplainReport, type ExplainTarget, explainCluster, explainFailsAt } from "./cluster.js";
import { formatExplain } from "./format.js";

export interface ExplainClusterOptions {
  readonly target: ExplainTarget;
  readonly output: "table" | "json" | "yaml";
  readonly failOn: Severity;
  readonly configPath?: string | undefined;
  /** Istio's values and mesh configuration files (ConfigMap exports or the bare objects). */
  readonly istioFiles?: IstioFiles | undefined;
  /** The CA the injector serves with (PEM), to check our webhooks' caBundle; with `remote`, the CA to trust for it. */
  readonly caPath?: string | undefined;
  /** Ask a running injector's GET /explain (with the caller's bearer token) instead. */
  readonly remote?: Omit<RemoteReportOptions, "caPath"> | undefined;
}

/** The GET /explain query for a target (the server parses it as the CLI does). */
export function explainQuery(target: ExplainTarget): Record<string, string> {
  return {
    ...(target.namespace !== null && { namespace: target.namespace }),
    ...(target.kind !== undefined && target.name !== undefined && { kind: target.kind, name: target.name }),
  };
}

/** How long the cluster version may take: it only decides `nativeSidecars: auto`. */
const VERSION_TIMEOUT_MS = 5_000;

export async function runExplainCluster(opts: ExplainClusterOptions, io: CommandIO): Promise<number> {
  try {
    if (opts.remote !== undefined) {
      const report = (await fetchRemoteReport({ ...opts.remote, caPath: opts.caPath }, "/explain", explainQuery(opts.target), io.env)) as ExplainReport;
      io.stdout(formatExplain(report, opts.output));
      return explainFailsAt(report, opts.failOn) ? EXIT_FINDINGS : 0;
    }
    const config = await loadCommandConfig(io.env, opts.configPath, opts.istioFiles, io.stderr);
    const servedCa = opts.caPath === undefined ? undefined : await readInputFile(opts.caPath);
    const kc = await kubeConfigFor(clusterAccessFrom(io.env));
    if (kc === null) throw new InvalidInputError(["no cluster: set KUBECONFIG (or run in a pod), or explain manifests with -f FILE"]);
    const snapshot = await listClusterObjects(kc, opts.target.namespace ?? undefined);
    // The answer for `nativeSidecars: auto` depends on the cluster's version, as in the webhook.
    let native: boolean | undefined;
    if (config.nativeSidecars === "auto") {
      try {
        native = supportsNativeSidecars(await fetchClusterVersion(await makeKubeClients(kc), VERSION_TIMEOUT_MS));
      } catch {
        native = undefined; // as in the webhook: unknown counts as off
      }
    }
    const report = explainCluster(snapshot.objects, opts.target, {
      context: { template: compileTemplate(config), clusterSupportsNativeSidecars: native },
      servedCa,
      webhookConfigsListed: snapshot.webhookConfigsListed,
      webhookConfigsError: snapshot.webhookConfigsError,
    });
    io.stdout(formatExplain(report, opts.output));
    return explainFailsAt(report, opts.failOn) ? EXIT_FINDINGS : 0;
  } catch (err) {
    return reportFailure(err, io);
  }
}
