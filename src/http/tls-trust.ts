// Which certificate authorities https connections trust, in the AWS CLI's order: --ca-bundle FILE,
// then AWS_CA_BUNDLE, then the profile's ca_bundle; none of them: Node's roots plus
// NODE_EXTRA_CA_CERTS (read by Node itself at start-up, the single executable included). A bundle,
// like the AWS CLI's, replaces the default roots: only its certificates are trusted.
// --no-verify-ssl turns the check off (the AWS CLI's flag); the caller warns once.
import { X509Certificate } from 'node:crypto';
import { UsageError } from '../errors.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface CaBundleChoice {
  file: string;
  /** Where it came from, for messages: `--ca-bundle`, `AWS_CA_BUNDLE`, `profile NAME (ca_bundle)`. */
  source: string;
}

/** Pure: the bundle to use, if any. */
export function chooseCaBundle(flag: string | undefined, env: Env, profile: { name: string; caBundle: string | undefined }): CaBundleChoice | undefined {
  if (flag !== undefined && flag !== '') return { file: flag, source: '--ca-bundle' };
  if (env.AWS_CA_BUNDLE !== undefined && env.AWS_CA_BUNDLE !== '') return { file: env.AWS_CA_BUNDLE, source: 'AWS_CA_BUNDLE' };
  if (profile.caBundle !== undefined && profile.caBundle !== '') return { file: profile.caBundle, source: `profile ${profile.name} (ca_bundle)` };
  return undefined;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The PEM certificates in a bundle's text; a usage error naming the file when there is none or one is broken. */
export function parseCaBundle(text: string, choice: CaBundleChoice): string[] {
  const certs = text.match(PEM_CERT) ?? [];
  if (certs.length === 0) {
    throw new UsageError(`${choice.source}: ${choice.file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  certs.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw new UsageError(`${choice.source}: ${choice.file}: certificate ${i + 1} of ${certs.length} cannot be read: ${(err as Error).message}`);
    }
  });
  return certs;
}

/** Reads and checks the chosen bundle. */
export function loadCaBundle(choice: CaBundleChoice, readFile: (path: string) => string): string[] {
  let text: string;
  try {
    text = readFile(choice.file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`${choice.source}: cannot read CA bundle ${choice.file}: ${e.code ?? e.message}`);
  }
  return parseCaBundle(text, choice);
}

export const NO_VERIFY_WARNING =
  'warning: --no-verify-ssl: TLS certificates are not checked; anyone on the network path can read and change the requests and answers';
