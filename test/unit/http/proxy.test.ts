// proxy.ts: which proxy a request takes (HTTPS_PROXY / HTTP_PROXY / NO_PROXY as the AWS CLI reads
// them) and how proxy credentials are kept out of every message. Pure.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bypassesProxy, parseProxyUrl, ProxyConfigError, proxyFor, readProxySettings, redactSecrets } from '../../../src/http/proxy.js';

describe('readProxySettings', () => {
  test('nothing set: no proxy at all', () => {
    assert.equal(readProxySettings({}), undefined);
    assert.equal(readProxySettings({ NO_PROXY: 'x' }), undefined);
  });

  test('https endpoints take HTTPS_PROXY, http ones HTTP_PROXY; the lower-case name wins; empty lower-case = none', () => {
    const s = readProxySettings({ HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2', HTTP_PROXY: 'http://plain:3' })!;
    assert.equal(s.https?.url.host, 'lower:2');
    assert.equal(s.https?.source, 'https_proxy');
    assert.equal(s.http?.url.host, 'plain:3');
    const none = readProxySettings({ HTTPS_PROXY: 'http://upper:1', https_proxy: '' });
    assert.equal(none, undefined);
  });

  test("a URL without a scheme gets http://, ports default to the scheme's; other schemes are refused", () => {
    const r = parseProxyUrl('proxy.corp:3128', 'HTTPS_PROXY');
    assert.equal(r.url.href, 'http://proxy.corp:3128/');
    assert.equal(r.address, 'proxy.corp:3128');
    assert.equal(parseProxyUrl('http://p', 'X').address, 'p:80');
    assert.equal(parseProxyUrl('https://p', 'X').address, 'p:443');
    assert.throws(
      () => parseProxyUrl('socks5://u:secretpw@p:1080', 'HTTPS_PROXY'),
      (e: unknown) => e instanceof ProxyConfigError && /HTTPS_PROXY/.test(e.message) && !e.message.includes('secretpw'),
    );
    assert.throws(() => parseProxyUrl('http://[bad', 'HTTP_PROXY'), ProxyConfigError);
  });

  test('credentials: a Basic Proxy-Authorization, never in display', () => {
    const r = parseProxyUrl('http://al%40ice:p%3Ass@127.0.0.1:3128', 'HTTPS_PROXY');
    assert.equal(r.authorization, `Basic ${Buffer.from('al@ice:p:ss').toString('base64')}`);
    assert.equal(r.display, 'http://***@127.0.0.1:3128');
    assert.equal(r.hasCredentials, true);
    assert.equal(parseProxyUrl('http://127.0.0.1:3128', 'X').display, 'http://127.0.0.1:3128');
  });
});

describe('NO_PROXY', () => {
  const settings = (noProxy: string) => readProxySettings({ HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128', NO_PROXY: noProxy })!;
  const direct = (noProxy: string, host: string, port = 443): boolean => bypassesProxy(settings(noProxy), host, port);

  test('empty: everything through the proxy; * : nothing', () => {
    assert.equal(direct('', 'runtime.sagemaker.us-east-1.amazonaws.com'), false);
    assert.equal(direct('*', 'runtime.sagemaker.us-east-1.amazonaws.com'), true);
    assert.equal(direct('a.com, *', 'b.com'), true);
  });

  test('a domain matches itself and its subdomains, written as example.com, .example.com or *.example.com', () => {
    for (const entry of ['example.com', '.example.com', '*.example.com', 'EXAMPLE.com']) {
      assert.equal(direct(entry, 'example.com'), true, `${entry} / example.com`);
      assert.equal(direct(entry, 'api.Example.com'), true, `${entry} / api.example.com`);
      assert.equal(direct(entry, 'badexample.com'), false, `${entry} / badexample.com`);
      assert.equal(direct(entry, 'example.com.evil'), false, `${entry} / example.com.evil`);
    }
  });

  test('host:port applies on that port only; entries split on commas and blanks', () => {
    assert.equal(direct('example.com:8443', 'example.com', 8443), true);
    assert.equal(direct('example.com:8443', 'example.com', 443), false);
    assert.equal(direct('a.com  example.com,b.com', 'example.com'), true);
  });

  test('IP addresses in any form, IPv6 with or without brackets, and CIDR networks; no DNS', () => {
    assert.equal(direct('127.0.0.1', '127.0.0.1'), true);
    assert.equal(direct('127.0.0.1', '127.0.0.2'), false);
    assert.equal(direct('::1', '::1'), true);
    assert.equal(direct('[::1]', '::1'), true);
    assert.equal(direct('[::1]:8080', '::1', 8080), true);
    assert.equal(direct('0:0:0:0:0:0:0:1', '::1'), true);
    assert.equal(direct('10.0.0.0/8', '10.20.30.40'), true);
    assert.equal(direct('10.0.0.0/8', '11.0.0.1'), false);
    assert.equal(direct('fd00::/8', 'fd12::1'), true);
    assert.equal(direct('localhost', '127.0.0.1'), false, 'names are not resolved');
    assert.equal(direct('127.0.0.1', 'localhost'), false);
  });

  test("proxyFor: the scheme's proxy unless NO_PROXY names the host", () => {
    const s = readProxySettings({ HTTPS_PROXY: 'http://tls-proxy:1', NO_PROXY: 'internal' })!;
    assert.equal(proxyFor(s, 'https:', 'runtime.example', 443)?.url.host, 'tls-proxy:1');
    assert.equal(proxyFor(s, 'https:', 'a.internal', 443), undefined);
    assert.equal(proxyFor(s, 'http:', 'runtime.example', 80), undefined, 'no HTTP_PROXY: plain http goes direct');
  });
});

test('redactSecrets: userinfo of any URL, and the password and Basic token of a known proxy', () => {
  const r = parseProxyUrl('http://bob:Sup3rS3cret@127.0.0.1:9', 'HTTPS_PROXY');
  const text = `connect to http://bob:Sup3rS3cret@127.0.0.1:9 failed; password Sup3rS3cret; header ${r.authorization}; https://x:y@h/`;
  const out = redactSecrets(text);
  assert.ok(!out.includes('Sup3rS3cret'), out);
  assert.ok(!out.includes(r.authorization!.slice(6)), out);
  assert.ok(!out.includes('x:y@'), out);
  assert.match(out, /http:\/\/\*\*\*@127\.0\.0\.1:9/);
});
