#!/bin/bash
# One shard of a scaled-out run, reading from and writing to S3, resumable.
#   shard.sh I N
# Environment: IN (s3://... input NDJSON), OUT (s3://... prefix for the shard outfiles),
# ENDPOINT (the SageMaker endpoint), and any sm-invoke options in SM_INVOKE_OPTS.
# Run it again for the same I/N after the machine was lost: it fetches what it had uploaded and
# continues with --resume (records already answered are not sent again).
set -euo pipefail
I=$1
N=$2
: "${IN:?set IN=s3://bucket/path/input.ndjson}"
: "${OUT:?set OUT=s3://bucket/path/out}"
: "${ENDPOINT:?set ENDPOINT=the endpoint name}"
f="out.$I.ndjson"
cd "${WORKDIR:-/tmp}"

upload() {
  # The outfile first, then its sidecar and its digest file (a torn last line in a copy taken
  # mid-write is dropped on resume; digests are written before their results, so a digest file
  # copied after the outfile covers every result line of that copy).
  aws s3 cp --only-show-errors "$f" "$OUT/$f"
  aws s3 cp --only-show-errors "$f.shard.json" "$OUT/$f.shard.json"
  aws s3 cp --only-show-errors "$f.sm-invoke.digests" "$OUT/$f.sm-invoke.digests"
}

resume=""
if aws s3 cp --only-show-errors "$OUT/$f.shard.json" "$f.shard.json" 2>/dev/null &&
  aws s3 cp --only-show-errors "$OUT/$f" "$f" 2>/dev/null &&
  aws s3 cp --only-show-errors "$OUT/$f.sm-invoke.digests" "$f.sm-invoke.digests" 2>/dev/null; then
  resume="--resume"
  echo "shard $I/$N: resuming from $OUT/$f" >&2
fi

# A checkpoint every minute, so a lost machine loses at most a minute of answers.
(while sleep 60; do upload || true; done) &
checkpoint=$!
trap 'kill $checkpoint 2>/dev/null || true' EXIT

rc=0
# (pipefail: an input download that breaks off fails the shard, to be run again, rather than passing
# for the input's end.)
# shellcheck disable=SC2086
aws s3 cp --only-show-errors "$IN" - |
  sm-invoke --endpoint-name "$ENDPOINT" --concurrency auto --shard "$I/$N" $resume ${SM_INVOKE_OPTS:-} "$f" || rc=$?
kill $checkpoint 2>/dev/null || true
wait $checkpoint 2>/dev/null || true
upload
# 1: some records failed; their results say why (and --resume-failed sends them again). The shard is done.
if [ "$rc" -eq 1 ]; then rc=0; fi
exit "$rc"
