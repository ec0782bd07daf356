// single.ts: --body like the AWS CLI; metadata and error text like the AWS CLI.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../../../src/errors.js';
import { formatCliError, formatCliMetadata, readBodyArgument } from '../../../src/cli/single.js';
import { tempDir } from '../../helpers/cli.js';

const dir = tempDir();
const fs = { readFile: (p: string) => readFileSync(p), home: dir, env: { DATA: dir } };
writeFileSync(join(dir, 'text.json'), '{"é":1}\n');
writeFileSync(join(dir, 'bin'), Buffer.from([0, 0xff, 0xfe]));

test('literal text is sent as UTF-8, never base64-decoded', () => {
  assert.deepEqual(readBodyArgument('aGVsbG8=', fs), Buffer.from('aGVsbG8='));
  assert.deepEqual(readBodyArgument('{"x":"é"}', fs), Buffer.from('{"x":"é"}'));
});

test('file:// reads text, fileb:// reads bytes; ~ and $VAR expand', () => {
  assert.deepEqual(readBodyArgument(`file://${dir}/text.json`, fs), Buffer.from('{"é":1}\n'));
  assert.deepEqual(readBodyArgument('fileb://~/bin', fs), Buffer.from([0, 0xff, 0xfe]));
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the AWS CLI's ${VAR} expansion is what is tested
  assert.deepEqual(readBodyArgument('fileb://${DATA}/bin', fs), Buffer.from([0, 0xff, 0xfe]));
  assert.deepEqual(readBodyArgument('file://$DATA/text.json', fs), Buffer.from('{"é":1}\n'));
});

test('file:// on binary and missing files are usage errors with advice', () => {
  assert.throws(
    () => readBodyArgument(`file://${dir}/bin`, fs),
    (e: unknown) => e instanceof UsageError && /not valid UTF-8 text; use fileb:\/\//.test(e.message),
  );
  assert.throws(() => readBodyArgument(`fileb://${dir}/nope`, fs), /cannot read fileb:\/\/.*nope: no such file/);
});

test('metadata as the AWS CLI prints it', () => {
  assert.equal(
    formatCliMetadata({ line: 1, ok: true, contentType: 'application/json', invokedProductionVariant: 'AllTraffic' }),
    '{\n    "ContentType": "application/json",\n    "InvokedProductionVariant": "AllTraffic"\n}\n',
  );
  assert.equal(
    formatCliMetadata({ line: 1, ok: true, contentType: 'a', invokedProductionVariant: 'v', customAttributes: 'c', newSessionId: 's' }),
    '{\n    "ContentType": "a",\n    "InvokedProductionVariant": "v",\n    "CustomAttributes": "c",\n    "NewSessionId": "s"\n}\n',
  );
});

test('errors as the AWS CLI prints them', () => {
  assert.equal(
    formatCliError({ code: 'ModelError', message: 'Received client error (400)', status: 424 }, 1),
    '\nAn error occurred (ModelError) when calling the InvokeEndpoint operation: Received client error (400)\n',
  );
  assert.equal(
    formatCliError({ code: 'ThrottlingException', message: 'ThrottlingException', status: 400 }, 3),
    '\nAn error occurred (ThrottlingException) when calling the InvokeEndpoint operation (reached max retries: 2): None\n',
  );
});
