/**
 * `npm run e2e:kind [-- suite ...]`: the end-to-end suites on a throwaway kind cluster, in one
 * command, on a machine with Docker and kind (see plan.ts for the steps, README for what it needs).
 * Every step is printed before it runs; the cluster is deleted whatever happens (unless
 * E2E_KEEP_CLUSTER=1), and the exit code is the first failing step's.
 */
import { spawn } from "node:child_process";
import { constants, mkdtempSync, rmSync } from "node:fs";
import { access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";
import { REQUIRED_TOOLS, type Step, kindOptionsFrom, kindSteps } from "./plan.js";

export interface RunIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly print: (line: string) => void;
  /** The working directory of every command (the repository's root). */
  readonly cwd: string;
  /** Where the commands' output goes: this process's stdout and stderr unless given. */
  readonly output?: (chunk: string) => void;
}

/** Whether `command` is an executable on PATH (no shell, no `which`). */
async function onPath(command: string, env: RunIo["env"]): Promise<boolean> {
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    try {
      await access(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

function runStep(step: Step, io: RunIo): Promise<number> {
  return new Promise((resolve) => {
    const output = io.output;
    const child = spawn(step.command, [...step.args], { cwd: io.cwd, env: { ...io.env, ...step.env }, stdio: output ? "pipe" : "inherit" });
    if (output) {
      child.stdout?.on("data", (d: Buffer) => output(d.toString()));
      child.stderr?.on("data", (d: Buffer) => output(d.toString()));
    }
    child.on("error", (err) => {
      io.print(`${step.command}: ${err.message}`);
      resolve(127);
    });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Carry out the steps; returns the exit code (0, or the first failing step's). */
export async function runKindE2e(argv: readonly string[], io: RunIo): Promise<number> {
  const missing: string[] = [];
  for (const tool of REQUIRED_TOOLS) if (!(await onPath(tool, io.env))) missing.push(tool);
  if (missing.length > 0) {
    io.print(`e2e:kind needs ${missing.join(" and ")} on PATH (Docker with a running engine, and kind, sigs.k8s.io/kind). Nothing was done.`);
    return 2;
  }
  const workDir = mkdtempSync(join(tmpdir(), "injector-kind-"));
  const options = kindOptionsFrom(io.env, argv, io.cwd, workDir);
  let failed = 0;
  try {
    for (const step of kindSteps(options)) {
      if (failed !== 0 && !step.always) continue;
      io.print(`\n==> ${step.title}: ${[step.command, ...step.args].join(" ")}`);
      const code = await runStep(step, io);
      if (code !== 0 && failed === 0) {
        failed = code;
        io.print(`==> failed (exit ${code}): ${step.title}`);
      }
    }
    if (options.keepCluster) io.print(`\n==> kept the cluster; delete it with: kind delete cluster --name ${options.cluster} (kubeconfig: ${join(workDir, "kubeconfig")})`);
  } finally {
    if (!options.keepCluster) rmSync(workDir, { recursive: true, force: true });
  }
  io.print(failed === 0 ? "\n==> e2e:kind passed" : `\n==> e2e:kind failed (exit ${failed})`);
  return failed;
}

// Run as a program (not when imported by the rehearsal).
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  // npm runs scripts from the package's root.
  runKindE2e(process.argv.slice(2), { env: process.env, print: (l) => process.stdout.write(`${l}\n`), cwd: process.cwd() }).then((code) => process.exit(code));
}
