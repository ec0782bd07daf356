// json-exact.ts: JSON.parse's grammar, values kept as written, refusals named, any depth, any size.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mulberry32, type Random } from '../../../src/emulator/prng.js';
import { DEFAULT_MAX_DEPTH, compactJson, scanObject, type JsonMember, type ScanFailure } from '../../../src/core/json-exact.js';

// ---- references, written the obvious way ----

const parses = (t: string): boolean => {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
};

const wellFormed = (s: string): boolean => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

/**
 * For valid JSON text: every string (keys too) decodes to valid Unicode, and containers nest at most
 * maxDepth deep. Read from the text, since the parsed value loses all but the last of duplicate keys.
 */
function acceptable(t: string, maxDepth: number): boolean {
  let depth = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c === '"') {
      let j = i + 1;
      while (t[j] !== '"') j += t[j] === '\\' ? 2 : 1;
      if (!wellFormed(JSON.parse(t.slice(i, j + 1)) as string)) return false;
      i = j;
    } else if (c === '{' || c === '[') {
      if (++depth > maxDepth) return false;
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return true;
}

/** Valid JSON text without the whitespace outside strings. */
function refCompact(t: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += t[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      out += c;
      inString = true;
    } else if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') {
      out += c;
    }
  }
  return out;
}

/** How many members the outermost object of valid JSON text has, duplicates included. */
function refMemberCount(t: string): number {
  const c = refCompact(t);
  if (c === '{}') return 0;
  let depth = 0;
  let n = 1;
  let inString = false;
  for (let i = 0; i < c.length; i++) {
    const ch = c[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
    else if (ch === ',' && depth === 1) n++;
  }
  return n;
}

const ok = (t: string): string => {
  const r = compactJson(t);
  assert.ok(r.ok, `expected ${JSON.stringify(t.slice(0, 80))} to be accepted, got ${JSON.stringify(r)}`);
  return r.json;
};
const fails = (r: { ok: boolean }): ScanFailure => {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r).slice(0, 200)}`);
  return r as ScanFailure;
};
const members = (t: string): JsonMember[] => {
  const r = scanObject(t);
  assert.ok(r.ok, `expected ${JSON.stringify(t.slice(0, 80))} to scan, got ${JSON.stringify(r)}`);
  return r.members;
};

// ---- tables ----

describe('grammar: what JSON.parse accepts', () => {
  const valid: [string, string][] = [
    ['0', '0'],
    ['-0', '-0'],
    [' 1 ', '1'],
    ['\t\r\n1.5e+10\n', '1.5e+10'],
    ['"a"', '"a"'],
    ['""', '""'],
    ['true', 'true'],
    ['false', 'false'],
    ['null', 'null'],
    ['[]', '[]'],
    ['{}', '{}'],
    ['[ ]', '[]'],
    ['{ }', '{}'],
    ['[1, 2 ,3]', '[1,2,3]'],
    ['{"a" : 1 , "b":[ true , null ]}', '{"a":1,"b":[true,null]}'],
    ['"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000 \\uFFFF \\u00e9"', '"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000 \\uFFFF \\u00e9"'],
    ['"tab\\tin  string"', '"tab\\tin  string"'],
    ['"\u00e9\u2028\u2029\u{1f600}\u007f"', '"\u00e9\u2028\u2029\u{1f600}\u007f"'],
    ['{"":""}', '{"":""}'],
    ['{"a":1,"a":2}', '{"a":1,"a":2}'], // compactJson keeps duplicates: they are the value as written
    ['[[[[]]]]', '[[[[]]]]'],
    ['{"a":{"b":{"c":{}}}}', '{"a":{"b":{"c":{}}}}'],
    ['"\\ud83d\\ude00"', '"\\ud83d\\ude00"'],
    ['"\\uD83D\\uDE00"', '"\\uD83D\\uDE00"'],
  ];
  for (const [text, compact] of valid) {
    test(`accepts ${JSON.stringify(text)}`, () => {
      assert.ok(parses(text), 'the table is wrong: JSON.parse refuses it');
      assert.equal(ok(text), compact);
    });
  }

  const invalid: [string, RegExp][] = [
    ['', /^Unexpected end of JSON input at position 0 \(expected a value\)$/],
    ['   ', /^Unexpected end of JSON input at position 3/],
    ['{', /^Unexpected end of JSON input at position 1 \(expected a property name\)$/],
    ['{"a"', /^Unexpected end of JSON input at position 4 \(expected ':'\)$/],
    ['{"a":', /^Unexpected end of JSON input at position 5 \(expected a value\)$/],
    ['{"a":1', /^Unexpected end of JSON input at position 6 \(expected ',' or '}'\)$/],
    ['[1', /expected ',' or '\]'/],
    ['{"a":1,}', /^Unexpected token } at position 7 \(expected a property name\)$/],
    ['[1,]', /^Unexpected token ] at position 3 \(expected a value\)$/],
    ['[,1]', /^Unexpected token , at position 1/],
    ['{"a" 1}', /^Unexpected token 1 at position 5 \(expected ':'\)$/],
    ['{a:1}', /^Unexpected token a at position 1 \(expected a property name\)$/],
    ["{'a':1}", /^Unexpected token ' at position 1/],
    ['{"a":1}}', /^Unexpected token } at position 7 \(expected end of input\)$/],
    ['1 2', /^Unexpected token 2 at position 2 \(expected end of input\)$/],
    ['01', /^Unexpected token 1 at position 1 \(expected end of input\)$/],
    ['-', /^Unexpected end of JSON input at position 1 \(No number after minus sign\)$/],
    ['-a', /^No number after minus sign at position 1$/],
    ['+1', /^Unexpected token \+ at position 0/],
    ['.5', /^Unexpected token \. at position 0/],
    ['1.', /Unterminated fractional number/],
    ['1.e5', /^Unterminated fractional number at position 2$/],
    ['1e', /Exponent part is missing a number/],
    ['1e+', /Exponent part is missing a number/],
    ['1E-x', /^Exponent part is missing a number at position 3$/],
    ['0x10', /^Unexpected token x at position 1/],
    ['Infinity', /^Unexpected token I at position 0/],
    ['NaN', /^Unexpected token N/],
    ['tru', /^Unexpected end of JSON input at position 3 \(expected 'true'\)$/],
    ['nul', /expected 'null'/],
    ['True', /^Unexpected token T/],
    ['falsy', /^Unexpected token y at position 4 \(expected 'false'\)$/],
    ['"abc', /^Unterminated string starting at position 0$/],
    ['["a', /^Unterminated string starting at position 1$/],
    ['"\\', /^Unterminated string starting at position 0$/],
    ['"\\u12', /^Unterminated string starting at position 0$/],
    ['"a\nb"', /^Bad control character U\+000A in string at position 2$/],
    ['"\u0000"', /^Bad control character U\+0000 in string at position 1$/],
    ['"\u001f"', /Bad control character U\+001F/],
    ['"\\x"', /^Bad escaped character x at position 2$/],
    ['"\\U0041"', /^Bad escaped character U at position 2$/],
    ['"\\\'"', /Bad escaped character '/],
    ['"\\u00g0"', /^Bad Unicode escape at position 1$/],
    ['"\\u 000"', /^Bad Unicode escape at position 1$/],
    ['[1]\u00a0', /^Unexpected token U\+00A0 at position 3 \(expected end of input\)$/],
    ['\ufeff1', /^Unexpected token U\+FEFF at position 0/],
    ['\u000b1', /^Unexpected token U\+000B at position 0/],
    ['\f1', /^Unexpected token U\+000C at position 0/],
    ['[1,\u{1f600}]', /^Unexpected token U\+1F600 at position 3/],
    ['// c\n1', /^Unexpected token \/ at position 0/],
    ['{"a":1 /* c */}', /^Unexpected token \/ at position 7/],
  ];
  for (const [text, message] of invalid) {
    test(`refuses ${JSON.stringify(text)} as JSON.parse does`, () => {
      assert.ok(!parses(text), 'the table is wrong: JSON.parse accepts it');
      const r = fails(compactJson(text));
      assert.equal(r.code, 'InvalidJson');
      assert.match(r.message, message);
    });
  }
});

describe('exactness', () => {
  const numbers = [
    '12345678901234567890',
    '-12345678901234567890123',
    '1e400',
    '-1e400',
    '1E+2',
    '1e-7',
    '1E-7',
    '-0',
    '-0.0',
    '0.0',
    '1.10',
    '1.000',
    '0',
    '5e-324',
    '2e-400',
    '9007199254740993',
    '1.7976931348623157e309',
    '123.456e-789',
  ];

  test('numbers of every shape keep their text, at any depth', () => {
    for (const n of numbers) {
      assert.equal(ok(n), n);
      const text = `{"a":[${n},{"b":${n}}],"c":{"d":[[${n}]]}}`;
      assert.equal(ok(text), text);
      const m = members(text);
      assert.equal(m[0]!.raw, `[${n},{"b":${n}}]`);
      assert.equal(m[1]!.raw, `{"d":[[${n}]]}`);
    }
    const top = members(`{ ${numbers.map((n, i) => `"k${i}" : ${n}`).join(' ,\n ')} }`);
    assert.deepEqual(
      top.map((m) => m.raw),
      numbers,
    );
    assert.ok(top.every((m) => m.kind === 'number' && m.value === undefined));
  });

  test('pretty-printed input comes out compact, byte for byte, strings untouched', () => {
    const pretty = [
      '{',
      '  "inferenceId" : "a 1",',
      '  "body": {',
      '    "inputs": [ 12345678901234567890, 1e400, -0, 1.10, 1E-7, 0.0 ],',
      '\t\t"text": "two  spaces,\\ttab escape, \\u00e9 and \\"quotes\\" \\\\ : [ ]",',
      '    "empty": { }, "list": [ ]',
      '  },',
      '  "meta": { "id" : 7 }\r',
      '}',
    ].join('\n');
    const want =
      '{"inferenceId":"a 1","body":{"inputs":[12345678901234567890,1e400,-0,1.10,1E-7,0.0],' +
      '"text":"two  spaces,\\ttab escape, \\u00e9 and \\"quotes\\" \\\\ : [ ]","empty":{},"list":[]},"meta":{"id":7}}';
    assert.equal(ok(pretty), want);
    assert.equal(ok(`\n\n${pretty}\n  \n`), want);
    const m = members(pretty);
    assert.deepEqual(
      m.map((x) => [x.key, x.kind]),
      [
        ['inferenceId', 'string'],
        ['body', 'object'],
        ['meta', 'object'],
      ],
    );
    assert.equal(m[0]!.raw, '"a 1"');
    assert.equal(m[0]!.value, 'a 1');
    assert.equal(m[1]!.raw, want.slice(want.indexOf('{"inputs"'), want.indexOf(',"meta"')));
    assert.equal(m[2]!.raw, '{"id":7}');
  });

  test('strings: raw keeps the escapes as written, value decodes them', () => {
    const m = members('{"body":"caf\\u00e9 \\"q\\" \\/ \\n","k\\u0065y":"plain","emoji":"\\ud83d\\ude00\u{1f600}","e":""}');
    assert.deepEqual(m, [
      { key: 'body', kind: 'string', raw: '"caf\\u00e9 \\"q\\" \\/ \\n"', value: 'café "q" / \n' },
      { key: 'key', kind: 'string', raw: '"plain"', value: 'plain' },
      { key: 'emoji', kind: 'string', raw: '"\\ud83d\\ude00\u{1f600}"', value: '\u{1f600}\u{1f600}' },
      { key: 'e', kind: 'string', raw: '""', value: '' },
    ]);
  });

  test('every kind of member', () => {
    const m = members('{"o":{"a":1},"a":[1],"s":"x","n":-1.5,"t":true,"f":false,"z":null}');
    assert.deepEqual(
      m.map((x) => [x.key, x.kind, x.raw]),
      [
        ['o', 'object', '{"a":1}'],
        ['a', 'array', '[1]'],
        ['s', 'string', '"x"'],
        ['n', 'number', '-1.5'],
        ['t', 'true', 'true'],
        ['f', 'false', 'false'],
        ['z', 'null', 'null'],
      ],
    );
    assert.deepEqual(members('{}'), []);
    assert.deepEqual(members(' { } '), []);
  });

  test('a string value with an escape error, or one after a long plain run, gets the exact error', () => {
    const long = 'x'.repeat(5000);
    assert.match(fails(scanObject(`{"body":"${long}\\q"}`)).message, /^Bad escaped character q at position 5010$/);
    assert.match(fails(scanObject(`{"body":"${long}\\n\u0001"}`)).message, /^Bad control character U\+0001 in string at position 5011$/);
    assert.match(fails(scanObject(`{"body":"${long}\\n`)).message, /^Unterminated string starting at position 8$/);
    assert.match(fails(scanObject(`{"body":"a\\"b\\\\"c"}`)).message, /^Unexpected token c at position 16/);
    // More escapes than the regex takes in one call.
    const dense = '\\n\\"'.repeat(3000);
    assert.equal(members(`{"body":"${dense}"}`)[0]!.value, '\n"'.repeat(3000));
    assert.equal(ok(`["${dense}\\u0041"]`), `["${dense}\\u0041"]`);
    assert.match(fails(compactJson(`["${dense}\\a"]`)).message, new RegExp(`^Bad escaped character a at position ${2 + dense.length + 1}$`));
  });

  test('strings made of little but escapes, quotes, backslashes or surrogate pairs', () => {
    const runs: [string, string][] = [
      ['\\"', '"'],
      ['\\\\', '\\'],
      ['x\\"', 'x"'],
      ['\\ud83d\\ude00', '\u{1f600}'],
      ['\u{1f600}', '\u{1f600}'],
      ['\\u00e9\\n', 'é\n'],
    ];
    for (const [part, decoded] of runs) {
      for (const n of [1, 17, 40, 3000]) {
        const body = part.repeat(n);
        assert.deepEqual(
          members(`{"body":"${body}","meta":"${body}"}`).map((m) => m.value),
          [decoded.repeat(n), decoded.repeat(n)],
          `${part} x ${n}`,
        );
        assert.equal(ok(`{"body":["${body}"]}`), `{"body":["${body}"]}`);
        // The same run, then a problem: found at the right place in a member and deeper.
        const at = 9 + body.length;
        assert.equal(fails(scanObject(`{"body":"${body}\\q"}`)).message, `Bad escaped character q at position ${at + 1}`);
        assert.equal(fails(scanObject(`{"body":"${body}\u0007"}`)).message, `Bad control character U+0007 in string at position ${at}`);
        assert.equal(fails(scanObject(`{"body":"${body}`)).message, 'Unterminated string starting at position 8');
        const lone = fails(scanObject(`{"body":"${body}\\udc00"}`));
        assert.equal(lone.message, `lone surrogate \\udc00 in body at position ${at}: a string must be valid Unicode`);
        assert.equal(
          fails(compactJson(`{"body":["${body}\ud800"]}`)).message,
          `lone surrogate U+D800 in body[0] at position ${at + 1}: a string must be valid Unicode`,
        );
      }
    }
    // Runs of backslashes of every length up to past the quote search's look-back, before an
    // escaped quote (odd runs) and before the closing quote (even runs).
    for (let n = 0; n < 80; n++) {
      const odd = `{"body":"${'\\\\'.repeat(n)}\\"x","meta":1}`;
      assert.equal(members(odd)[0]!.value, `${'\\'.repeat(n)}"x`, odd);
      const even = `{"body":"x${'\\\\'.repeat(n)}","meta":"${'\\\\'.repeat(n)}"}`;
      assert.deepEqual(
        members(even).map((m) => m.value),
        [`x${'\\'.repeat(n)}`, '\\'.repeat(n)],
        even,
      );
    }
    // Two raw high surrogates are not a pair.
    assert.equal(
      fails(compactJson(`["${'x'.repeat(40)}\ud83d\ud83d\ude00"]`)).message,
      'lone surrogate U+D83D in [0] at position 42: a string must be valid Unicode',
    );
    assert.equal(fails(compactJson('["\\ud83d\\ud83d\\ude00"]')).message, 'lone surrogate \\ud83d in [0] at position 2: a string must be valid Unicode');
  });
});

describe('refused although JSON.parse takes it', () => {
  test('an envelope is an object', () => {
    for (const [text, got] of [
      ['[1]', 'an array'],
      ['null', 'null'],
      ['"s"', 'string'],
      ['-1', 'number'],
      ['true', 'boolean'],
      ['false', 'boolean'],
    ]) {
      const r = fails(scanObject(text!));
      assert.equal(r.code, 'InvalidRecord');
      assert.equal(r.message, `an envelope must be a JSON object, got ${got}`);
      assert.equal(r.key, undefined);
    }
    // Syntax comes first: a broken array is not JSON, whatever it would have been.
    assert.equal(fails(scanObject('[1,')).code, 'InvalidJson');
  });

  test('a top-level key given twice, compared decoded', () => {
    for (const [text, key] of [
      ['{"body":1,"body":2}', 'body'],
      ['{"endpointName":"a","body":1,"endpointName":"a"}', 'endpointName'],
      ['{"body":1,"b\\u006fdy":2}', 'body'],
      ['{"":1,"":2}', ''],
      ['{"meta":{},"body":"x","meta":{}}', 'meta'],
    ]) {
      const r = fails(scanObject(text!));
      assert.equal(r.code, 'InvalidRecord', text);
      assert.equal(r.message, `key ${JSON.stringify(key)} appears twice`);
      assert.equal(r.key, key);
    }
    // Many keys: the check stays exact past the short list.
    const many = Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`);
    assert.equal(members(`{${many.join(',')}}`).length, 40);
    assert.equal(fails(scanObject(`{${many.join(',')},"k3":0}`)).key, 'k3');
    // Deeper duplicates are the user's business and pass as written.
    assert.deepEqual(
      members('{"body":{"a":1,"a":2},"meta":[{"x":1,"x":1}]}').map((m) => m.raw),
      ['{"a":1,"a":2}', '[{"x":1,"x":1}]'],
    );
    // A syntax error later in the line wins over a duplicate.
    assert.equal(fails(scanObject('{"a":1,"a":2,}')).code, 'InvalidJson');
  });

  test('lone surrogates, escaped or raw, in values and keys', () => {
    const cases: [string, RegExp, string | undefined][] = [
      ['{"body":"\\ud800"}', /^lone surrogate \\ud800 in body at position 9: a string must be valid Unicode$/, 'body'],
      ['{"body":"x\\udc00"}', /^lone surrogate \\udc00 in body at position 10/, 'body'],
      ['{"body":"\\ud83d\\u0041"}', /^lone surrogate \\ud83d in body at position 9/, 'body'],
      ['{"body":"\\ud83d\\ud83d\\ude00"}', /^lone surrogate \\ud83d in body at position 9/, 'body'],
      ['{"body":"\\ud83dx\\ude00"}', /^lone surrogate \\ud83d in body at position 9/, 'body'],
      ['{"body":"\\ude00\\ud83d"}', /^lone surrogate \\ude00 in body at position 9/, 'body'],
      ['{"body":"\\ud83d\\n"}', /^lone surrogate \\ud83d/, 'body'],
      ['{"body":"\\ud83d"}', /^lone surrogate \\ud83d/, 'body'],
      ['{"meta":{"a":[1,{"b c":"\\uDBFF"}]}}', /^lone surrogate \\uDBFF in meta\.a\[1\]\["b c"\] at position 24/, 'meta'],
      ['{"meta":{"\\ud800":1}}', /^lone surrogate \\ud800 in a key of meta at position 10/, 'meta'],
      ['{"\\ud800":1}', /^lone surrogate \\ud800 in a key at position 2/, undefined],
      ['{"body":"\ud800"}', /^lone surrogate U\+D800 in body at position 9/, 'body'],
      ['{"body":"\udc00\ud800"}', /^lone surrogate U\+DC00 in body at position 9/, 'body'],
      ['{"body":"\ud83d\\u0041"}', /^lone surrogate U\+D83D in body/, 'body'],
    ];
    for (const [text, message, key] of cases) {
      assert.ok(parses(text), text);
      const r = fails(scanObject(text));
      assert.equal(r.code, 'InvalidRecord', text);
      assert.match(r.message, message);
      assert.equal(r.key, key, text);
      const c = fails(compactJson(text));
      assert.equal(c.code, 'InvalidRecord');
      assert.equal(c.key, undefined);
    }
    assert.match(fails(compactJson('"\\ud800"')).message, /^lone surrogate \\ud800 at position 1: /);
    assert.match(fails(compactJson('[1,"\\udfff"]')).message, /^lone surrogate \\udfff in \[1\] at position 4: /);
    // Pairs, escaped, raw or mixed, are fine; so is the same text outside a string pair's reach.
    assert.equal(members('{"body":"\\ud83d\\ude00"}')[0]!.value, '\u{1f600}');
    assert.equal(members('{"body":"\\uD83D\\uDE00 \\udbff\\udfff"}')[0]!.value, '\u{1f600} \u{10ffff}');
    assert.equal(members('{"body":"\ud83d\\ude00"}')[0]!.value, '\u{1f600}');
    assert.equal(members('{"body":"\\ud83d\ude00"}')[0]!.value, '\u{1f600}');
    assert.equal(ok('{"a":{"\\ud83d\\ude00":"\\ud83d\\ude00"}}'), '{"a":{"\\ud83d\\ude00":"\\ud83d\\ude00"}}');
    assert.equal(ok('"\\ud7ff\\ue000"'), '"\\ud7ff\\ue000"');
    // A syntax error anywhere wins over a lone surrogate.
    assert.equal(fails(scanObject('{"body":"\\ud800",}')).code, 'InvalidJson');
  });

  test('10^5 levels of nesting are an error, not a crash', () => {
    const deep = '['.repeat(1e5) + ']'.repeat(1e5);
    const r = fails(compactJson(deep));
    assert.equal(r.code, 'InvalidRecord');
    assert.match(r.message, /^nested deeper than 1000 levels in \[0\]\[0\]/);
    assert.ok(r.message.length < 120, r.message);
    const e = fails(scanObject(`{"body":1,"meta":${deep}}`));
    assert.equal(e.code, 'InvalidRecord');
    assert.equal(e.key, 'meta');
    assert.match(e.message, /^nested deeper than 1000 levels in meta\[0\]\[0\].*… at position 1016$/);
    assert.ok(e.message.length < 120, e.message);
    const objects = '{"a":'.repeat(1e5) + '1' + '}'.repeat(1e5);
    assert.match(fails(compactJson(objects)).message, /^nested deeper than 1000 levels in a\.a\.a/);
    // Unbalanced deep text is not JSON, and says so.
    assert.equal(fails(compactJson('['.repeat(1e5))).code, 'InvalidJson');
    assert.equal(fails(compactJson('['.repeat(1e5) + ']'.repeat(1e5 - 1) + '}')).code, 'InvalidJson');
  });

  test('maxDepth counts containers, the outermost included', () => {
    assert.equal(DEFAULT_MAX_DEPTH, 1000);
    assert.equal(ok('['.repeat(1000) + ']'.repeat(1000)).length, 2000);
    assert.equal(fails(compactJson('['.repeat(1001) + ']'.repeat(1001))).code, 'InvalidRecord');
    assert.ok(compactJson('[[1]]', { maxDepth: 2 }).ok);
    assert.match(fails(compactJson('[[[1]]]', { maxDepth: 2 })).message, /^nested deeper than 2 levels in \[0\]\[0\] at position 2$/);
    assert.ok(compactJson('1', { maxDepth: 0 }).ok);
    assert.equal(fails(compactJson('[]', { maxDepth: 0 })).code, 'InvalidRecord');
    assert.ok(scanObject('{"body":[1]}', { maxDepth: 2 }).ok);
    assert.equal(fails(scanObject('{"body":[[1]]}', { maxDepth: 2 })).key, 'body');
    assert.ok(compactJson('['.repeat(5000) + ']'.repeat(5000), { maxDepth: 1e6 }).ok);
    for (const bad of [-1, 1.5, NaN, Infinity]) assert.throws(() => compactJson('1', { maxDepth: bad }), RangeError);
  });

  test('outer: containers of ours around the values are not counted, and messages name maxDepth', () => {
    const body = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    assert.ok(scanObject(`{"body":${body(1000)}}`, { outer: 1 }).ok);
    const deep = fails(scanObject(`{"body":${body(1001)}}`, { outer: 1 }));
    assert.equal(deep.key, 'body');
    assert.match(deep.message, /^nested deeper than 1000 levels in body\[0\]/);
    assert.equal(fails(scanObject(`{"body":${body(1000)}}`)).code, 'InvalidRecord', 'without outer the envelope counts');
    assert.ok(compactJson(`[${body(1000)},${body(1000)}]`, { outer: 1 }).ok);
    assert.match(fails(compactJson(`[${body(1001)}]`, { outer: 1 })).message, /^nested deeper than 1000 levels/);
    assert.throws(() => compactJson('1', { outer: -1 }), RangeError);
  });

  test('a 4 MiB key is echoed capped, and everything else stays short', () => {
    const key = 'k'.repeat(4 << 20);
    const r = fails(scanObject(`{"${key}":1,"${key}":2}`));
    assert.equal(r.code, 'InvalidRecord');
    assert.ok(r.message.length < 100, `message is ${r.message.length} chars`);
    assert.ok(r.key!.length <= 61);
    assert.match(r.message, /^key "k{60}…" appears twice$/);
    const nested = fails(scanObject(`{"meta":{"${key}":"\\ud800"}}`));
    assert.ok(nested.message.length < 160, `message is ${nested.message.length} chars`);
    assert.equal(nested.key, 'meta');
    const escapedKey = `"${'\\u0001'.repeat(1 << 20)}"`;
    const e = fails(scanObject(`{${escapedKey}:1,${escapedKey}:2}`));
    assert.match(e.message, /^key "(\\u0001){10}…" appears twice$/);
    assert.ok(e.key!.length <= 61);
    assert.ok(members(`{"${key}":1}`)[0]!.key === key);
    // A megabyte of text never shows up in a syntax error either.
    const big = `{"body":"${'x'.repeat(4 << 20)}"`;
    assert.equal(fails(scanObject(big)).message, `Unexpected end of JSON input at position ${big.length} (expected ',' or '}')`);
  });
});

describe('memory', () => {
  test('members kept after a big line is gone do not keep the line alive', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const kept: string[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 40; i++) {
      const line =
        `{"meta":{"id":"record-${i}-of-many"},"inferenceId":"inference-id-${i}","key-that-is-long-${i}":1,` + `"bodyBase64":"${'QUJD'.repeat(1 << 18)}"}`;
      const m = members(line);
      kept.push(m[0]!.raw, m[1]!.value!, m[2]!.key);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // Slices would keep 40 lines of 1 MiB; copies keep a few kilobytes.
    assert.ok(grown < 10 << 20, `heap grew by ${grown} bytes`);
    assert.equal(kept[0], '{"id":"record-0-of-many"}');
    assert.equal(kept[4], 'inference-id-1');
  });
});

// ---- differential: random and mutated texts against JSON.parse ----

const NUMBERS = [
  '0',
  '-0',
  '1',
  '-1',
  '10',
  '1.10',
  '0.0',
  '1e400',
  '-1e400',
  '1E+2',
  '1e-7',
  '1E-7',
  '12345678901234567890',
  '5e-324',
  '123.456e+78',
  '-0.000001',
];
const CHARS = ['a', 'b', 'Z', ' ', '  ', '"', '\\', '/', '\n', '\t', '\u0001', '\u001f', 'é', '€', '\u2028', '\u{1f600}', ':', ',', '{', ']'];
const ESCAPES = ['\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t', '\\u0041', '\\u00E9', '\\u20ac', '\\ud83d\\ude00', '\\uD83D\\uDE00', '\\u0000'];
const LONE = ['\\ud800', '\\udc00', '\\uDBFF', '\ud800', '\udfff', '\\ud83d\\u0041', '\\ud83dx'];
const KEYS = ['a', 'b', 'body', 'meta', '', 'k\\u0065y', 'x y'];
const WS = ['', '', '', ' ', '\n', '\t', '\r\n', '  '];
const NOISE = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '\\',
  ' ',
  '0',
  '1',
  '-',
  '.',
  'e',
  'E',
  '+',
  't',
  'n',
  'u',
  'x',
  '\u0000',
  '\u00a0',
  '\ud800',
  '\ufeff',
  '\n',
];

function pick<T>(rnd: Random, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)]!;
}

function genString(rnd: Random): string {
  let s = '"';
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.45) s += pick(rnd, CHARS).replace(/["\\\u0000-\u001f]/g, (c) => JSON.stringify(c).slice(1, -1));
    else if (r < 0.9) s += pick(rnd, ESCAPES);
    else if (r < 0.93) s += pick(rnd, LONE);
    else if (r < 0.97)
      s += 'x'.repeat(Math.floor(rnd() * 60)); // past the hand-scanned prefix
    else s += pick(rnd, ['\\"', '\\\\', '\\ud83d\\ude00', '\u{1f600}', 'ab\\"']).repeat(10 + Math.floor(rnd() * 100)); // dense runs
  }
  return s + '"';
}

function genValue(rnd: Random, depth: number): string {
  const w = (): string => pick(rnd, WS);
  const r = rnd();
  if (depth > 0 && r < 0.25) {
    const n = Math.floor(rnd() * 4);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`${w()}"${pick(rnd, KEYS)}"${w()}:${w()}${genValue(rnd, depth - 1)}${w()}`);
    return `{${parts.join(',') || w()}}`;
  }
  if (depth > 0 && r < 0.45) {
    const n = Math.floor(rnd() * 4);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`${w()}${genValue(rnd, depth - 1)}${w()}`);
    return `[${parts.join(',') || w()}]`;
  }
  if (r < 0.7) return genString(rnd);
  if (r < 0.9) return pick(rnd, NUMBERS);
  return pick(rnd, ['true', 'false', 'null']);
}

function mutate(rnd: Random, t: string): string {
  const at = Math.floor(rnd() * (t.length + 1));
  const r = rnd();
  if (r < 0.3) return t.slice(0, at) + t.slice(at + 1);
  if (r < 0.6) return t.slice(0, at) + pick(rnd, NOISE) + t.slice(at);
  if (r < 0.8) return t.slice(0, at) + pick(rnd, NOISE) + t.slice(at + 1);
  if (r < 0.9) return t.slice(0, at);
  return t.slice(0, at) + t.slice(Math.floor(rnd() * t.length));
}

describe('differential against JSON.parse', () => {
  test('random and mutated texts: same acceptance, same values, byte-exact compaction', () => {
    const rnd = mulberry32(20240607);
    const counts = { accepted: 0, syntax: 0, refused: 0, envelopes: 0 };
    for (let n = 0; n < 4000; n++) {
      let t = genValue(rnd, 1 + Math.floor(rnd() * 5));
      if (rnd() < 0.3) t = `{"body":${t},"meta":${genValue(rnd, 2)}}`;
      if (rnd() < 0.2) t = pick(rnd, WS) + t + pick(rnd, WS);
      const mutations = n % 2 === 0 ? 0 : 1 + Math.floor(rnd() * 3);
      for (let m = 0; m < mutations; m++) t = mutate(rnd, t);
      const maxDepth = rnd() < 0.2 ? Math.floor(rnd() * 4) : DEFAULT_MAX_DEPTH;

      let parsed: unknown;
      let valid = true;
      try {
        parsed = JSON.parse(t);
      } catch {
        valid = false;
      }
      const want = valid && acceptable(t, maxDepth);
      const got = compactJson(t, { maxDepth });
      const label = `text ${JSON.stringify(t)} maxDepth ${maxDepth}: ${JSON.stringify(got)}`;
      assert.equal(got.ok, want, label);
      if (got.ok) {
        counts.accepted++;
        assert.equal(got.json, refCompact(t), label);
        assert.deepEqual(JSON.parse(got.json), parsed, label);
      } else {
        assert.equal(got.code, valid ? 'InvalidRecord' : 'InvalidJson', label);
        assert.ok(got.message.length < 200, label);
        if (valid) counts.refused++;
        else counts.syntax++;
      }

      const env = scanObject(t, { maxDepth });
      const isObject = valid && parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
      if (!valid) {
        assert.equal(env.ok ? 'ok' : env.code, 'InvalidJson', label);
      } else if (!isObject) {
        assert.ok(!env.ok && env.code === 'InvalidRecord' && /must be a JSON object/.test(env.message), label);
      } else {
        const object = parsed as Record<string, unknown>;
        const duplicates = refMemberCount(t) !== Object.keys(object).length;
        assert.equal(env.ok, got.ok && !duplicates, label);
        if (env.ok) {
          counts.envelopes++;
          const compact = refCompact(t);
          assert.deepEqual(env.members.map((m) => m.key).sort(), Object.keys(object).sort(), label);
          for (const m of env.members) {
            assert.ok(compact.includes(m.raw), label);
            assert.deepEqual(JSON.parse(m.raw), object[m.key], label);
            if (m.kind === 'string') assert.equal(m.value, object[m.key], label);
            else assert.equal(m.value, undefined, label);
          }
        } else if (got.ok) {
          assert.match(env.message, /appears twice/, label);
        } else {
          assert.equal(env.code, 'InvalidRecord', label);
        }
      }
    }
    // The generator must reach every outcome often, or the test proves little.
    for (const [k, v] of Object.entries(counts)) assert.ok(v > 200, `${k}: ${v}`);
  });
});
