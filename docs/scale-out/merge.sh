#!/bin/sh
# Joins the shard outfiles under OUT into one result in input order, and uploads it.
#   merge.sh N
# Environment: OUT (the shards' s3:// prefix), RESULT (s3://... for the merged file).
# Nothing is uploaded unless the merge finds every result once (exit 0).
set -eu
N=$1
: "${OUT:?set OUT=s3://bucket/path/out}"
: "${RESULT:?set RESULT=s3://bucket/path/results.ndjson}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
files=""
i=0
while [ "$i" -lt "$N" ]; do
  aws s3 cp --only-show-errors "$OUT/out.$i.ndjson" .
  aws s3 cp --only-show-errors "$OUT/out.$i.ndjson.shard.json" .
  files="$files out.$i.ndjson"
  i=$((i + 1))
done
# shellcheck disable=SC2086
sm-invoke merge $files > results.ndjson
aws s3 cp --only-show-errors results.ndjson "$RESULT"
echo "merged $N shards: $(wc -l < results.ndjson) results -> $RESULT" >&2
