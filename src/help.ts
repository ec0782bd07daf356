// The --help text. Kept apart so --help loads nothing else.
import { DEFAULT_CONCURRENCY } from './constants.js';

export const HELP = `sm-invoke — stream NDJSON records through an Amazon SageMaker endpoint

Usage:
  sm-invoke --endpoint-name NAME [options] [outfile] < records.ndjson
  sm-invoke --envelope [options] [outfile] < envelopes.ndjson
  sm-invoke emulate [--port N] [--config FILE]      run the local SageMaker Runtime emulator

Each input line is one record. By default the line's bytes are the request body, sent as they are.
With --envelope each line is a JSON object: {"body": <JSON value or string>} or {"bodyBase64": "..."},
plus optional per-record endpointName, contentType, accept, customAttributes, targetModel,
targetVariant, targetContainerHostname, inferenceId, inferenceComponentName, sessionId,
enableExplanations (each overrides the flag; null clears it) and meta (copied to the result).
One JSON result line is written per record, in input order.

Request options (the AWS CLI's names; the default for every record):
  --endpoint-name NAME              endpoint to invoke (required unless every envelope names one)
  --content-type TYPE               MIME type of the body (default: none, as the AWS CLI)
  --accept TYPE                     desired MIME type of the response
  --custom-attributes TEXT          opaque value passed to the model (<= 1024 visible ASCII)
  --target-model NAME               model of a multi-model endpoint
  --target-variant NAME             production variant to invoke
  --target-container-hostname NAME  container of a multi-container endpoint
  --inference-id ID                 id recorded with data capture (1-64 printable ASCII)
  --inference-component-name NAME   inference component to invoke
  --session-id ID                   stateful session id, or NEW_SESSION
  --enable-explanations EXPR        JMESPath expression overriding Clarify's EnableExplanations

AWS options:
  --region REGION       default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region
  --profile NAME        shared config/credentials profile (default: AWS_PROFILE, then "default")
  --endpoint-url URL    send to this URL instead (default: AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME,
                        AWS_ENDPOINT_URL, then the profile's services/endpoint_url)
  Credentials come from the standard AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/
  AWS_SESSION_TOKEN, the profile (static keys, credential_process, SSO, assume role), web identity,
  container and instance metadata. AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT are honoured.

Run options:
  --envelope            read JSON envelopes instead of raw bodies
  --concurrency N       requests in flight at once (default ${DEFAULT_CONCURRENCY}, 1-1024)
  --output result|body  "result": one JSON result per record (default); "body": the response body
                        only (failures: an empty line here and a message on stderr)
  --timeout SECONDS     per-attempt request timeout (default 70; 0 = none)
  --connect-timeout SECONDS   connection timeout (default 10; 0 = none)
  --max-attempts N      attempts per record, first included (default 3; AWS_MAX_ATTEMPTS)
  --retry-model-errors  also retry ModelError (424) answers
  --max-errors N        stop after N failed records (default 0 = never)
  --max-line-bytes N    longest input line (default 9437184); a longer line is an error result
  -h, --help            show this help
  --version             print the version

Results (--output result):
  {"line":1,"ok":true,"status":200,"contentType":"application/json",
   "invokedProductionVariant":"AllTraffic","body":{...},"attempts":1,"latencyMs":42}
  {"line":2,"ok":false,"error":{"code":"ModelError","message":"...","status":424,...},"attempts":1}

Exit status: 0 all records ok; 1 some records failed; 2 usage error; 3 fatal error (credentials,
unknown endpoint, unreachable service: the run stopped early); 4 stopped by --max-errors;
130/143 interrupted by SIGINT/SIGTERM.

Examples:
  cat payloads.ndjson | sm-invoke --endpoint-name my-ep --content-type application/json > results.ndjson
  jq -c '{inferenceId: .id, targetVariant: "canary", body: {inputs: .text}}' in.jsonl \\
    | sm-invoke --endpoint-name my-ep --envelope --concurrency 16 | jq -c .body
`;
