// Output files never destroy data: the outfile is not the input, an earlier run's results are not
// truncated without a flag that says what to do with them, two runs do not write one file at once,
// and a file rewritten in place (--resume-failed) keeps its mode and its symlink.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';

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

/** Usage error when `p` is the same file as stdin (same device and inode, through any path or link). */
export function checkNotInput(p: string, what: string, input: fs.Stats | undefined): void {
  if (input === undefined) return;
  const st = statOrUndefined(p);
  if (st !== undefined && st.dev === input.dev && st.ino === input.ino) {
    throw new UsageError(`${what} ${p} is the file being read as standard input: writing it would destroy the input; nothing was done`);
  }
}

export interface OverwritePolicy {
  resume: boolean;
  resumeFailed: boolean;
  force: boolean;
}

/** An existing non-empty outfile is kept unless a flag says what to do with it. */
export function checkOverwrite(p: string, policy: OverwritePolicy): void {
  const st = statOrUndefined(p);
  if (st === undefined) return;
  if (st.isDirectory()) throw new UsageError(`outfile ${p} is a directory`);
  if (!st.isFile() || st.size === 0) return; // /dev/null, a FIFO, an empty file: nothing to lose
  if (policy.resume || policy.resumeFailed || policy.force) return;
  throw new UsageError(
    `outfile ${p} already holds ${st.size} bytes; it was left as it is. Give --resume to continue it, ` +
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
      throw new UsageError(
        `outfile ${this.target} is in use by ${who}: two runs must not write one outfile ` + `(if that run is gone, delete ${this.lockPath})`,
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
}

function readLock(p: string): LockHolder | 'gone' | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(p, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
  try {
    const v = JSON.parse(raw) as { pid?: unknown; host?: unknown; since?: unknown };
    if (typeof v.pid === 'number' && typeof v.host === 'string') return { pid: v.pid, host: v.host, since: String(v.since ?? '?'), raw };
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
  const temp = path.join(path.dirname(real), `.${path.basename(real)}.${randomBytes(9).toString('hex')}.sm-invoke-tmp`);
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
