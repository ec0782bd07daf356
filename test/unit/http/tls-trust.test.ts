// tls-trust.ts: the CA bundle's order (flag, AWS_CA_BUNDLE, profile) and a bad bundle as a usage error.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../../../src/errors.js';
import { chooseCaBundle, loadCaBundle, parseCaBundle } from '../../../src/http/tls-trust.js';
import { haveOpenssl, makeTestCerts } from '../../helpers/tls.js';
import { requireTools } from '../../helpers/tools.js';

test("order: --ca-bundle, then AWS_CA_BUNDLE, then the profile's ca_bundle; empty values do not count", () => {
  const profile = { name: 'dev', caBundle: '/p.pem' };
  assert.deepEqual(chooseCaBundle('/f.pem', { AWS_CA_BUNDLE: '/e.pem' }, profile), { file: '/f.pem', source: '--ca-bundle' });
  assert.deepEqual(chooseCaBundle(undefined, { AWS_CA_BUNDLE: '/e.pem' }, profile), { file: '/e.pem', source: 'AWS_CA_BUNDLE' });
  assert.deepEqual(chooseCaBundle(undefined, { AWS_CA_BUNDLE: '' }, profile), { file: '/p.pem', source: 'profile dev (ca_bundle)' });
  assert.equal(chooseCaBundle(undefined, {}, { name: 'default', caBundle: undefined }), undefined);
});

test('a missing, empty or broken bundle is a usage error naming the file and where it came from', () => {
  const choice = { file: '/no/such/bundle.pem', source: 'AWS_CA_BUNDLE' };
  assert.throws(
    () => loadCaBundle(choice, (p) => readFileSync(p, 'utf8')),
    (e: unknown) => e instanceof UsageError && /AWS_CA_BUNDLE: cannot read CA bundle \/no\/such\/bundle\.pem: ENOENT/.test(e.message),
  );
  assert.throws(
    () => parseCaBundle('hello', choice),
    (e: unknown) => e instanceof UsageError && /bundle\.pem holds no PEM certificate/.test(e.message),
  );
  assert.throws(
    () => parseCaBundle('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', choice),
    (e: unknown) => e instanceof UsageError && /certificate 1 of 1 cannot be read/.test(e.message),
  );
});

test('a real bundle: every certificate in it', (t) => {
  requireTools(!haveOpenssl() && 'openssl is not installed (Debian package openssl), needed to make a test CA');
  const dir = mkdtempSync(join(tmpdir(), 'sm-invoke-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const certs = makeTestCerts(dir);
  const two = parseCaBundle(`# comment\n${certs.ca}\n${certs.cert}`, { file: 'x', source: '--ca-bundle' });
  assert.equal(two.length, 2);
});
