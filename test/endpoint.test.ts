// endpoint.ts against the official endpoint rule-set test vectors (reference §1.2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { realRegion, resolveEndpoint } from '../src/endpoint.js';

const vectors: Array<[string, boolean, boolean, string]> = [
  ['us-east-1', false, false, 'https://runtime.sagemaker.us-east-1.amazonaws.com'],
  ['us-east-1', true, false, 'https://runtime-fips.sagemaker.us-east-1.amazonaws.com'],
  ['us-east-1', false, true, 'https://runtime.sagemaker.us-east-1.api.aws'],
  ['us-east-1', true, true, 'https://runtime.sagemaker-fips.us-east-1.api.aws'],
  ['cn-north-1', false, false, 'https://runtime.sagemaker.cn-north-1.amazonaws.com.cn'],
  ['cn-north-1', false, true, 'https://runtime.sagemaker.cn-north-1.api.amazonwebservices.com.cn'],
  ['cn-north-1', true, false, 'https://runtime.sagemaker-fips.cn-north-1.amazonaws.com.cn'],
  ['cn-north-1', true, true, 'https://runtime.sagemaker-fips.cn-north-1.api.amazonwebservices.com.cn'],
  ['us-gov-west-1', true, false, 'https://runtime.sagemaker.us-gov-west-1.amazonaws.com'],
  ['us-gov-west-1', false, false, 'https://runtime.sagemaker.us-gov-west-1.amazonaws.com'],
  ['us-gov-east-1', false, true, 'https://runtime.sagemaker.us-gov-east-1.api.aws'],
  ['us-gov-east-1', true, true, 'https://runtime.sagemaker-fips.us-gov-east-1.api.aws'],
  ['us-iso-east-1', false, false, 'https://runtime.sagemaker.us-iso-east-1.c2s.ic.gov'],
  ['us-iso-east-1', true, false, 'https://runtime.sagemaker-fips.us-iso-east-1.c2s.ic.gov'],
  ['us-isob-east-1', false, false, 'https://runtime.sagemaker.us-isob-east-1.sc2s.sgov.gov'],
  ['eu-west-1', false, false, 'https://runtime.sagemaker.eu-west-1.amazonaws.com'],
  ['xx-unknown-9', false, false, 'https://runtime.sagemaker.xx-unknown-9.amazonaws.com'],
];

for (const [region, fips, dual, url] of vectors) {
  test(`${region} fips=${fips} dualstack=${dual}`, () => {
    assert.deepEqual(resolveEndpoint({ region, useFips: fips, useDualStack: dual }), { url, signingRegion: region });
  });
}

test('FIPS pseudo-regions turn FIPS on and sign for the real region', () => {
  assert.deepEqual(realRegion('fips-us-east-1'), { region: 'us-east-1', fips: true });
  assert.deepEqual(realRegion('us-west-2-fips'), { region: 'us-west-2', fips: true });
  assert.deepEqual(realRegion('aws-fips'), { region: 'us-east-1', fips: true });
  assert.deepEqual(resolveEndpoint({ region: 'us-west-2-fips', useFips: false, useDualStack: false }),
    { url: 'https://runtime-fips.sagemaker.us-west-2.amazonaws.com', signingRegion: 'us-west-2' });
});

test('a custom endpoint is used as given (one trailing slash dropped), signed for the region', () => {
  assert.deepEqual(resolveEndpoint({ region: 'eu-west-1', useFips: false, useDualStack: false, endpointUrl: 'http://127.0.0.1:9000/base/' }),
    { url: 'http://127.0.0.1:9000/base', signingRegion: 'eu-west-1' });
});

test('custom endpoint with FIPS or dual-stack is refused; bad regions too', () => {
  assert.throws(() => resolveEndpoint({ region: 'us-east-1', useFips: true, useDualStack: false, endpointUrl: 'http://x' }), /FIPS and custom endpoint are not supported/);
  assert.throws(() => resolveEndpoint({ region: 'us-east-1', useFips: false, useDualStack: true, endpointUrl: 'http://x' }), /Dualstack and custom endpoint are not supported/);
  assert.throws(() => resolveEndpoint({ region: 'us east/1', useFips: false, useDualStack: false }), /not a valid region name/);
});
