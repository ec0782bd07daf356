#!/bin/bash
# One shard of a scaled-out run, reading from and writing to S3, resumable.
#   shard.sh I N
# Environment: IN (s3://... input NDJSON), OUT (s3://... prefix for the shard outfiles),
# ENDPOINT (the SageMaker endpoint), and any sm-invoke options in SM_INVOKE_OPTS.
# Run it again for the same I/N after the machine was lost: it fetches what it had uploaded and
# continues with --resume (records already answered are not sent again).
# Stopped by the scheduler (SIGTERM: scancel, a requeue, a pod evicted, a Batch job terminated), it
# stops sm-invoke (which writes the answers it has), uploads the outfile and exits 143, to be run
# again; records that were in flight are sent again then.
set -euo pipefail
I=$1
N=$2
: "${IN:?set IN=s3://bucket/path/input.ndjson}"
: "${OUT:?set OUT=s3://bucket/path/out}"
: "${ENDPOINT:?set ENDPOINT=the endpoint name}"
f="out.$I.ndjson"
# A directory of this run's own: an outfile left on this node by an earlier run (of this shard,
# another job's) is never continued or refused by mistake; what to continue comes from $OUT.
work=$(mktemp -d "${WORKDIR:-/tmp}/sm-invoke-shard-$I.XXXXXX")
cd "$work"

upload() {
  # The outfile first, then its sidecar and its digest file (a torn last line in a copy taken
  # mid-write is dropped on resume; digests are written before their results, so a digest file
  # copied after the outfile covers every result line of that copy).
  aws s3 cp --only-show-errors "$f" "$OUT/$f"
  aws s3 cp --only-show-errors "$f.shard.json" "$OUT/$f.shard.json"
  aws s3 cp --only-show-errors "$f.sm-invoke.digests" "$OUT/$f.sm-invoke.digests"
}

# Whether an earlier run uploaded anything: `aws s3 ls` exits 1 when nothing matches and 254/255
# on an error (no credentials, S3 unreachable). Only "nothing there" starts the shard afresh; an
# error fails it (to be run again), so a passing S3 fault never makes it send everything again.
resume=""
found=0
aws s3 ls "$OUT/$f.shard.json" >/dev/null || found=$?
if [ "$found" -eq 0 ]; then
  aws s3 cp --only-show-errors "$OUT/$f.shard.json" "$f.shard.json"
  aws s3 cp --only-show-errors "$OUT/$f" "$f"
  aws s3 cp --only-show-errors "$OUT/$f.sm-invoke.digests" "$f.sm-invoke.digests"
  resume="--resume"
  echo "shard $I/$N: resuming from $OUT/$f" >&2
elif [ "$found" -ne 1 ]; then
  echo "shard $I/$N: cannot tell whether $OUT/$f.shard.json exists (aws s3 ls exit $found): the shard is to be run again" >&2
  exit "$found"
fi

# A checkpoint every minute, so a lost machine loses at most a minute of answers. Stopped, it
# finishes the upload under way (so no older copy lands after the last one) and leaves no sleep behind.
checkpoints() {
  trap 'kill "$nap" 2>/dev/null || true; exit 0' TERM
  while :; do
    sleep 60 &
    nap=$!
    wait "$nap" || true
    upload || true
  done
}
checkpoints &
checkpoint=$!
run=""
fetch=""
cleanup() {
  kill "$checkpoint" $run $fetch 2>/dev/null || true
  cd /
  rm -rf "$work"
}
trap cleanup EXIT

# The input streams through a pipe whose two ends are waited for apart: sm-invoke is stopped by
# the TERM trap (in a container the shell is PID 1 and the only process the runtime signals), and
# an input download that breaks off fails the shard, to be run again, rather than passing for the
# input's end.
mkfifo input
aws s3 cp --only-show-errors "$IN" - > input &
fetch=$!
# shellcheck disable=SC2086
sm-invoke --endpoint-name "$ENDPOINT" --concurrency auto --shard "$I/$N" $resume ${SM_INVOKE_OPTS:-} "$f" < input &
run=$!
stopped=0
trap 'stopped=1; kill -TERM "$run" 2>/dev/null || true' TERM INT
rc=0
wait "$run" || rc=$?
# A signal ends `wait` at once: wait again for sm-invoke to write the answers in flight and exit.
while kill -0 "$run" 2>/dev/null; do wait "$run" || rc=$?; done
run=""
if [ "$stopped" -eq 1 ]; then rc=143; fi
# 1: some records failed; their results say why (and --resume-failed sends them again). The shard is done.
if [ "$rc" -eq 1 ]; then rc=0; fi
# Exit 0: sm-invoke read the input to its end, and the download is ending by itself.
if [ "$rc" -ne 0 ]; then kill "$fetch" 2>/dev/null || true; fi
frc=0
wait "$fetch" || frc=$?
fetch=""
if [ "$rc" -eq 0 ] && [ "$frc" -ne 0 ]; then
  echo "shard $I/$N: reading $IN failed (exit $frc): the shard is to be run again" >&2
  rc=$frc
fi
kill "$checkpoint" 2>/dev/null || true
wait "$checkpoint" 2>/dev/null || true
if [ -e "$f" ]; then upload; fi
exit "$rc"
