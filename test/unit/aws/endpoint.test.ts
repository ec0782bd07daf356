// endpoint.ts against the official endpoint rule-set test vectors (docs/wire.md §1.2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { realRegion, resolveEndpoint } from '../../../src/aws/endpoint.js';

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
  // Partitions and regions a hand-kept table missed or got wrong (the SDK's partition data places them):
  ['eusc-de-east-1', false, false, 'https://runtime.sagemaker.eusc-de-east-1.amazonaws.eu'],
  ['eusc-de-east-1', true, true, 'https://runtime.sagemaker-fips.eusc-de-east-1.api.amazonwebservices.eu'],
  ['eusc-de-west-9', false, false, 'https://runtime.sagemaker.eusc-de-west-9.amazonaws.eu'],
  ['us-isob-west-1', false, true, 'https://runtime.sagemaker.us-isob-west-1.api.aws.scloud'],
  ['us-isof-south-1', true, false, 'https://runtime.sagemaker-fips.us-isof-south-1.csp.hci.ic.gov'],
  ['eu-isoe-west-1', false, false, 'https://runtime.sagemaker.eu-isoe-west-1.cloud.adc-e.uk'],
  ['us-isoz-east-1', false, false, 'https://runtime.sagemaker.us-isoz-east-1.amazonaws.com'],
  ['mx-central-1', false, false, 'https://runtime.sagemaker.mx-central-1.amazonaws.com'],
  ['ap-southeast-7', true, false, 'https://runtime-fips.sagemaker.ap-southeast-7.amazonaws.com'],
  ['xx-foo-1', false, true, 'https://runtime.sagemaker.xx-foo-1.api.aws'],
  ['cn-unknown-7', false, false, 'https://runtime.sagemaker.cn-unknown-7.amazonaws.com.cn'],
  ['us-gov-unknown-3', true, true, 'https://runtime.sagemaker-fips.us-gov-unknown-3.api.aws'],
  // A partition's own named regions, which no region pattern matches (a hand-kept table sent them to aws):
  ['aws-cn-global', false, false, 'https://runtime.sagemaker.aws-cn-global.amazonaws.com.cn'],
  ['aws-us-gov-global', true, false, 'https://runtime.sagemaker.aws-us-gov-global.amazonaws.com'],
  ['aws-iso-b-global', false, false, 'https://runtime.sagemaker.aws-iso-b-global.sc2s.sgov.gov'],
  ['aws-iso-f-global', true, true, 'https://runtime.sagemaker-fips.aws-iso-f-global.api.aws.hci.ic.gov'],
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
  assert.deepEqual(resolveEndpoint({ region: 'us-west-2-fips', useFips: false, useDualStack: false }), {
    url: 'https://runtime-fips.sagemaker.us-west-2.amazonaws.com',
    signingRegion: 'us-west-2',
  });
});

test('a custom endpoint is used as given (one trailing slash dropped), signed for the region', () => {
  assert.deepEqual(resolveEndpoint({ region: 'eu-west-1', useFips: false, useDualStack: false, endpointUrl: 'http://127.0.0.1:9000/base/' }), {
    url: 'http://127.0.0.1:9000/base',
    signingRegion: 'eu-west-1',
  });
});

test('custom endpoint with FIPS or dual-stack is refused; bad regions too', () => {
  assert.throws(
    () => resolveEndpoint({ region: 'us-east-1', useFips: true, useDualStack: false, endpointUrl: 'http://x' }),
    /FIPS and custom endpoint are not supported/,
  );
  assert.throws(
    () => resolveEndpoint({ region: 'us-east-1', useFips: false, useDualStack: true, endpointUrl: 'http://x' }),
    /Dualstack and custom endpoint are not supported/,
  );
  assert.throws(() => resolveEndpoint({ region: 'us east/1', useFips: false, useDualStack: false }), /not a valid region name/);
});

// The oracle: the SageMaker Runtime client's own endpoint rule set, evaluated by the SDK for the same
// region, FIPS and dual-stack settings. Known regions of every partition, and unknown ones that only
// a partition's region pattern (or the aws default) places.
test("every partition, FIPS and dual-stack combination matches the SDK client's endpoint rule set", () => {
  const client = new SageMakerRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const regions = [
    'us-east-1',
    'us-west-2',
    'eu-central-2',
    'ap-southeast-5',
    'ca-west-1',
    'il-central-1',
    'me-central-1',
    'af-south-1',
    'sa-east-1',
    'mx-central-1',
    'aws-global',
    'cn-north-1',
    'cn-northwest-1',
    'us-gov-west-1',
    'us-gov-east-1',
    'us-iso-east-1',
    'us-iso-west-1',
    'us-isob-east-1',
    'us-isob-west-1',
    'eu-isoe-west-1',
    'us-isof-south-1',
    'us-isof-east-1',
    'eusc-de-east-1',
    'xx-foo-1',
    'zz-unknown-42',
    'cn-south-9',
    'us-gov-central-2',
    'us-iso-north-3',
    'us-isob-south-2',
    'eu-isoe-north-1',
    'us-isof-west-4',
    'eusc-fr-south-1',
    'eusc-es-1',
    'moon-base-1',
    'local',
    'aws-cn-global',
    'aws-us-gov-global',
    'aws-iso-global',
    'aws-iso-b-global',
    'aws-iso-e-global',
    'aws-iso-f-global',
    'aws-eusc-global',
  ];
  let compared = 0;
  for (const region of regions) {
    for (const fips of [false, true]) {
      for (const dual of [false, true]) {
        let want: string;
        try {
          want = client.config.endpointProvider({ Region: region, UseFIPS: fips, UseDualStack: dual }).url.href.replace(/\/$/, '');
        } catch (e) {
          assert.throws(
            () => resolveEndpoint({ region, useFips: fips, useDualStack: dual }),
            `${region} fips=${fips} dual=${dual}: the SDK refuses (${(e as Error).message})`,
          );
          continue;
        }
        assert.deepEqual(
          resolveEndpoint({ region, useFips: fips, useDualStack: dual }),
          { url: want, signingRegion: region },
          `${region} fips=${fips} dual=${dual}`,
        );
        compared++;
      }
    }
  }
  assert.equal(compared, regions.length * 4);
});

test('pseudo-regions are read as the SDK reads them (getRealRegion)', () => {
  assert.deepEqual(realRegion('fips-dkr-us-east-2'), { region: 'us-east-2', fips: true });
  assert.deepEqual(realRegion('fips-prod-us-west-1'), { region: 'us-west-1', fips: true });
  assert.deepEqual(realRegion('fips-aws-global'), { region: 'us-east-1', fips: true });
  assert.deepEqual(realRegion('eu-west-1'), { region: 'eu-west-1', fips: false });
});
