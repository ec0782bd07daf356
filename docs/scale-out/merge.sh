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
# One download for all the shards' files (one AWS CLI start, not 2N).
aws s3 cp --only-show-errors --recursive "$OUT/" . --exclude '*' --include 'out.*.ndjson' --include 'out.*.ndjson.shard.json'
files=""
i=0
while [ "$i" -lt "$N" ]; do
  for f in "out.$i.ndjson" "out.$i.ndjson.shard.json"; do
    if [ ! -e "$f" ]; then
      echo "merge.sh: $OUT/$f is missing: shard $i/$N has not uploaded its results (not run yet, or lost before its first upload)" >&2
      exit 1
    fi
  done
  # A shard still running, or stopped (a signal, --max-errors) and not run again, has uploaded part
  # of its results; sm-invoke merge refuses it too, but this names the shard in the job's terms.
  if ! grep -q '"complete":' "out.$i.ndjson.shard.json"; then
    echo "merge.sh: shard $i/$N has not completed (out.$i.ndjson.shard.json has no \"complete\"): it is still running, or it stopped and must be run again (it resumes)" >&2
    exit 1
  fi
  files="$files out.$i.ndjson"
  i=$((i + 1))
done
# shellcheck disable=SC2086
sm-invoke merge $files > results.ndjson
aws s3 cp --only-show-errors results.ndjson "$RESULT"
echo "merged $N shards: $(wc -l < results.ndjson) results -> $RESULT" >&2
