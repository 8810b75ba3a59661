#!/bin/bash
# Issue 7, acceptance 5 in CI: ops/fault/repair-outage with a short outage. The outage lasts
# REPAIR_OUTAGE_S seconds (default here 20; the fault script's own default is 600 = 10 minutes:
# run `OUTAGE_S=600 ops/fault/repair-outage` for the full-length check).
OUTAGE_S=${REPAIR_OUTAGE_S:-20} exec "$(dirname "$0")/../../ops/fault/repair-outage"
