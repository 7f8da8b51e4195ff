/**
 * The local certificate folder (certs/): ca.crt, ca.key, tls.crt, tls.key. On start the serving
 * pair is reused while valid, re-issued from the existing CA when not, and everything is generated
 * when there is no usable CA. Private keys are written with mode 0600, atomically (temp + rename).
 * A watcher swaps in changed files (e.g. a mounted Secret updated by symlink swap) via a callback.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { CertificateError } from "../errors.js";
import { type FolderWatch, watchFolder } from "../watch-folder.js";
import { type KeyPair, checkServingPair, describeCertificate, generateCA, generateServingCert } from "./certificates.js";

export const CertFile = {
  CaCert: "ca.crt",
  CaKey: "ca.key",
  Cert: "tls.crt",
  Key: "tls.key",
} as const;

export interface ServingMaterial extends KeyPair {
  /** The CA that signed `cert` (PEM), for clients to pin and for the webhook's caBundle. */
  readonly caCert: string;
}

export interface LocalCertOptions {
  readonly dir: string;
  readonly names: readonly string[];
  readonly now: Date;
  readonly caDays?: number;
  readonly certDays?: number;
  /** Re-issue the serving certificate when less than this many days are left. */
  readonly renewBeforeDays?: number;
}

/** The names a serving certificate must cover: loopback plus the in-cluster service names. */
export function servingNames(service: { name: string; namespace: string }, clusterDomain = "cluster.local"): string[] {
  const { name, namespace } = service;
  return [
    "localhost",
    "127.0.0.1",
    "::1",
    name,
    `${name}.${namespace}`,
    `${name}.${namespace}.svc`,
    `${name}.${namespace}.svc.${clusterDomain}`,
  ];
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CertificateError(`cannot read ${path}: ${(err as Error).message}`, err);
  }
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

function caUsable(ca: KeyPair | undefined, now: Date, minDays: number): ca is KeyPair {
  if (!ca) return false;
  try {
    const info = describeCertificate(ca.cert);
    return info.notAfter.getTime() - now.getTime() > minDays * 86_400_000 && info.notBefore <= now;
  } catch {
    return false;
  }
}

/**
 * Load the serving material from `dir`, creating or renewing what is missing or unusable.
 * Returns what was done, for the startup log line.
 */
export async function loadOrCreateLocalCerts(
  opts: LocalCertOptions,
): Promise<{ material: ServingMaterial; action: "reused" | "renewed" | "created" }> {
  const caDays = opts.caDays ?? 3650;
  const certDays = opts.certDays ?? 365;
  const renewBefore = opts.renewBeforeDays ?? 30;
  const dir = opts.dir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const [caCert, caKey, cert, key] = await Promise.all(
    [CertFile.CaCert, CertFile.CaKey, CertFile.Cert, CertFile.Key].map((f) => readIfExists(join(dir, f))),
  );
  const ca = caCert && caKey ? { cert: caCert, key: caKey } : undefined;

  if (caCert && cert && key) {
    const problems = checkServingPair({ cert, key }, caCert, opts.names, opts.now);
    const renewAt = new Date(opts.now.getTime() + renewBefore * 86_400_000);
    const fresh = problems.length === 0 && describeCertificate(cert).notAfter > renewAt;
    if (fresh) return { material: { caCert, cert, key }, action: "reused" };
  }

  let action: "renewed" | "created" = "renewed";
  let signer: KeyPair;
  if (caUsable(ca, opts.now, certDays)) {
    signer = ca;
  } else {
    signer = await generateCA({ commonName: "sidecar-injector local CA", days: caDays, now: opts.now });
    await writeAtomic(join(dir, CertFile.CaKey), signer.key, 0o600);
    await writeAtomic(join(dir, CertFile.CaCert), signer.cert, 0o644);
    action = "created";
  }
  const pair = await generateServingCert({ ca: signer, names: opts.names, days: certDays, now: opts.now });
  await writeAtomic(join(dir, CertFile.Key), pair.key, 0o600);
  await writeAtomic(join(dir, CertFile.Cert), pair.cert, 0o644);
  return { material: { caCert: signer.cert, cert: pair.cert, key: pair.key }, action };
}

/** Where a serving pair is read from: the cert folder's files, or paths given in files mode. */
export interface ServingPaths {
  readonly cert: string;
  readonly key: string;
  /** Optional in files mode (the CA is then unknown to the injector). */
  readonly ca?: string | undefined;
}

export function folderPaths(dir: string): ServingPaths {
  return { cert: join(dir, CertFile.Cert), key: join(dir, CertFile.Key), ca: join(dir, CertFile.CaCert) };
}

/** Read the serving pair (and CA) as they are now; throws CertificateError when unusable. */
export async function readServingFiles(paths: ServingPaths, now: Date): Promise<ServingMaterial> {
  const [cert, key, caCert] = await Promise.all([paths.cert, paths.key, paths.ca].map((f) => (f === undefined ? undefined : readIfExists(f))));
  if (!cert || !key) throw new CertificateError(`no certificate and key at ${paths.cert} and ${paths.key}`);
  const problems = caCert ? checkServingPair({ cert, key }, caCert, [], now) : checkValidity({ cert, key }, now);
  if (problems.length > 0) throw new CertificateError(`${paths.cert}: ${problems.join("; ")}`);
  return { caCert: caCert ?? "", cert, key };
}

/** Without a CA to check against: the key matches and the certificate is within its validity. */
function checkValidity(pair: KeyPair, now: Date): string[] {
  try {
    const info = describeCertificate(pair.cert);
    const problems: string[] = [];
    if (now < info.notBefore) problems.push(`the certificate is not valid before ${info.notBefore.toISOString()}`);
    if (now >= info.notAfter) problems.push(`the certificate expired at ${info.notAfter.toISOString()}`);
    if (!new X509Certificate(pair.cert).checkPrivateKey(createPrivateKey(pair.key))) problems.push("the private key does not match the certificate");
    return problems;
  } catch (err) {
    return [(err as Error).message];
  }
}

/**
 * Watch the files' folders and call `onChange` with the new material when they change and are
 * usable; unusable files are logged and the current certificate stays in service.
 */
export function watchServingFiles(
  paths: ServingPaths,
  onChange: (m: ServingMaterial) => void,
  logger: Logger,
  now: () => Date = () => new Date(),
  debounceMs = 250,
  initialFingerprint = "",
): FolderWatch {
  let last = initialFingerprint;
  const reload = async (): Promise<void> => {
    try {
      const m = await readServingFiles(paths, now());
      const fingerprint = describeCertificate(m.cert).fingerprint256;
      if (fingerprint === last) return;
      last = fingerprint;
      onChange(m);
    } catch (err) {
      logger.warn({ cert: paths.cert, err: (err as Error).message }, "certificate files changed but are not usable; keeping the current certificate");
    }
  };
  const dirs = [...new Set([paths.cert, paths.key, ...(paths.ca ? [paths.ca] : [])].map((p) => dirname(p)))];
  const watches = dirs.map((d) => watchFolder(d, debounceMs, reload, logger, "certificate folder"));
  return { close: () => watches.forEach((w) => w.close()) };
}
