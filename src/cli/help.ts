// The --help text. Kept apart so --help loads nothing else.
import { DEFAULT_CONCURRENCY } from '../constants.js';

export const HELP = `sm-invoke — stream NDJSON records through an Amazon SageMaker endpoint

Usage:
  sm-invoke --endpoint-name NAME [options] [outfile] < records.ndjson
  sm-invoke --envelope [options] [outfile] < envelopes.ndjson
  sm-invoke --endpoint-name NAME --body VALUE [options] outfile    one call, like the AWS CLI
  sm-invoke emulate [--port N] [--config FILE]      run the local SageMaker Runtime emulator
  sm-invoke merge [--lines N] [--partial] OUTFILE... join --shard outfiles in input order
  sm-invoke help                                   this help

Each input line is one record. By default the line's bytes are the request body, sent as they are.
With --envelope each line is a JSON object: {"body": <JSON value or string>} or {"bodyBase64": "..."},
plus optional per-record endpointName, contentType, accept, customAttributes, targetModel,
targetVariant, targetContainerHostname, inferenceId, inferenceComponentName, sessionId,
enableExplanations, prefixAwareId (each overrides the flag; null clears it), stream (true/false,
overrides --stream) and meta (copied to the result).
One JSON result line is written per record, in input order, to stdout or the outfile.

Request options (the AWS CLI's names; the default for every record; default: not sent):
  --endpoint-name NAME              endpoint to invoke (required unless every envelope names one)
  --content-type TYPE               MIME type of the body (none by default, as the AWS CLI)
  --accept TYPE                     desired MIME type of the response
  --custom-attributes TEXT          opaque value passed to the model (<= 1024 visible ASCII)
  --target-model NAME               model of a multi-model endpoint
  --target-variant NAME             production variant to invoke
  --target-container-hostname NAME  container of a multi-container endpoint
  --inference-id ID                 id recorded with data capture (1-64 printable ASCII)
  --inference-component-name NAME   inference component to invoke
  --session-id ID                   stateful session id, or NEW_SESSION
  --enable-explanations EXPR        JMESPath expression overriding Clarify's EnableExplanations
  --prefix-aware-id ID              routing hint for PREFIX_AWARE endpoints (1-64 characters)
  --body VALUE                      send one request with this body and write the response body to
                                    outfile (- for stdout), printing the AWS CLI's metadata JSON:
                                    literal text, file://PATH (text) or fileb://PATH (bytes)

AWS options:
  --region REGION       default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, then EC2
                        instance metadata (IMDSv2; off with AWS_EC2_METADATA_DISABLED=true)
  --profile NAME        shared config/credentials profile (default: AWS_PROFILE, then "default")
  --endpoint-url URL    send to this URL (default: AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME,
                        AWS_ENDPOINT_URL, the profile's services section or endpoint_url, else
                        https://runtime.sagemaker.REGION.amazonaws.com and the partition's host)
  --ca-bundle FILE      trust only the CA certificates in this PEM file (default: AWS_CA_BUNDLE,
                        then the profile's ca_bundle, else Node's roots and NODE_EXTRA_CA_CERTS)
  --no-verify-ssl       do not verify TLS certificates (a warning is printed once)
  Proxies, as the AWS CLI reads them: HTTPS_PROXY for https endpoints, HTTP_PROXY for http ones
  (user:password@ in the URL for Proxy-Authorization; never printed), NO_PROXY (hosts, .domains,
  host:port, IPs, CIDR networks, *). They also carry the credential chain's own calls.
  Credentials: the standard AWS chain — AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,
  the profile in AWS_SHARED_CREDENTIALS_FILE/AWS_CONFIG_FILE (static keys, credential_process, SSO,
  assume role), AWS_WEB_IDENTITY_TOKEN_FILE, container and instance metadata. Also honoured:
  AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS,
  AWS_RETRY_MODE / the profile's retry_mode (adaptive = --concurrency auto unless --concurrency is
  given; legacy runs as standard), AWS_EC2_METADATA_SERVICE_ENDPOINT.

Run options:
  --envelope              read JSON envelopes instead of raw bodies (if the first 5 records are not
                          JSON at all, the run stops before sending: exit 2; not with --max-errors)
  --concurrency N|auto    requests in flight (default ${DEFAULT_CONCURRENCY}, 1-1024); auto: start low, grow while
                          the endpoint keeps up, back off on throttling or rising latency
  --max-concurrency N     ceiling for --concurrency auto (default 256)
  --rate R                at most R requests per second, evenly spaced (default: no limit)
  --output result|body    result: one JSON result per record (default); body: the response
                          body only (a failure: an empty line here, a message on stderr)
  --timeout SECONDS       per-attempt request timeout (default 70; 0 = none)
  --connect-timeout S     connection timeout (default 10; 0 = none)
  --max-attempts N        attempts per record, first included (default 3; AWS_MAX_ATTEMPTS, then
                          the profile's max_attempts)
  --retry-model-errors    also retry ModelError (424) answers (default: never)
  --max-errors N          stop after N failed records (default 0 = never)
  --max-line-bytes N      longest input line (default 9437184); a longer one is an error result
  --max-buffer-mib N      memory for records in flight, answers being read and results waiting
                          behind a slower earlier record (default 32); when full, fewer records
                          go out at once and answers wait in their connections
  --dry-run               validate every record and print the request it would send (no
                          credentials, no network); invalid records get their usual errors
  --resume                outfile exists from an interrupted run: keep its complete lines, skip
                          the records they answer (checked against OUTFILE.sm-invoke.digests:
                          another input is refused), append the rest
  --resume-failed         like --resume, and also send again the records whose results failed
  --shard I/N             only the input lines L with (L - 1) mod N == I (I from 0): run N of
                          these, on one machine or many, and join their outfiles with
                          sm-invoke merge (docs/scale-out.md)
  -i, --input FILE        read the records from FILE instead of standard input (- = stdin); the
                          one file named without a flag is the outfile
  --force                 replace an outfile of sm-invoke results (without it, or --resume /
                          --resume-failed, such an outfile is left alone: exit 2)
  --force-any             replace any non-empty outfile, also one that is not sm-invoke results
  --progress, --no-progress   live status line on stderr (default: when stderr is a terminal),
                          cut to the terminal's width
  --stats, --no-stats     statistics on stderr at the end (default: when stderr is a terminal)
  --stats-json FILE       write the statistics as JSON to FILE: version, start/end time, exit code,
                          endpoint, counts, failures by error code, first failed lines, latency
  --debug                 log every attempt on stderr: canonical request, headers (secrets
                          redacted), status, timing, retry decision
  --join-input            each result carries its record's input: "input" (the envelope's body as
                          written, or the line as a string) or "inputBase64" (bodyBase64, a
                          line that is not UTF-8)
  -q, --quiet             nothing on stderr but errors: no hints, notices, warnings, progress or
                          stats (unless --progress / --stats are given)
  -h, --help              show this help (also: sm-invoke help)
  -V, --version           print the version

Response streaming (InvokeEndpointWithResponseStream; docs/streaming.md):
  --stream                every record is sent as InvokeEndpointWithResponseStream (an envelope's
                          "stream" overrides it): the body is its parts' bytes concatenated, plus
                          "stream":{"firstByteMs","parts","bytes"}; no TargetModel,
                          EnableExplanations or NEW_SESSION. With --body: the parts go to outfile
                          (- for stdout) as they arrive. Retried after parts arrived: as a whole,
                          for InternalStreamFailure, a cut, a bad CRC, a stall; ModelStreamError
                          only with --retry-model-errors
  --stream-idle-timeout S longest pause between two parts (default 60; 0 = none)
  --stream-timeout S      a whole stream at most (default 490: the service's 8 minutes + 10 s)
  --max-stream-mib N      one stream's bytes at most (default: --max-buffer-mib); ResponseTooLarge

Many records per request (SageMaker Batch Transform's MultiRecord):
  --batch-size N          records per request at most (default 1: one record per request);
                          only records with the same request options (endpoint, types, custom
                          attributes, targets, component, session, inference id) share one
  --batch-bytes B         request body bytes at most (default 6291456, the API's limit)
  --batch-format lines|json   lines (default): bodies joined by newlines, one answer line per
                          record; json: a JSON array of the bodies (each must be JSON), answered
                          by a JSON array, one element per record
  --batch-wrap KEY        json: send {"KEY":[...]} (a dotted path nests), e.g. instances
  --batch-unwrap KEY      json: the answer's array is at KEY (a dotted path), e.g. predictions
  --batch-linger MS       send a partial batch when no record came for MS ms (default 20)
  --batch-split-on-error, --no-batch-split-on-error
                          on (default): halve a batch failing with ModelError or BatchMismatch
                          until the records that fail are alone (the others succeed); off: the
                          whole batch fails
  Each record still gets its own result line, plus "batch":{"size":S,"index":I}; attempts and
  latencyMs are its request's. --rate and --concurrency count requests.

LLM jobs (docs/llm.md):
  --llm tgi|openai|lmi|auto   read each answer in the container's schema: the result gets
                          "llm":{text, finishReason, inputTokens, outputTokens, tokensExact, ttftMs,
                          itlMs:{mean,p50,max}, tokensPerSecond} (streamed answers too, --stream);
                          an answer of another shape, or an error inside a 200 (LMI's error
                          token), fails its record (LlmShapeError, LlmError), body kept
  --llm-body keep|none    none: leave the raw body out of result lines read well (default keep)
  --prompt                each line (or the envelope's "prompt") is a prompt: the request is built
                          in the --llm schema (tgi, lmi: inputs/parameters; openai: messages), with
                          the schema's own stream flag set by --stream; a line that is one JSON
                          string is that string
  --max-new-tokens N, --temperature T, --system TEXT (openai only)
                          the built request's settings
  --input-format openai-batch|bedrock-batch
                          read an OpenAI Batch API / vllm run-batch file ({custom_id, method, url,
                          body}) or a Bedrock batch inference file ({recordId, modelInput}); each
                          body is sent as written. --output then defaults to the same format:
  --output openai-batch|bedrock-batch
                          the service's own output lines: {id, custom_id, response:{status_code,
                          request_id, body}, error} or {recordId, modelInput, modelOutput|error},
                          in input order
  --stats adds time to first token, inter-token and end-to-end latency p50/p90/p99, token totals
  and output tokens/s; --stats-json adds them as "llm".
Asynchronous endpoints (InvokeEndpointAsync; docs/async.md):
  --async                 submit each record to POST /endpoints/NAME/async-invocations, then
                          collect its answer from S3: the output object is the result's body,
                          the failure object its error; results in input order as always.
                          A journal next to the outfile (OUTFILE.async-journal; an outfile or
                          stdout redirected to a file is needed) records each submission first:
                          --resume collects what a stopped run submitted, never submitting twice;
                          the journal is removed when the run completes
  --async-input S3URI     upload inputs to s3://bucket/prefix/ (a key per run and line)
  --async-input-mode inline|s3|auto   inline: the body in the request (<= 128,000 bytes);
                          s3: always upload; auto (default): inline when it fits
  --async-max-pending N   records submitted and not yet collected, at most (default 1000)
  --async-timeout S       give up collecting a record after S seconds (AsyncTimeout); default
                          its RequestTTLSeconds + InvocationTimeoutSeconds (21600 + 900)
  --async-poll S          shortest poll interval (default 1; polls back off to 30 s)
  --async-cleanup inputs|all   delete the uploaded inputs once collected (all: also the output
                          and failure objects read)
  --request-ttl-seconds N        60-21600 (default: the service's 21600)
  --invocation-timeout-seconds N 1-3600 (default: the service's 900)
  --s3-output-path-extension P   appended to the endpoint's S3 output path
  --filename NAME         output object name; must contain {line} (each record's line number)
  --s3-endpoint-url URL   S3 endpoint (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the
                          profile's services s3 endpoint_url or endpoint_url, else AWS's)
  --s3-path-style         path-style S3 addressing (also: the profile's s3 addressing_style = path)
  Envelope keys with --async: inputLocation (an existing S3 object, nothing uploaded; no body),
  requestTTLSeconds, invocationTimeoutSeconds (numbers), s3OutputPathExtension, filename.
  Progress and --stats count submitted, collected, failed, timed out and pending records.

Results (--output result):
  {"line":1,"ok":true,"status":200,"contentType":"application/json",
   "invokedProductionVariant":"AllTraffic","body":{...},"attempts":1,"latencyMs":42}
  {"line":2,"ok":false,"error":{"code":"ModelError","message":"...","status":424,...},"attempts":1}
  The body: "body" (JSON, or a JSON string for text), "bodyText" (said to be JSON but is not),
  "bodyBase64" (not UTF-8).

When records failed or the run stopped early, stderr ends with a summary, terminal or not: records
ok and failed by error code, the first failed line numbers, where the results are, what to do next
(--resume-failed OUTFILE sends the failed records again). A clean run off a terminal says nothing.
Messages escape control characters from the service or the input (ESC as \\e, CR as \\r...).
An unknown option gets a "did you mean" (--jobs, --retries, --cli-read-timeout, --endpoint, --batch...).
On a terminal, JSON bodies sent without a content type get a one-time hint to add --content-type.

Exit status: 0 all records ok; 1 some records failed; 2 usage error; 3 fatal error (credentials,
unknown endpoint, unreachable service: the run stopped early); 4 stopped by --max-errors;
130/143 interrupted by SIGINT/SIGTERM. With --body, as the AWS CLI: 254 service error, 255
connection failure; outfile - writes the body to stdout, then a newline if it has none, then the
metadata JSON (the AWS CLI writes a file named "-").

Examples:
  # a plain pipe: each line is a JSON body
  sm-invoke --endpoint-name my-ep --content-type application/json < payloads.ndjson > results.ndjson

  # a jq envelope pipeline: per-record ids and variant, join results back by meta
  jq -c '{inferenceId: .id, targetVariant: "canary", body: {inputs: .text}, meta: {id: .id}}' in.jsonl \\
    | sm-invoke --endpoint-name my-ep --envelope --concurrency 16 | jq -c '{id: .meta.id, out: .body}'

  # a nightly job (a script cron runs, README): one outfile per day's input; run again to continue
  sm-invoke --endpoint-name my-ep --concurrency auto --resume --max-errors 1000 \\
    --stats-json /var/log/sm-invoke-$(date +%F).json \\
    --input /data/in-$(date +%F).ndjson /data/out-$(date +%F).ndjson
`;
