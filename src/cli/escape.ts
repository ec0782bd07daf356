// The one place text from outside (the service's error messages, input bytes, file names) is made
// safe for a terminal before it reaches stderr: control characters are written as escapes, so an
// escape sequence, a BEL, a CR or a newline in a message can neither drive the terminal nor break
// the one-line-per-message shape that scripts (and --output body's per-failure lines) rely on.
// Secrets the run holds (secrets.ts) are redacted here too, wherever in the text they are.

import { redactKnown } from '../secrets.js';

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

// C0 controls, DEL and the C1 controls (U+0080-U+009F: a terminal reads U+009B as CSI).
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;
const CONTROL_BUT_NEWLINE = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/g;

function escapeOne(c: string): string {
  return NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** One line for stderr: every control character escaped, newlines and tabs included. */
export function escapeLine(text: string): string {
  return redactKnown(text).replace(CONTROL, escapeOne);
}

/** A block of lines (--debug, the AWS CLI's messages): control characters escaped, newlines kept. */
export function escapeBlock(text: string): string {
  return redactKnown(text).replace(CONTROL_BUT_NEWLINE, escapeOne);
}
