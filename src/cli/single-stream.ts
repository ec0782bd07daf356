// `--body ... --stream OUTFILE`: one InvokeEndpointWithResponseStream call. Each PayloadPart is
// written to the outfile (or stdout for -) as it arrives, straight to the file descriptor, so a
// reader sees the answer grow; then the metadata JSON as the AWS CLI prints it for invoke-endpoint.
// A file is rewritten from its start when the record is sent again after a mid-stream failure; on
// stdout what was written cannot be taken back, so such a failure is final (PartObserver.resend).
import fs from 'node:fs';
import type { PartObserver } from '../core/stream-invoke.js';
import type { Io } from './io.js';

export interface StreamOut {
  observer: PartObserver;
  /** A write that failed (the run reports it as a failed write: exit 3). */
  writeError: NodeJS.ErrnoException | undefined;
  /** The last byte written (a newline goes after a body on stdout that does not end with one). */
  lastByte: number | undefined;
  close(): void;
}

export function streamOut(outfile: string, io: Io): StreamOut {
  const toStdout = outfile === '-';
  let fd: number | undefined;
  let position = 0;
  const out: StreamOut = {
    writeError: undefined,
    lastByte: undefined,
    observer: {
      resend: !toStdout,
      onStart() {
        position = 0;
        out.lastByte = undefined;
        if (toStdout || out.writeError) return;
        try {
          if (fd === undefined) fd = fs.openSync(outfile, 'w');
          else fs.ftruncateSync(fd, 0);
        } catch (err) {
          out.writeError = err as NodeJS.ErrnoException;
        }
      },
      onPart(bytes) {
        if (bytes.length === 0 || out.writeError) return;
        out.lastByte = bytes[bytes.length - 1];
        if (toStdout) {
          io.stdout.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          return;
        }
        try {
          for (let off = 0; off < bytes.length; ) {
            const n = fs.writeSync(fd!, bytes, off, bytes.length - off, position);
            off += n;
            position += n;
          }
        } catch (err) {
          out.writeError = err as NodeJS.ErrnoException;
          throw err; // fails the record: its answer could not be kept
        }
      },
    },
    close() {
      if (fd === undefined) return;
      try {
        fs.closeSync(fd);
      } catch (err) {
        out.writeError ??= err as NodeJS.ErrnoException;
      }
      fd = undefined;
    },
  };
  return out;
}
