// result.ts: the output line for each kind of result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodyAsJson, encodeBodyOnly, encodeResult, isJsonContentType } from '../../../src/core/result-format.js';

test('JSON content types', () => {
  for (const t of ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json', 'text/json']) {
    assert.equal(isJsonContentType(t), true, t);
  }
  for (const t of [undefined, 'text/plain', 'application/jsonlines', 'application/x-ndjson', 'application/jsonx']) {
    assert.equal(isJsonContentType(t), false, String(t));
  }
});

test('a success line has a fixed key order and embeds JSON bodies as JSON (whitespace between tokens dropped)', () => {
  const line = encodeResult({
    line: 3,
    ok: true,
    inferenceId: 'i',
    status: 200,
    contentType: 'application/json',
    invokedProductionVariant: 'AllTraffic',
    customAttributes: 'c',
    newSessionId: 's; Expires=2026-01-01T00:00:00Z',
    body: Buffer.from('{"a": [1, 2]}'),
    meta: '{"m":1}',
    attempts: 2,
    latencyMs: 12,
  });
  assert.equal(
    line,
    '{"line":3,"inferenceId":"i","ok":true,"status":200,"contentType":"application/json","invokedProductionVariant":"AllTraffic",' +
      '"customAttributes":"c","newSessionId":"s; Expires=2026-01-01T00:00:00Z","body":{"a":[1,2]},"meta":{"m":1},"attempts":2,"latencyMs":12}',
  );
  assert.deepEqual(JSON.parse(line).body, { a: [1, 2] });
});

test('multi-line JSON is re-serialised compactly so the result stays one line', () => {
  const line = encodeResult({ line: 1, ok: true, contentType: 'application/json', body: Buffer.from('{\n  "a": 1\n}\n') });
  assert.equal(line, '{"line":1,"ok":true,"contentType":"application/json","body":{"a":1}}');
});

test('invalid JSON under a JSON type, text, binary', () => {
  assert.deepEqual(bodyAsJson(Buffer.from('{oops'), 'application/json'), { text: '{oops', notJson: true });
  const invalid = JSON.parse(encodeResult({ line: 1, ok: true, contentType: 'application/json', body: Buffer.from('hello') }));
  assert.equal(invalid.bodyText, 'hello');
  assert.equal('body' in invalid, false);
  const string = JSON.parse(encodeResult({ line: 1, ok: true, contentType: 'application/json', body: Buffer.from('"hello"') }));
  assert.equal(string.body, 'hello');
  assert.equal('bodyText' in string, false);
  assert.deepEqual(bodyAsJson(Buffer.from('a\nb'), 'text/plain'), { text: 'a\nb' });
  assert.equal(bodyAsJson(Buffer.from([0xff, 0x00]), 'application/json'), undefined);
  const bin = encodeResult({ line: 1, ok: true, body: Buffer.from([0xff, 0x00]) });
  assert.equal(JSON.parse(bin).bodyBase64, '/wA=');
  const text = encodeResult({ line: 1, ok: true, contentType: 'text/csv', body: Buffer.from('1,2\n3,"4"\n') });
  assert.equal(JSON.parse(text).body, '1,2\n3,"4"\n');
  assert.ok(!text.includes('\n'));
});

test('an error line', () => {
  const line = encodeResult({ line: 9, ok: false, error: { code: 'ModelError', message: 'm', status: 424, originalStatusCode: 500 }, attempts: 1 });
  assert.equal(line, '{"line":9,"ok":false,"error":{"code":"ModelError","message":"m","status":424,"originalStatusCode":500},"attempts":1}');
});

test('--output body', () => {
  assert.deepEqual(encodeBodyOnly({ line: 1, ok: true, contentType: 'application/json', body: Buffer.from('{"a":1}') }), { line: '{"a":1}' });
  assert.deepEqual(encodeBodyOnly({ line: 1, ok: true, contentType: 'text/plain', body: Buffer.from('a\\b\nc\r') }), { line: 'a\\\\b\\nc\\r' });
  assert.deepEqual(encodeBodyOnly({ line: 1, ok: true, body: Buffer.from([0xff]) }), { line: '/w==' });
  assert.deepEqual(encodeBodyOnly({ line: 4, ok: false, error: { code: 'X', message: 'why' } }), { line: '', stderr: 'line 4: X: why' });
});

test('one-line JSON with a trailing newline is embedded as received, without re-serialising (only whitespace between tokens dropped)', () => {
  const line = encodeResult({ line: 1, ok: true, contentType: 'application/json', body: Buffer.from('{"a": [1, 2]}\n') });
  assert.equal(line, '{"line":1,"ok":true,"contentType":"application/json","body":{"a":[1,2]}}');
  assert.equal(encodeBodyOnly({ line: 1, ok: true, contentType: 'application/json', body: Buffer.from('  [1]\r\n') }).line, '[1]');
});
