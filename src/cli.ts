#!/usr/bin/env node
/**
 * The `sidecar-injector` command. `serve` (the default) runs the webhook.
 * Exit codes: 0 done, 1 failure (invalid configuration, startup error), 2 usage error.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError } from "./errors.js";
import { installShutdown, serve } from "./main.js";

const USAGE = `Usage: sidecar-injector [serve] [options]

Commands:
  serve              Serve the injection webhook over HTTPS (default).

Options:
  --port N           Port to listen on (env PORT; default 8443).
  --config FILE      YAML or JSON configuration file, watched for changes.
  --cert-dir DIR     Folder with ca.crt, tls.crt and tls.key (env CERT_DIR; default certs).
  -h, --help         Show this help.
  -v, --version      Print the version.
`;

class UsageError extends Error {}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535 (got ${JSON.stringify(text)})`);
  }
  return Number(text);
}

export async function run(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: "string" },
        config: { type: "string" },
        "cert-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = positionals[0] ?? "serve";
  if (command !== "serve" || positionals.length > 1) {
    process.stderr.write(`unknown command: ${positionals.join(" ")}\n\n${USAGE}`);
    return 2;
  }
  try {
    const injector = await serve({
      env: process.env,
      flags: { port: parsePort(values.port), certDir: values["cert-dir"] },
      configPath: values.config,
    });
    installShutdown(injector);
    return -1; // keep running
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`sidecar-injector: invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join("\n")}\n`);
      return 1;
    }
    process.stderr.write(`sidecar-injector: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

const code = await run(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
