#!/bin/bash
# The demo profile's flow log delivery (image: collector/Dockerfile, target
# demo). It delivers realistic VPC flow logs into the demo S3 server as AWS
# would: `vpcflow-collector generate` writes a day of objects (3 VPCs, 60
# interfaces, v5 fields) into a staging folder, starting 6 hours back so
# that the dashboards have history at once, and every minute the objects
# whose 5-minute interval started 10 minutes ago or earlier are uploaded
# under their AWS keys. When the day is used up, the next one is generated.
#
# Environment: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_DEFAULT_REGION (the S3 server), DEMO_BUCKET (vpc-flow-logs),
# DEMO_RECORDS_PER_DAY (300000), DEMO_EVERY (60: seconds between deliveries),
# DEMO_WORK (the staging folder, on a volume so that a new container goes on
# where the last one stopped instead of delivering intervals again).
set -euo pipefail
shopt -s globstar nullglob

bucket=${DEMO_BUCKET:-vpc-flow-logs}
records=${DEMO_RECORDS_PER_DAY:-300000}
every=${DEMO_EVERY:-60}
work=${DEMO_WORK:-/tmp/vpcflow-demo}
stage=$work/stage
outbox=$work/outbox
mkdir -p "$stage" "$outbox"

# Path-style addressing: the S3 server is a compose service, not a domain.
export AWS_CONFIG_FILE=$work/aws-config
printf '[default]\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"

until aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1 ||
  aws s3api create-bucket --bucket "$bucket" >/dev/null 2>&1; do
  echo "demo: waiting for the S3 server at ${AWS_ENDPOINT_URL:-?}"
  sleep 2
done

# The start of the next day to generate, kept across restarts so that no
# interval is delivered twice.
if [[ -s $work/next ]]; then
  next=$(<"$work/next")
else
  next=$(($(date -u +%s) / 3600 * 3600 - 6 * 3600))
fi

while :; do
  staged=("$stage"/**/*.log.gz)
  if ((${#staged[@]} == 0)); then
    vpcflow-collector generate --out "$stage" --records "$records" --seed 1 --format v5 \
      --start "$next" --duration 24h --vpcs 3 --enis 60
    next=$((next + 86400))
    echo "$next" >"$work/next"
    staged=("$stage"/**/*.log.gz)
  fi

  # Keys name the interval's start: ACCOUNT_vpcflowlogs_REGION_FLOWLOGID_yyyyMMddTHHmmZ_HASH.log.gz
  due=$(date -u -d "@$(($(date -u +%s) - 600))" +%Y%m%dT%H%MZ)
  for f in "${staged[@]}"; do
    IFS=_ read -r _ _ _ _ at _ <<<"${f##*/}"
    if [[ ! $at > $due ]]; then
      rel=${f#"$stage"/}
      mkdir -p "$outbox/${rel%/*}"
      mv "$f" "$outbox/$rel"
    fi
  done
  # What a failed upload left in the outbox goes again (same keys).
  pending=("$outbox"/**/*.log.gz)
  if ((${#pending[@]} > 0)); then
    aws s3 cp "$outbox" "s3://$bucket/" --recursive --only-show-errors
    rm -rf "$outbox"
    mkdir -p "$outbox"
    echo "demo: delivered ${#pending[@]} flow log objects of intervals up to $due"
  fi
  sleep "$every"
done
