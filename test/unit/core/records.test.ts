// ndjson.ts and fields.ts: every input rule gives a named, specific error; good records decode exactly.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeLine, type BadRecord, type GoodRecord } from '../../../src/core/records.js';
import { OVERFLOW_MARK } from '../../../src/core/lines.js';

const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
const env = (v: unknown, defaults = { endpointName: 'ep' }) => decodeLine(latin1(JSON.stringify(v)), 7, { envelope: true, defaults, maxLineBytes: 1000 });
const bad = (r: unknown): BadRecord => {
  assert.ok(r && (r as BadRecord).error, `expected an error, got ${JSON.stringify(r)}`);
  return r as BadRecord;
};
const good = (r: unknown): GoodRecord => {
  assert.ok(r && !(r as BadRecord).error, `expected a record, got ${JSON.stringify(r)}`);
  return r as GoodRecord;
};

describe('body mode', () => {
  const opts = { envelope: false, defaults: { endpointName: 'ep', contentType: 'text/csv' }, maxLineBytes: 100 };
  test('the line is the body, the flags are the fields', () => {
    const r = good(decodeLine(latin1('1,2,"é"'), 3, opts));
    assert.deepEqual(r.body, Buffer.from('1,2,"é"'));
    assert.equal(r.line, 3);
    assert.deepEqual(r.fields, { endpointName: 'ep', contentType: 'text/csv' });
  });
  test('blank and whitespace-only lines are not records', () => {
    assert.equal(decodeLine('', 1, opts), undefined);
    assert.equal(decodeLine(' \t ', 2, opts), undefined);
    assert.equal(decodeLine('\r', 2, opts), undefined);
  });
  test('a UTF-8 BOM is dropped on line 1 only', () => {
    assert.deepEqual(good(decodeLine('\xef\xbb\xbfabc', 1, opts)).body, Buffer.from('abc'));
    assert.deepEqual(good(decodeLine('\xef\xbb\xbfabc', 2, opts)).body, Buffer.from('\xef\xbb\xbfabc', 'latin1'));
  });
  test('an over-long line is an error naming the limit', () => {
    const r = bad(decodeLine('abc' + OVERFLOW_MARK, 9, opts));
    assert.equal(r.line, 9);
    assert.equal(r.error.code, 'LineTooLong');
    assert.match(r.error.message, /longer than the limit of 100 bytes/);
  });
});

describe('envelope mode', () => {
  test('body: JSON value as compact JSON, string as UTF-8 text', () => {
    assert.equal(good(env({ body: { a: [1, { b: 'é' }] } })).body.toString(), '{"a":[1,{"b":"é"}]}');
    assert.equal(good(env({ body: 'plain "text"' })).body.toString(), 'plain "text"');
    assert.equal(good(env({ body: null })).body.toString(), 'null');
    assert.deepEqual(good(env({ bodyBase64: 'AAH/' })).body, Buffer.from([0, 1, 255]));
  });
  test('per-record fields override defaults; null and "" clear them; meta is kept', () => {
    const r = good(
      env({ body: 1, targetVariant: 'v2', contentType: null, accept: '', meta: { id: 5 } }, {
        endpointName: 'ep',
        contentType: 'a/b',
        accept: 'c/d',
        targetVariant: 'v1',
      } as never),
    );
    assert.deepEqual(r.fields, { endpointName: 'ep', targetVariant: 'v2' });
    assert.equal(r.meta, '{"id":5}', 'meta as written, compact');
  });
  test('invalid JSON, non-objects, invalid UTF-8', () => {
    assert.equal(bad(decodeLine('{"body":', 1, { envelope: true, defaults: {}, maxLineBytes: 99 })).error.code, 'InvalidJson');
    assert.match(bad(env([1, 2])).error.message, /must be a JSON object, got an array/);
    assert.match(bad(env('str')).error.message, /got string/);
    assert.equal(bad(decodeLine('{"body":"\xff"}', 1, { envelope: true, defaults: {}, maxLineBytes: 99 })).error.code, 'InvalidUtf8');
    assert.equal(bad(decodeLine('{"body":"\x00"}', 1, { envelope: true, defaults: {}, maxLineBytes: 99 })).error.code, 'InvalidJson');
  });
  test('unknown keys are errors naming the key, with a suggestion', () => {
    const r = bad(env({ body: 1, targetVarient: 'x', meta: 1 }));
    assert.equal(r.error.field, 'targetVarient');
    assert.match(r.error.message, /unknown envelope key "targetVarient" \(did you mean "targetVariant"\?\)/);
    assert.equal(r.meta, '1', 'meta is still joined back');
  });
  test('body and bodyBase64: exactly one, base64 strict', () => {
    assert.match(bad(env({ body: 1, bodyBase64: 'AA==' })).error.message, /either body or bodyBase64, not both/);
    assert.match(bad(env({ meta: 1 })).error.message, /missing body/);
    for (const b64 of ['A', 'AA=', '@@@@', 'AA==AA==', 5]) {
      assert.equal(bad(env({ bodyBase64: b64 })).error.field, 'bodyBase64', String(b64));
    }
  });
  test('no endpoint anywhere', () => {
    const r = bad(env({ body: 1 }, {} as never));
    assert.equal(r.error.field, 'endpointName');
  });
  test('a body over 6 MiB is refused before sending', () => {
    const r = bad(env({ bodyBase64: Buffer.alloc(6_291_457).toString('base64') }));
    assert.equal(r.error.field, 'body');
    assert.match(r.error.message, /6291457 bytes; InvokeEndpoint accepts at most 6291456/);
    good(env({ bodyBase64: Buffer.alloc(6_291_456).toString('base64') }));
  });

  // Every field's rule, each with a value that breaks it and one at the edge that passes.
  const rules: Array<[string, unknown, string | RegExp, unknown]> = [
    ['endpointName', 'has space', /letters, digits and hyphens/, 'a-b-1'],
    ['endpointName', 'a'.repeat(64), /at most 63/, 'a'.repeat(63)],
    ['endpointName', '-lead', /letters, digits/, 'x'],
    ['contentType', 'text/plain\r\nX-Evil: 1', /printable US-ASCII/, 'text/plain; charset=utf-8'],
    ['contentType', 'x'.repeat(1025), /at most 1024/, 'x'.repeat(1024)],
    ['accept', 'application/jsön', /printable US-ASCII/, '*/*'],
    ['customAttributes', 'a\u0000b', /visible US-ASCII/, 'x'.repeat(1024)],
    ['customAttributes', 'x'.repeat(1025), /at most 1024/, 'trace=1'],
    ['targetModel', ' leading-space', /not starting with a space/, 'model.tar.gz'],
    ['targetModel', 'x'.repeat(1025), /at most 1024/, 'x'.repeat(1024)],
    ['targetVariant', 'bad_variant', /letters, digits and hyphens/, 'canary-2'],
    ['targetVariant', 'v'.repeat(64), /at most 63/, 'v'.repeat(63)],
    ['targetContainerHostname', 'host.name', /letters, digits/, 'container-1'],
    ['inferenceId', 'x'.repeat(65), /at most 64/, 'x'.repeat(64)],
    ['inferenceId', '\tid', /not starting with a space/, 'id with spaces'],
    ['enableExplanations', 'x'.repeat(65), /at most 64/, '`true`'],
    ['inferenceComponentName', 'ends-', /letters, digits/, 'ic-1'],
    ['sessionId', 'NEW_SESSIONX', /NEW_SESSION, or letters/, 'NEW_SESSION'],
    ['sessionId', 's'.repeat(257), /at most 256/, 'abc-123'],
    ['targetVariant', 42, /targetVariant must be a string, got a number/, 'ok'],
    ['meta', undefined, /./, { anything: [1] }],
  ];
  for (const [field, badValue, message, goodValue] of rules) {
    if (badValue !== undefined) {
      test(`${field}: ${JSON.stringify(badValue).slice(0, 30)} is refused`, () => {
        const r = bad(env({ inferenceId: 'keep-me', body: 1, [field]: badValue }));
        assert.equal(r.line, 7);
        assert.equal(r.error.code, 'InvalidRecord');
        assert.equal(r.error.field, field);
        assert.match(r.error.message, message instanceof RegExp ? message : new RegExp(message));
        assert.ok(r.error.message.startsWith(field), 'the message names the field first');
      });
    }
    test(`${field}: ${JSON.stringify(goodValue).slice(0, 30)} is accepted`, () => {
      good(env({ body: 1, [field]: goodValue }));
    });
  }
});
