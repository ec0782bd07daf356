// secrets.ts: the run's secrets redacted by value, anywhere in a message.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { beforeEach, test } from 'node:test';
import { forgetSecrets, redactKnown, rememberSecret, rememberSignature } from '../../../src/secrets.js';

const hex = (s: string): string => createHash('sha256').update(s).digest('hex');

beforeEach(() => forgetSecrets());

test('secret values anywhere in free text, as written and URL-encoded; the rest untouched', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const token = 'IQoJb3JpZ2luX2Vj/Token+value==';
  rememberSecret(secret);
  rememberSecret(token);
  rememberSecret(undefined);
  rememberSecret('abc'); // too short to be worth it: ordinary words stay
  assert.equal(redactKnown(`k=${secret}; t "${token}" ${encodeURIComponent(token)}.abc`), 'k=<redacted>; t "<redacted>" <redacted>.abc');
  const plain = 'nothing secret here';
  assert.equal(redactKnown(plain), plain);
});

test('signatures: a remembered 64-hex run is redacted wherever it is; other hashes and longer runs stay', () => {
  const sig = hex('request 1');
  const other = hex('payload');
  rememberSignature(sig);
  assert.equal(redactKnown(`signed ${sig}.`), 'signed <redacted>.');
  assert.equal(redactKnown(`${sig}`), '<redacted>');
  assert.equal(redactKnown(`a${sig}${sig}`), `a${sig}${sig}`, 'a 128-digit run is not a signature');
  assert.equal(redactKnown(`x ${other} y ${sig}`), `x ${other} y <redacted>`);
  for (let shift = 0; shift < 70; shift++) {
    const text = `${'z'.repeat(shift)}deadbeef ${sig} cafe`;
    assert.equal(redactKnown(text), `${'z'.repeat(shift)}deadbeef <redacted> cafe`, `at ${shift}`);
  }
});

test('the last 2048 signatures are kept, older ones forgotten', () => {
  const sigs = Array.from({ length: 2049 }, (_, i) => hex(`r${i}`));
  for (const s of sigs) rememberSignature(s);
  assert.equal(redactKnown(sigs[0]!), sigs[0]);
  assert.equal(redactKnown(sigs[1]!), '<redacted>');
  assert.equal(redactKnown(sigs[2048]!), '<redacted>');
});
