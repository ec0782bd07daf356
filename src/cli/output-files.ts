// Output files never destroy data: the outfile is not the input, an earlier run's results are not
// truncated without a flag that says what to do with them, two runs do not write one file at once,
// and a file rewritten in place (--resume-failed) keeps its mode and its symlink.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { readResultHead } from '../core/result-format.js';

/** stdin's identity when it is a regular file (only a regular file can be destroyed by writing it). */
export function stdinFile(fd = 0): fs.Stats | undefined {
  try {
    const st = fs.fstatSync(fd);
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

/** The file's stat (following links), or undefined when it does not exist. */
export function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw new UsageError(`cannot write ${p}: a part of the path is not a directory`);
    throw new UsageError(`cannot use ${p}: ${(err as Error).message}`);
  }
}

/** What records are read from, for the same-file checks: its identity and how messages name it. */
export interface InputIdentity {
  stat: fs.Stats;
  /** "the file being read as standard input", "the --input file in.ndjson". */
  name: string;
}

/** Usage error when `p` is the same file as the input (same device and inode, through any path or link). */
export function checkNotInput(p: string, what: string, input: InputIdentity | fs.Stats | undefined): void {
  if (input === undefined) return;
  const { stat, name } = 'stat' in input ? input : { stat: input, name: 'the file being read as standard input' };
  const st = statOrUndefined(p);
  if (st !== undefined && sameFile(st, stat)) {
    throw new UsageError(`${what} ${p} is ${name}: writing it would destroy the input; nothing was done`);
  }
}

/** One file, whatever its names (paths, symlinks, hard links): device and inode. */
export function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

export interface OverwritePolicy {
  resume: boolean;
  resumeFailed: boolean;
  /** --force: replace an outfile that holds sm-invoke results. */
  force: boolean;
  /** --force-any: replace any outfile, also one that does not hold sm-invoke results. */
  forceAny?: boolean;
}

/**
 * Whether the file holds what sm-invoke writes: it has a digest file (digest-file.ts: the header
 * says so), or its first line is a result line. Anything else may well be the input, named where
 * the outfile goes (the jq / AWS CLI habit): replacing it would destroy it.
 */
export function holdsResults(p: string, hasDigestFile: (p: string) => boolean): boolean {
  if (hasDigestFile(p)) return true;
  let fd: number | undefined;
  try {
    fd = fs.openSync(p, 'r');
    const head = Buffer.alloc(1024);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return readResultHead(head.toString('utf8', 0, n)) !== undefined;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * An existing non-empty outfile is kept unless a flag says what to do with it; one that does not hold
 * sm-invoke results is never offered --force (following that advice would empty the input).
 */
export function checkOverwrite(p: string, policy: OverwritePolicy, hasDigestFile: (p: string) => boolean): void {
  const st = statOrUndefined(p);
  if (st === undefined) return;
  if (st.isDirectory()) throw new UsageError(`outfile ${p} is a directory`);
  if (!st.isFile() || st.size === 0) return; // /dev/null, a FIFO, an empty file: nothing to lose
  if (policy.resume || policy.resumeFailed || policy.forceAny) return; // resume checks the lines itself
  const results = holdsResults(p, hasDigestFile);
  if (results && policy.force) return;
  if (!results) {
    const refused = policy.force ? '--force replaces only an outfile of sm-invoke results, and ' : '';
    throw new UsageError(
      `${refused}outfile ${p} already holds ${st.size} bytes that are not sm-invoke results; it was left as it is. ` +
        'The one file named on the command line is where results go: sm-invoke reads records from standard input ' +
        `(sm-invoke ... < ${p}) or from --input ${p}`,
    );
  }
  throw new UsageError(
    `outfile ${p} already holds ${st.size} bytes of results; it was left as it is. Give --resume to continue it, ` +
      '--resume-failed to also send its failed records again, or --force to replace it',
  );
}

/**
 * An exclusive lock on an outfile for the length of a run: a lock file beside its real path, created
 * atomically (written under a private name, then hard-linked into place) with this process's pid and
 * host. A lock left by a run that was killed (same host, process gone) is taken over; a live one, or
 * one from another host, makes the run a usage error at once.
 */
export class OutfileLock {
  private released = false;
  private readonly content: string;
  /** The lock by device and inode (an existing outfile): a hard link is another name, not another file. */
  private byInode: OutfileLock | undefined;

  private constructor(
    readonly lockPath: string,
    readonly target: string,
  ) {
    this.content = JSON.stringify({
      pid: process.pid,
      host: hostname(),
      outfile: target,
      since: new Date().toISOString(),
      nonce: randomBytes(8).toString('hex'),
    });
  }

  static acquire(outfile: string): OutfileLock {
    const target = realTarget(outfile);
    const lock = new OutfileLock(`${target}.sm-invoke.lock`, target);
    lock.take();
    try {
      lock.byInode = OutfileLock.acquireInode(target);
    } catch (err) {
      lock.release();
      throw err;
    }
    return lock;
  }

  /**
   * The outfile's lock by identity, in a directory of this host's (hard links can be in different
   * directories, even of different owners); undefined when the file does not exist yet (no other name
   * can point at it) or the directory cannot be made (the lock beside the path still holds).
   */
  private static acquireInode(target: string): OutfileLock | undefined {
    const st = statOrUndefined(target);
    if (st === undefined || !st.isFile()) return undefined;
    const dir = inodeLockDir();
    if (dir === undefined) return undefined;
    const lock = new OutfileLock(path.join(dir, `${st.dev}-${st.ino}.lock`), target);
    lock.take();
    return lock;
  }

  private take(): void {
    for (let tries = 0; ; tries++) {
      if (this.tryLink()) return;
      const holder = readLock(this.lockPath);
      if (holder === 'gone') continue; // released between our link and our read: try again
      if (tries < 2 && holder !== undefined && holder.host === hostname() && !processAlive(holder.pid)) {
        // Left by a run that was killed: take it over, unless someone else just did.
        if (fs.readFileSync(this.lockPath, 'utf8') === holder.raw) fs.rmSync(this.lockPath, { force: true });
        continue;
      }
      const who = holder === undefined ? 'another process' : `process ${holder.pid} on ${holder.host} (since ${holder.since})`;
      const alias = holder?.outfile !== undefined && holder.outfile !== this.target ? `, through another name of the same file, ${holder.outfile}` : '';
      throw new UsageError(
        `outfile ${this.target} is in use by ${who}${alias}: two runs must not write one outfile ` + `(if that run is gone, delete ${this.lockPath})`,
      );
    }
  }

  private tryLink(): boolean {
    const temp = `${this.lockPath}.${randomBytes(6).toString('hex')}`;
    try {
      fs.writeFileSync(temp, this.content + '\n', { flag: 'wx', mode: 0o644 });
    } catch (err) {
      throw new UsageError(`cannot lock outfile ${this.target}: ${(err as Error).message}`);
    }
    try {
      fs.linkSync(temp, this.lockPath);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new UsageError(`cannot lock outfile ${this.target}: ${(err as Error).message}`);
    } finally {
      fs.rmSync(temp, { force: true });
    }
  }

  /** Removes the lock file if it is still ours. Synchronous: also called from process 'exit'. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.byInode?.release();
    try {
      if (fs.readFileSync(this.lockPath, 'utf8') === this.content + '\n') fs.rmSync(this.lockPath, { force: true });
    } catch {
      // already gone
    }
  }
}

interface LockHolder {
  pid: number;
  host: string;
  since: string;
  raw: string;
  outfile?: string;
}

/** `$TMPDIR/sm-invoke-locks`, shared by every user like /tmp itself (mode 1777); undefined when unusable. */
function inodeLockDir(): string | undefined {
  const dir = path.join(tmpdir(), 'sm-invoke-locks');
  try {
    fs.mkdirSync(dir, { mode: 0o1777 });
    fs.chmodSync(dir, 0o1777); // (the umask took bits off)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  try {
    const st = fs.lstatSync(dir);
    if (!st.isDirectory()) return undefined;
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch {
    return undefined;
  }
}

function readLock(p: string): LockHolder | 'gone' | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(p, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
  try {
    const v = JSON.parse(raw) as { pid?: unknown; host?: unknown; since?: unknown; outfile?: unknown };
    if (typeof v.pid === 'number' && typeof v.host === 'string') {
      return { pid: v.pid, host: v.host, since: String(v.since ?? '?'), raw, ...(typeof v.outfile === 'string' ? { outfile: v.outfile } : {}) };
    }
  } catch {
    // not a lock we wrote
  }
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The path a write lands on: symlinks followed (also a dangling one's target), the directory resolved. */
export function realTarget(p: string): string {
  let current = path.resolve(p);
  for (let hops = 0; hops < 40; hops++) {
    let link: string;
    try {
      link = fs.readlinkSync(current);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT') break; // not a link, or not there yet
      throw new UsageError(`cannot use ${p}: ${(err as Error).message}`);
    }
    current = path.resolve(path.dirname(current), link);
  }
  let dir: string;
  try {
    dir = fs.realpathSync(path.dirname(current));
  } catch (err) {
    throw new UsageError(`cannot write ${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'its directory does not exist' : (err as Error).message}`);
  }
  return path.join(dir, path.basename(current));
}

/**
 * A file that will replace `target` (--resume-failed): created exclusively, under an unpredictable
 * name, in the directory of target's real path, never through a symlink; it takes target's mode
 * (and owner, where allowed), so that the rename keeps both.
 */
export function createReplacement(target: string): { path: string; fd: number; commit(): void; discard(): void } {
  const real = realTarget(target);
  const st = fs.statSync(real);
  // The name says whose it is (the pid): a later run removes it if this one is killed (removeStaleTemporaries).
  const temp = path.join(path.dirname(real), `.${path.basename(real)}.${process.pid}.${randomBytes(9).toString('hex')}.sm-invoke-tmp`);
  const { O_CREAT, O_EXCL, O_WRONLY, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(temp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o600);
  } catch (err) {
    throw new UsageError(`cannot create a temporary file beside ${real}: ${(err as Error).message}`);
  }
  fs.fchmodSync(fd, st.mode & 0o7777);
  try {
    fs.fchownSync(fd, st.uid, st.gid);
  } catch {
    // only the owner's group or root may change it; the file stays ours
  }
  return {
    path: temp,
    fd,
    commit: () => fs.renameSync(temp, real),
    discard: () => fs.rmSync(temp, { force: true }),
  };
}

/** A --resume-failed temporary file older than this is stale even if a process with its pid is alive (pids are reused). */
const STALE_TEMP_MS = 24 * 3600 * 1000;

/**
 * Removes the temporary files that a killed --resume-failed of this outfile left beside its real path
 * (`.NAME.PID.HEX.sm-invoke-tmp`; `.NAME.HEX.sm-invoke-tmp` from before the pid was in the name).
 * Called with the outfile's lock held: no live run of this outfile can own one. Only regular files of
 * exactly that pattern, owned by this user or the outfile's owner, whose process is gone or that are
 * older than a day, are removed. Returns the names removed.
 */
export function removeStaleTemporaries(outfile: string, now = Date.now()): string[] {
  const real = realTarget(outfile);
  const dir = path.dirname(real);
  const base = path.basename(real);
  let owner: number | undefined;
  try {
    owner = fs.statSync(real).uid;
  } catch {
    owner = undefined;
  }
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const prefix = `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.sm-invoke-tmp')) continue;
    const m = /^(?:(\d+)\.)?[0-9a-f]{18}\.sm-invoke-tmp$/.exec(name.slice(prefix.length));
    if (m === null) continue;
    const p = path.join(dir, name);
    try {
      const st = fs.lstatSync(p);
      if (!st.isFile()) continue;
      const uid = process.getuid?.();
      if (uid !== undefined && uid !== 0 && st.uid !== uid && st.uid !== owner) continue;
      const pid = m[1] === undefined ? undefined : Number(m[1]);
      const old = now - st.mtimeMs > STALE_TEMP_MS;
      if (pid === process.pid || (!old && (pid === undefined || processAlive(pid)))) continue;
      fs.rmSync(p);
      removed.push(p);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}
