#!/usr/bin/env node
/**
 * The `sidecar-injector` command: `serve` (the default) runs the webhook; `inject` and `explain`
 * run manifests through the same pipeline offline; `explain` without -f and `audit` read a cluster;
 * `rollout` restarts the workloads whose pods are out of date.
 * Exit codes: 0 done, 1 failure (invalid input or configuration, startup error), 2 usage error.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { runAudit } from "./audit/command.js";
import { ConfigError, InvalidInputError } from "./errors.js";
import { installShutdown, serve } from "./main.js";
import { tuneHeapGrowth } from "./memory.js";
import type { CommandIO } from "./command-io.js";
import { parseLabelList, runExplain, runInject } from "./preview/commands.js";
import { type ExplainKind, parseObjectRef } from "./explain/cluster.js";
import { runExplainCluster } from "./explain/command.js";
import { runRollout } from "./rollout/command.js";
import { ROLLOUT_FOR_ALL, type RolloutFor, type RolloutTarget } from "./rollout/plan.js";
import { packageVersion } from "./version.js";

const USAGE = `Usage: sidecar-injector [command] [options]

Commands:
  serve     Serve the injection webhook over HTTPS (the default).
  inject    Write manifests with every injectable pod template injected.
  explain   Show, per object (manifests, or a workload or pod in the cluster), whether it would be
            injected and why, with every webhook the API server would call for it.
  audit     Report pods missing, carrying stale or unexpected sidecars, and policy problems.
  rollout   Plan, and with --yes carry out, the restarts that bring every running pod to what
            the injector makes today, one workload at a time.

Run "sidecar-injector COMMAND --help" for a command's options. --debug (or DEBUG=1) prints the
stack trace of an unexpected failure.
`;

const SERVE_USAGE = `Usage: sidecar-injector [serve] [options]

Options:
  --role ROLE        What this replica serves (env ROLE; default all):
                       webhook  admission (/inject) and /preview; reads no more than namespaces;
                       reports  GET /audit and /explain from paged, trimmed caches of the
                                cluster, no admission (its own Deployment in a cluster);
                       all      both (the reports only with auditEndpoint: true).
  --port N           Port to listen on (env PORT; default 8443; 0 picks a free port).
  --config FILE      YAML or JSON configuration file, watched for changes.
  --istio-values FILE
                     Istio's injector values (ConfigMap istio-sidecar-injector exported with
                     kubectl get cm -o yaml, or its values object); read at startup.
  --mesh-config FILE Istio's mesh configuration (ConfigMap istio, or its mesh object); read at
                     startup. Settings of --config that disagree win, each noted in the log.
  --cert-dir DIR     Folder with ca.crt, tls.crt and tls.key (env CERT_DIR; default certs).
  --tls-mode MODE    Where the serving certificate comes from (env TLS_MODE; default auto):
                       local         the --cert-dir folder, generated on first start, reused;
                       files         tls.certFile/tls.keyFile (default the --cert-dir files),
                                     supplied by someone else (cert-manager), watched;
                       self-managed  a CA and serving pair shared by the replicas through the
                                     Secret tls.secretName; the Lease leader (tls.leaseName)
                                     issues, rotates, and keeps the caBundle of
                                     tls.webhookConfigName right;
                       auto          self-managed in a pod, local elsewhere.
  -h, --help         Show this help.
  -v, --version      Print the version.

Environment: KUBECONFIG (cluster access outside a pod), POD_NAMESPACE (the injector's namespace:
its Secret and Leases), POD_NAME (this replica's name in the leader election), ROLE, PORT, METRICS_PORT,
CERT_DIR, TLS_MODE, LOG_LEVEL. Every setting, with its default, is in docs/configuration.md.
`;

const PREVIEW_OPTIONS = `  -f, --filename FILE          Manifests to read (JSON or YAML, several documents allowed); - for stdin.
  --config FILE                The injector configuration to render with (default: the embedded one).
  --istio-values FILE          Istio's injector values (ConfigMap istio-sidecar-injector, or its values).
  --mesh-config FILE           Istio's mesh configuration (ConfigMap istio, or its mesh object).
  --namespace NS               The namespace the objects would be created in (default: theirs, else default).
  --namespace-labels k=v,...   The namespace's labels: adds the namespaceSelector outcome to the answer.
  --server URL                 Ask a running injector's /preview (its live configuration) instead.
  --ca FILE                    CA certificate to trust for --server (PEM).
  -h, --help                   Show this help.`;

const INJECT_USAGE = `Usage: sidecar-injector inject -f FILE|- [options]

Writes the manifests with every injectable pod template (Pod, Deployment, StatefulSet, DaemonSet,
ReplicaSet, ReplicationController, Job, CronJob, and those inside a List) injected; other documents
pass through unchanged, in order. Warnings go to standard error.

Options:
  -o, --output yaml|json       Output format (default yaml).
${PREVIEW_OPTIONS}
`;

const EXPLAIN_USAGE = `Usage: sidecar-injector explain -f FILE|- [options]
       sidecar-injector explain [KIND/NAME] (-n NAMESPACE | -A) [--server URL [--ca FILE] [--token T]] [options]

With -f: shows, per object of the manifests, the decision, every reason (code and sentence) and the
warnings.

Against the cluster (KUBECONFIG, or in-cluster configuration; read-only, with your own
credentials): for a workload (deployment/web, statefulset/…, daemonset/…, job/…, replicaset/…) or a
pod (pod/web-abc), or every workload and bare pod of a namespace (-n) or of the cluster (-A):
every mutating webhook the API server would call for a new pod of it, in its order, with the
selector term or matchCondition that keeps the pod out; this injector's decision with its reasons;
whether the running pods carry a current, stale or no sidecar; and findings with fixes
(webhook_conflict, missing_sidecar, stale_sidecar, podsecurity_conflict, webhook_config, ...).
With --server, a running injector's GET /explain answers instead, from its caches and with its
configuration; it needs your bearer token (KUBECONFIG's current user's, or --token) to be allowed
to list pods in NAMESPACE (with -A: cluster-wide).
Exit codes: 0 clean, 3 a finding at or above --fail-on, 1 invalid input or a refused read, 2 usage.

Options:
  -o, --output table|json|yaml Output format (default table; yaml only against the cluster).
  -n, --namespace NS           The namespace (with -f: the one the objects would be created in).
  -A, --all-namespaces         Every namespace (against the cluster).
  --fail-on warning|error      The lowest severity that makes the exit code 3 (default error;
                               against the cluster).
  --config FILE                The injector configuration to judge with (default: the embedded one).
  --istio-values FILE          Istio's injector values (ConfigMap istio-sidecar-injector, or its values).
  --mesh-config FILE           Istio's mesh configuration (ConfigMap istio, or its mesh object).
  --ca FILE                    Against the cluster: the CA the injector serves with (PEM), to check
                               the webhooks' caBundle. With --server: the CA to trust for it.
  -f, --filename FILE          Manifests to read (JSON or YAML, several documents allowed); - for stdin.
  --namespace-labels k=v,...   With -f: the namespace's labels (adds the namespaceSelector outcome).
  --server URL                 Ask a running injector: with -f its /preview (its live configuration),
                               against the cluster its /explain.
  --token TOKEN                With --server against the cluster: the bearer token to send (default:
                               KUBECONFIG's current user's), e.g. "$(kubectl create token NAME)".
  -h, --help                   Show this help.
`;

const AUDIT_USAGE = `Usage: sidecar-injector audit [--from-file FILE | --server URL [--ca FILE] [--token T]] [options]

Judges every pod of a cluster with the webhook's own decision code and the current configuration,
and reports findings (missing_sidecar, stale_sidecar, unexpected_sidecar, invalid_annotation,
podsecurity_conflict, opt_out_in_enabled_namespace, webhook_config, webhook_conflict) with the fix,
plus a restart plan.
Without --from-file it reads the cluster from KUBECONFIG (or in-cluster configuration). With
--server, a running injector's GET /audit answers instead; it needs your bearer token
(KUBECONFIG's current user's, or --token) to be allowed to list pods cluster-wide.
Exit codes: 0 clean, 3 a finding at or above --fail-on, 1 invalid input, 2 usage.

Options:
  --from-file FILE             A snapshot: kubectl get namespaces,pods,replicasets,deployments,statefulsets,daemonsets,jobs -A -o json (or YAML).
  -o, --output table|json|yaml Output format (default table).
  --fail-on warning|error      The lowest severity that makes the exit code 3 (default error).
  --config FILE                The injector configuration to judge with (default: the embedded one).
  --ca FILE                    The CA the injector serves with (PEM), to check the webhooks' caBundle.
                               With --server: the CA to trust for it.
  --server URL                 Ask a running injector's /audit (its caches and configuration).
  --token TOKEN                With --server: the bearer token to send (default: KUBECONFIG's current
                               user's), e.g. "$(kubectl create token NAME)".
  -h, --help                   Show this help.
`;

const ROLLOUT_USAGE = `Usage: sidecar-injector rollout [KIND/NAME] (-n NAMESPACE | -A) [options]

After a proxy upgrade, a configuration change or a namespace label change, running pods keep what
they were injected with. This command judges every pod as audit does (missing_sidecar,
stale_sidecar, unexpected_sidecar) and restarts the Deployments, StatefulSets and DaemonSets that
made them, with your own credentials (KUBECONFIG, or in-cluster configuration).

Without --yes it changes nothing: it prints the plan, the workloads it would restart in order
with why and what their pods carry now and after, and what it will not touch and why (bare pods,
with the command to run by hand; Jobs; workloads whose pod template opts out; paused Deployments;
OnDelete or partitioned StatefulSets; workloads already mid-rollout; workloads a
PodDisruptionBudget leaves no room for right now).

With --yes it restarts them as "kubectl rollout restart" does (the pod template annotation
kubectl.kubernetes.io/restartedAt), at most --max-in-flight at a time; waits for each by the rules
of "kubectl rollout status"; then checks that its new pods carry the sidecar the configuration
renders. On the first failure (a timeout, a progress deadline, new pods without the current
sidecar) it starts nothing more, waits for the restarts in flight, and names the failed workload,
its condition and the command to undo it. Nothing is scaled, deleted or evicted. Run it again
after a fix: it re-reads the cluster and continues with what is still out of date.

Exit codes: 0 done or nothing to do (always, without --yes), 3 stopped on a failure, 1 invalid
input, not found or refused by the API server, 2 usage.

Options:
  -n, --namespace NS           The namespace.
  -A, --all-namespaces         Every namespace.
  --for LIST                   Which findings to fix, comma-separated: missing, stale, unexpected
                               (default all three).
  --max-in-flight N            Workloads mid-rollout at once, across namespaces (default 1).
  --timeout DURATION           How long one workload's rollout may take (default 5m): 90s, 5m, 1h.
  --yes                        Carry the plan out (without it, only print it).
  -o, --output table|json      Output format (default table).
  --config FILE                The injector configuration to judge with (default: the embedded one).
  -h, --help                   Show this help.
`;

class UsageError extends Error {
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.usage = usage;
  }
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535 (got ${JSON.stringify(text)})`, SERVE_USAGE);
  }
  return Number(text);
}

function parse<T extends NonNullable<ParseArgsConfig["options"]>>(args: readonly string[], options: T, usage: string, allowPositionals = false) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
}

const previewOptions = {
  filename: { type: "string", short: "f" },
  output: { type: "string", short: "o" },
  config: { type: "string" },
  "istio-values": { type: "string" },
  "mesh-config": { type: "string" },
  namespace: { type: "string" },
  "namespace-labels": { type: "string" },
  server: { type: "string" },
  ca: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const explainOptions = {
  ...previewOptions,
  token: { type: "string" },
  namespace: { type: "string", short: "n" },
  "all-namespaces": { type: "boolean", short: "A" },
  "fail-on": { type: "string" },
} as const;

/** -o and --fail-on of the commands that report findings (audit, explain against the cluster). */
function reportFlags(values: { output?: string | undefined; "fail-on"?: string | undefined }, usage: string) {
  const output = values.output ?? "table";
  if (output !== "table" && output !== "json" && output !== "yaml") {
    throw new UsageError(`-o must be one of table, json, yaml (got ${JSON.stringify(output)})`, usage);
  }
  const failOn = values["fail-on"] ?? "error";
  if (failOn !== "warning" && failOn !== "error") {
    throw new UsageError(`--fail-on must be warning or error (got ${JSON.stringify(failOn)})`, usage);
  }
  return { output, failOn } as const;
}

/** --server and --token of the commands that can ask a running injector's /audit or /explain. */
function remoteFlags(values: { server?: string | undefined; token?: string | undefined; config?: string | undefined }, usage: string) {
  if (values.server === undefined) {
    if (values.token !== undefined) throw new UsageError("--token goes with --server", usage);
    return undefined;
  }
  if (values.config !== undefined) throw new UsageError("--config and --server do not go together: the server judges with its own configuration", usage);
  return { server: values.server, token: values.token };
}

function stdio(): CommandIO {
  return {
    env: process.env,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  };
}

type PreviewValues = ReturnType<typeof parse<typeof previewOptions>>["values"];

/** `explain`: against the cluster (KIND/NAME or everything, in -n NS or -A), or, with -f, on manifests. */
async function runExplainCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, explainOptions, EXPLAIN_USAGE, true);
  if (values.help) {
    process.stdout.write(EXPLAIN_USAGE);
    return 0;
  }
  if (values.filename !== undefined) {
    if (positionals.length > 0) throw new UsageError(`KIND/NAME goes with explain against the cluster, not with -f (got ${positionals.join(" ")})`, EXPLAIN_USAGE);
    for (const flag of ["all-namespaces", "fail-on", "token"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with explain against the cluster, not with -f`, EXPLAIN_USAGE);
    }
    return runFileCommand("explain", values, EXPLAIN_USAGE);
  }
  if (values["namespace-labels"] !== undefined) throw new UsageError("--namespace-labels goes with -f FILE only", EXPLAIN_USAGE);
  const remote = remoteFlags(values, EXPLAIN_USAGE);
  if (positionals.length > 1) throw new UsageError(`one KIND/NAME at most (got ${positionals.join(" ")})`, EXPLAIN_USAGE);
  const all = values["all-namespaces"] === true;
  if (all === (values.namespace !== undefined)) throw new UsageError("give -n NAMESPACE or -A (or -f FILE for manifests)", EXPLAIN_USAGE);
  let ref: { kind: ExplainKind; name: string } | undefined;
  if (positionals[0] !== undefined) {
    if (all) throw new UsageError("KIND/NAME needs -n NAMESPACE, not -A", EXPLAIN_USAGE);
    try {
      ref = parseObjectRef(positionals[0]);
    } catch (err) {
      throw new UsageError((err as InvalidInputError).problems.join("; "), EXPLAIN_USAGE);
    }
  }
  const { output, failOn } = reportFlags(values, EXPLAIN_USAGE);
  const target = { namespace: all ? null : (values.namespace ?? null), ...ref };
  if (remote !== undefined && (values["istio-values"] !== undefined || values["mesh-config"] !== undefined)) {
    throw new UsageError("--istio-values and --mesh-config do not go together with --server: the server judges with its own configuration", EXPLAIN_USAGE);
  }
  const istioFiles = { valuesPath: values["istio-values"], meshConfigPath: values["mesh-config"] };
  return runExplainCluster({ target, output, failOn, configPath: values.config, istioFiles, caPath: values.ca, remote }, stdio());
}

async function runInjectCommand(args: readonly string[]): Promise<number> {
  const { values } = parse(args, previewOptions, INJECT_USAGE);
  if (values.help) {
    process.stdout.write(INJECT_USAGE);
    return 0;
  }
  return runFileCommand("inject", values, INJECT_USAGE);
}

/** `inject -f` and `explain -f`: manifests run through the pipeline (locally, or by a running injector). */
async function runFileCommand(command: "inject" | "explain", values: PreviewValues, usage: string): Promise<number> {
  if (values.filename === undefined) throw new UsageError("-f FILE (or -f - for standard input) is required", usage);
  const outputs = command === "inject" ? ["yaml", "json"] : ["table", "json"];
  const output = values.output ?? outputs[0] ?? "";
  if (!outputs.includes(output)) throw new UsageError(`-o must be one of ${outputs.join(", ")} (got ${JSON.stringify(output)})`, usage);
  let namespaceLabels: Record<string, string> | undefined;
  if (values["namespace-labels"] !== undefined) {
    try {
      namespaceLabels = parseLabelList(values["namespace-labels"]);
    } catch (err) {
      throw new UsageError(`--namespace-labels: ${(err as InvalidInputError).problems.join("; ")}`, usage);
    }
  }
  if (values.server !== undefined && (values.config !== undefined || values["istio-values"] !== undefined || values["mesh-config"] !== undefined)) {
    throw new UsageError("--config, --istio-values and --mesh-config do not go together with --server: the server renders with its own configuration", usage);
  }
  const opts = {
    filename: values.filename,
    output,
    configPath: values.config,
    istioFiles: { valuesPath: values["istio-values"], meshConfigPath: values["mesh-config"] },
    namespace: values.namespace,
    namespaceLabels,
    server: values.server,
    caPath: values.ca,
  };
  return command === "inject" ? runInject(opts, stdio()) : runExplain(opts, stdio());
}

async function runAuditCommand(args: readonly string[]): Promise<number> {
  const { values } = parse(
    args,
    {
      "from-file": { type: "string" },
      output: { type: "string", short: "o" },
      "fail-on": { type: "string" },
      config: { type: "string" },
      ca: { type: "string" },
      server: { type: "string" },
      token: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    AUDIT_USAGE,
  );
  if (values.help) {
    process.stdout.write(AUDIT_USAGE);
    return 0;
  }
  const { output, failOn } = reportFlags(values, AUDIT_USAGE);
  if (values.server !== undefined && values["from-file"] !== undefined) throw new UsageError("--from-file and --server do not go together", AUDIT_USAGE);
  const remote = remoteFlags(values, AUDIT_USAGE);
  return runAudit(
    { fromFile: values["from-file"], output, failOn, configPath: values.config, caPath: values.ca, remote },
    stdio(),
  );
}

/** A duration as kubectl takes it: 90s, 5m, 1h30m, 500ms (a plain number is seconds). */
function parseDuration(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest !== "") {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * (units[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return text === "" ? null : total;
}

const ROLLOUT_KINDS: Readonly<Record<string, RolloutTarget["kind"]>> = { Deployment: "Deployment", StatefulSet: "StatefulSet", DaemonSet: "DaemonSet" };

async function runRolloutCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      namespace: { type: "string", short: "n" },
      "all-namespaces": { type: "boolean", short: "A" },
      for: { type: "string" },
      "max-in-flight": { type: "string" },
      timeout: { type: "string" },
      yes: { type: "boolean" },
      output: { type: "string", short: "o" },
      config: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    ROLLOUT_USAGE,
    true,
  );
  if (values.help) {
    process.stdout.write(ROLLOUT_USAGE);
    return 0;
  }
  const all = values["all-namespaces"] === true;
  if (all === (values.namespace !== undefined)) throw new UsageError("give -n NAMESPACE or -A", ROLLOUT_USAGE);
  if (positionals.length > 1) throw new UsageError(`one KIND/NAME at most (got ${positionals.join(" ")})`, ROLLOUT_USAGE);
  let target: RolloutTarget | undefined;
  if (positionals[0] !== undefined) {
    if (all) throw new UsageError("KIND/NAME needs -n NAMESPACE, not -A", ROLLOUT_USAGE);
    let ref;
    try {
      ref = parseObjectRef(positionals[0]);
    } catch (err) {
      throw new UsageError((err as InvalidInputError).problems.join("; "), ROLLOUT_USAGE);
    }
    const kind = ROLLOUT_KINDS[ref.kind];
    if (kind === undefined) throw new UsageError(`rollout restarts a deployment, statefulset or daemonset (got ${positionals[0]})`, ROLLOUT_USAGE);
    target = { kind, name: ref.name };
  }
  const output = values.output ?? "table";
  if (output !== "table" && output !== "json") throw new UsageError(`-o must be one of table, json (got ${JSON.stringify(output)})`, ROLLOUT_USAGE);
  let forList: RolloutFor[] = [...ROLLOUT_FOR_ALL];
  if (values.for !== undefined) {
    const items = values.for.split(",").map((f) => f.trim());
    const unknown = items.filter((f) => !(ROLLOUT_FOR_ALL as readonly string[]).includes(f));
    if (unknown.length > 0 || items.length === 0) throw new UsageError(`--for takes a comma-separated list of missing, stale, unexpected (got ${JSON.stringify(values.for)})`, ROLLOUT_USAGE);
    forList = ROLLOUT_FOR_ALL.filter((f) => items.includes(f));
  }
  const maxText = values["max-in-flight"] ?? "1";
  if (!/^\d+$/.test(maxText) || Number(maxText) < 1 || Number(maxText) > 100) throw new UsageError(`--max-in-flight must be an integer from 1 to 100 (got ${JSON.stringify(maxText)})`, ROLLOUT_USAGE);
  const timeoutMs = parseDuration(values.timeout ?? "5m");
  if (timeoutMs === null || timeoutMs <= 0) throw new UsageError(`--timeout must be a duration such as 90s, 5m or 1h (got ${JSON.stringify(values.timeout)})`, ROLLOUT_USAGE);
  return runRollout(
    { namespace: all ? null : (values.namespace ?? null), target, for: forList, maxInFlight: Number(maxText), timeoutMs, yes: values.yes === true, output, configPath: values.config },
    { ...stdio(), isTTY: process.stdout.isTTY === true },
  );
}

async function runServe(args: readonly string[]): Promise<number> {
  const { values } = parse(
    args,
    {
      role: { type: "string" },
      port: { type: "string" },
      config: { type: "string" },
      "istio-values": { type: "string" },
      "mesh-config": { type: "string" },
      "cert-dir": { type: "string" },
      "tls-mode": { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
    SERVE_USAGE,
  );
  if (values.help) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  try {
    tuneHeapGrowth();
    const injector = await serve({
      env: process.env,
      flags: { role: values.role, port: parsePort(values.port), certDir: values["cert-dir"], tlsMode: values["tls-mode"] },
      configPath: values.config,
      istioFiles: { valuesPath: values["istio-values"], meshConfigPath: values["mesh-config"] },
    });
    installShutdown(injector);
    return -1; // keep running
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sidecar-injector: invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join("\n")}\n`);
      return 1;
    }
    throw err;
  }
}

/** `--debug` (anywhere) or DEBUG=1: print the stack of an unexpected failure. */
function debugRequested(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  return argv.includes("--debug") || (env.DEBUG !== undefined && env.DEBUG !== "" && env.DEBUG !== "0");
}

export async function run(argv: readonly string[]): Promise<number> {
  const debug = debugRequested(argv, process.env);
  const [first, ...rest] = argv.filter((a) => a !== "--debug");
  try {
    if (first === "inject") return await runInjectCommand(rest);
    if (first === "explain") return await runExplainCommand(rest);
    if (first === "audit") return await runAuditCommand(rest);
    if (first === "rollout") return await runRolloutCommand(rest);
    if (first === "serve") return await runServe(rest);
    if (first === "help" || ((first === "-h" || first === "--help") && rest.length === 0)) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (first !== undefined && !first.startsWith("-")) throw new UsageError(`unknown command: ${first}`, USAGE);
    return await runServe(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${err.usage}`);
      return 2;
    }
    // Not a failure we expected (those are reported by each command): a bug of ours. The message,
    // and the stack only when asked for.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      debug ? `sidecar-injector: internal error: ${(err as Error).stack ?? message}\n` : `sidecar-injector: internal error: ${message}\n(run again with --debug or DEBUG=1 for the stack trace)\n`,
    );
    return 1;
  }
}

const code = await run(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
