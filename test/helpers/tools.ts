// The tools some tests need beside Node (the AWS CLI, tinyproxy, openssl, GNU parallel, python3's
// pty). A test whose tool is missing FAILS, everywhere (not only under CI): a skipped test reads as
// a pass in `npm test`'s summary, and a skipped describe hides how many tests did not run.
// scripts/setup-tests.sh installs them all (the README's test command and .ci/run start with it).

export const SETUP_HINT = 'run `bash scripts/setup-tests.sh` (root or sudo) to install what the tests need, then `npm test` again';

/** Throws (failing the test or hook it runs in) when any reason is given: what is missing, and how to get it. */
export function requireTools(...missing: Array<string | false | undefined>): void {
  const reasons = missing.filter((m): m is string => typeof m === 'string' && m !== '');
  if (reasons.length > 0) throw new Error(`${reasons.join('; ')}: a missing tool fails its tests; ${SETUP_HINT}`);
}
