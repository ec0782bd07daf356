// The cost of redacting secrets by value (src/secrets.ts) on the hot path: remembering each request's
// signature, and redactKnown on a typical failed record's message and on a long one.
// Run after `npm run build`: node scripts/bench-redact.mjs
import { randomBytes } from 'node:crypto';
import { forgetSecrets, redactKnown, rememberSecret, rememberSignature } from '../dist/lib/src/secrets.js';

function perOp(n, fn) {
  for (let i = 0; i < Math.min(n, 10_000); i++) fn(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t) / n;
}

const sigs = Array.from({ length: 100_000 }, () => randomBytes(32).toString('hex'));
forgetSecrets();
const remember = perOp(sigs.length, (i) => rememberSignature(sigs[i]));
rememberSecret('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
rememberSecret('IQoJb3JpZ2luX2VjEXAMPLETOKEN'.repeat(20));
const short =
  'Received client error (400) from primary with message "bad input: expected a list of strings". See https://us-east-1.console.aws.amazon.com/cloudwatch/home for more information.';
const long = `${'The request signature we calculated does not match. '.repeat(10)}\n'POST\n/endpoints/demo/invocations\n\nhost:x\nx-amz-date:20260801T120000Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n'AWS4-HMAC-SHA256\n20260801T120000Z\n20260801/us-east-1/sagemaker/aws4_request\n4b0f7c6a2d1e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a'`;
const none = perOp(1_000_000, () => redactKnown('line 7: ModelError'));
const typical = perOp(1_000_000, () => redactKnown(short));
const quoted = perOp(200_000, () => redactKnown(long));
console.log(
  JSON.stringify({
    rememberSignatureNs: Math.round(remember),
    redactShortMessageNs: Math.round(none),
    redactModelErrorMessageNs: Math.round(typical),
    redactCanonicalRequestMessageNs: Math.round(quoted),
  }),
);
