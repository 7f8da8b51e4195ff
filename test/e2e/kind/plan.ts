/**
 * The steps of `npm run e2e:kind`, as data: create a kind cluster, build the image and load it
 * into the cluster, run the end-to-end suites against it, delete the cluster. Pure: the runner
 * (run.ts) carries them out, and the rehearsal in `npm test` checks them against stand-ins.
 */
import { join } from "node:path";

export interface Step {
  /** What the step does, as printed before it runs. */
  readonly title: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Extra environment for the command. */
  readonly env?: Readonly<Record<string, string>>;
  /** Runs even after an earlier step failed (clean-up). */
  readonly always?: boolean;
}

export interface KindOptions {
  /** The repository's root (where the Dockerfile and package.json are). */
  readonly root: string;
  /** A folder of our own for the cluster's kubeconfig. */
  readonly workDir: string;
  /** kind cluster name. */
  readonly cluster: string;
  /** The image tag built and loaded (a tag other than latest, so the kubelet never pulls it). */
  readonly image: string;
  /** kindest/node image to run (a Kubernetes version), or undefined for kind's default. */
  readonly nodeImage?: string | undefined;
  /** Keep the cluster afterwards (to look around); its deletion is then printed, not run. */
  readonly keepCluster: boolean;
  /** Test path patterns passed to the e2e run (all e2e suites when empty). */
  readonly suites: readonly string[];
}

/** The commands the steps need on PATH. */
export const REQUIRED_TOOLS = ["docker", "kind"] as const;

export function kindKubeconfig(o: Pick<KindOptions, "workDir">): string {
  return join(o.workDir, "kubeconfig");
}

/** The whole run, in order; the deletion last and `always`. */
export function kindSteps(o: KindOptions): Step[] {
  const kubeconfig = kindKubeconfig(o);
  const deleteCluster: Step = { title: `delete the kind cluster ${o.cluster}`, command: "kind", args: ["delete", "cluster", "--name", o.cluster], always: true };
  return [
    { title: "check that the Docker engine runs", command: "docker", args: ["info", "--format", "{{.ServerVersion}}"] },
    {
      title: `create the kind cluster ${o.cluster}`,
      command: "kind",
      args: ["create", "cluster", "--name", o.cluster, "--kubeconfig", kubeconfig, "--wait", "180s", ...(o.nodeImage ? ["--image", o.nodeImage] : [])],
    },
    { title: `build the image ${o.image}`, command: "docker", args: ["build", "-t", o.image, o.root] },
    { title: `load ${o.image} into the cluster's nodes`, command: "kind", args: ["load", "docker-image", o.image, "--name", o.cluster] },
    {
      title: "run the end-to-end suites against the cluster",
      command: "npm",
      args: ["run", "test:e2e", ...(o.suites.length > 0 ? ["--", ...o.suites] : [])],
      env: { KUBECONFIG: kubeconfig, E2E_IMAGE: o.image },
    },
    ...(o.keepCluster ? [] : [deleteCluster]),
  ];
}

/** Options from the environment and arguments of `npm run e2e:kind [-- suite ...]`. */
export function kindOptionsFrom(env: Readonly<Record<string, string | undefined>>, argv: readonly string[], root: string, workDir: string): KindOptions {
  return {
    root,
    workDir,
    cluster: env.E2E_KIND_CLUSTER || "sidecar-injector-e2e",
    image: env.E2E_IMAGE || "sidecar-injector:e2e",
    nodeImage: env.E2E_KIND_NODE_IMAGE || undefined,
    keepCluster: env.E2E_KEEP_CLUSTER === "1",
    suites: argv,
  };
}
