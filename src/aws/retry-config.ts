// Pure: how many attempts a record gets and which retry mode applies, from the flag, the environment
// and the shared config profile, in the AWS SDKs' order (flag, then AWS_MAX_ATTEMPTS / AWS_RETRY_MODE,
// then the profile's max_attempts / retry_mode, then the defaults). The variables and keys are read
// with the JS SDK's own selectors (@smithy/core/retry NODE_MAX_ATTEMPT_CONFIG_OPTIONS and
// NODE_RETRY_MODE_CONFIG_OPTIONS, what its clients' loadConfig calls); the values are then checked
// more strictly than the SDK does (its parseInt reads "3x" as 3 and lets 0 through, and it silently
// falls back to the next source on a bad value): a bad value is a usage error naming where it is.
import { DEFAULT_MAX_ATTEMPTS, NODE_MAX_ATTEMPT_CONFIG_OPTIONS, NODE_RETRY_MODE_CONFIG_OPTIONS, RETRY_MODES } from '@smithy/core/retry';
import { UsageError } from '../errors.js';

type Env = Readonly<Record<string, string | undefined>>;
type Profile = Record<string, string | undefined>;

/** The retry modes of the SDKs and the AWS CLI. `legacy` (the CLI's pre-standard mode) is run as `standard`. */
export type RetryMode = 'standard' | 'adaptive';

export interface RetrySettings {
  maxAttempts: number;
  /** `--max-attempts`, `AWS_MAX_ATTEMPTS`, `profile NAME (max_attempts)` or `default`. */
  maxAttemptsSource: string;
  retryMode: RetryMode;
  /** The mode as configured (`legacy` is run as `standard`). */
  retryModeConfigured: string;
  /** `AWS_RETRY_MODE`, `profile NAME (retry_mode)` or `default`. */
  retryModeSource: string;
}

export const MAX_ATTEMPTS_LIMIT = 100;
const MODES: readonly string[] = [RETRY_MODES.STANDARD, RETRY_MODES.ADAPTIVE, 'legacy'];

/**
 * @param flag --max-attempts as given, or undefined when the flag was absent.
 * @param profile the merged profile (config and credentials file) the run uses; `profileName` names it in errors.
 */
export function resolveRetrySettings(flag: number | undefined, env: Env, profile: Profile, profileName: string): RetrySettings {
  const fromProfile = `profile ${JSON.stringify(profileName)} (max_attempts)`;
  let maxAttempts: number;
  let maxAttemptsSource: string;
  const envAttempts = select(() => NODE_MAX_ATTEMPT_CONFIG_OPTIONS.environmentVariableSelector(env), 'AWS_MAX_ATTEMPTS', env.AWS_MAX_ATTEMPTS);
  const profileAttempts = select(() => NODE_MAX_ATTEMPT_CONFIG_OPTIONS.configFileSelector(profile), fromProfile, profile.max_attempts);
  if (flag !== undefined) [maxAttempts, maxAttemptsSource] = [flag, '--max-attempts'];
  else if (envAttempts !== undefined) [maxAttempts, maxAttemptsSource] = [wholeNumber('AWS_MAX_ATTEMPTS', env.AWS_MAX_ATTEMPTS!), 'AWS_MAX_ATTEMPTS'];
  else if (profileAttempts !== undefined) [maxAttempts, maxAttemptsSource] = [wholeNumber(fromProfile, profile.max_attempts!), fromProfile];
  else [maxAttempts, maxAttemptsSource] = [DEFAULT_MAX_ATTEMPTS, 'default'];

  const modeFromProfile = `profile ${JSON.stringify(profileName)} (retry_mode)`;
  const envMode = nonEmpty(NODE_RETRY_MODE_CONFIG_OPTIONS.environmentVariableSelector(env));
  const profileMode = nonEmpty(NODE_RETRY_MODE_CONFIG_OPTIONS.configFileSelector(profile));
  const [configured, retryModeSource] =
    envMode !== undefined
      ? [envMode, 'AWS_RETRY_MODE']
      : profileMode !== undefined
        ? [profileMode, modeFromProfile]
        : [RETRY_MODES.STANDARD as string, 'default'];
  if (!MODES.includes(configured)) {
    throw new UsageError(`${retryModeSource} must be one of ${MODES.join(', ')}, got ${JSON.stringify(configured)}`);
  }
  const retryMode: RetryMode = configured === RETRY_MODES.ADAPTIVE ? 'adaptive' : 'standard';
  return { maxAttempts, maxAttemptsSource, retryMode, retryModeConfigured: configured, retryModeSource };
}

/** Runs one of the SDK's selectors; its own complaint about a value becomes a usage error naming the source. */
function select<T>(selector: () => T | undefined, source: string, raw: string | undefined): T | undefined {
  try {
    return selector();
  } catch {
    throw new UsageError(`${source} must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}, got ${JSON.stringify(raw)}`);
  }
}

function wholeNumber(source: string, text: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || n < 1 || n > MAX_ATTEMPTS_LIMIT) {
    throw new UsageError(`${source} must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}, got ${JSON.stringify(text)}`);
  }
  return n;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
