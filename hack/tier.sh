#!/usr/bin/env bash
# tier.sh NAME CMD...: run one test tier, print "==> tier NAME: PASS|FAIL in Ns" and record
# it in $TIER_SUMMARY (default _artifacts/tiers.txt); exit with CMD's status.
# tier.sh --summary: print the recorded lines.
set -uo pipefail
summary=${TIER_SUMMARY:-$(dirname "$0")/../_artifacts/tiers.txt}
mkdir -p "$(dirname "$summary")"
if [ "${1:-}" = "--summary" ]; then
  echo "==> summary"
  cat "$summary" 2>/dev/null
  exit 0
fi
name=$1
shift
t0=$SECONDS
echo "==> tier $name: $*"
"$@"
rc=$?
status=PASS
[ $rc -eq 0 ] || status=FAIL
line="tier $name: $status in $((SECONDS - t0))s"
echo "==> $line"
echo "$line" >>"$summary"
exit $rc
