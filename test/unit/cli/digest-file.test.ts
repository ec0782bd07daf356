// digest-file.ts: the digest of a record is part of the outfile format. A change to it would make
// every existing outfile refuse --resume as "not the same input": these values are pinned.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineDigest } from '../../../src/cli/digest-file.js';

const digest = (lineNo: number, line: string): string => {
  const b = Buffer.alloc(8);
  lineDigest(lineNo, line, b, 0);
  return b.toString('hex');
};

test('pinned digests: short lines (JS lanes), from 1 KiB (SHA-256), bytes above 0x7f', () => {
  assert.equal(digest(1, ''), '2bffbce043b8af14');
  assert.equal(digest(1, '{"a":1}'), '674d72ca13e2c0c9');
  assert.equal(digest(2, '{"a":1}'), '5e6b25ae096013fa', 'the line number counts');
  assert.equal(digest(7, 'x'.repeat(1023)), '6b204b0a0d596c05');
  assert.equal(digest(7, 'x'.repeat(1024)), '17757bb8bfd5a604');
  assert.equal(digest(3, '\u00e9\u00ff\u0100'), 'b221bfa6d5f375cd', 'latin1 bytes (and the overflow mark)');
});

test('one byte changed anywhere changes the digest', () => {
  for (const len of [1, 17, 200, 1023, 1024, 5000]) {
    const line = 'a'.repeat(len);
    const seen = new Set([digest(1, line)]);
    for (const at of [0, Math.floor(len / 2), len - 1]) seen.add(digest(1, line.slice(0, at) + 'b' + line.slice(at + 1)));
    assert.equal(seen.size, len === 1 ? 2 : 4, `length ${len}`);
  }
});
