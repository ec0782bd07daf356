import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeBlock, escapeLine } from '../../../src/cli/escape.js';
import { editDistance, suggestOption } from '../../../src/cli/suggest.js';

test('escapeLine: every control character, C1 included, as an escape; text as it is', () => {
  assert.equal(escapeLine('a\x1b[31mb\x07c\rd\ne\tf\x00g\x7fh\x9bi é ✓'), 'a\\e[31mb\\x07c\\rd\\ne\\tf\\x00g\\x7fh\\x9bi é ✓');
  assert.equal(escapeLine('plain'), 'plain');
});

test('escapeBlock: newlines kept, the rest escaped', () => {
  assert.equal(escapeBlock('one\r\ntwo\x1b]0;t\x07\n'), 'one\\r\ntwo\\e]0;t\\x07\n');
});

test('suggestOption: aliases, underscores, case, typos, prefixes; nothing for what is far', () => {
  const known = ['endpoint-name', 'endpoint-url', 'concurrency', 'content-type', 'max-errors', 'max-attempts', 'timeout', 'envelope', 'region'];
  assert.match(suggestOption('--jobs', known)!, /^did you mean --concurrency\?/);
  assert.match(suggestOption('--content_type', known)!, /^did you mean --content-type\?$/);
  assert.match(suggestOption('--REGION', known)!, /^did you mean --region\?$/);
  assert.match(suggestOption('--concurency', known)!, /^did you mean --concurrency\?$/);
  assert.match(suggestOption('--envel', known)!, /^did you mean --envelope\?$/);
  assert.equal(suggestOption('--frobnicate', known), undefined);
  assert.equal(suggestOption('-x', known), undefined);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});
