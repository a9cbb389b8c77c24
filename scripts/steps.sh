# Shared by setup.sh and test_floors.sh: one short progress line per step; pip's own output
# (warnings included) goes to a log file, shown only when a step fails.
# Use: source scripts/steps.sh; STEPS_LOG=path; step "what it does" command args...

STEPS_LOG="${STEPS_LOG:-/dev/null}"
_steps_start=$SECONDS

step() {
    local label="$1"; shift
    local start=$SECONDS
    printf '%s ... ' "$label"
    if "$@" >>"$STEPS_LOG" 2>&1; then
        printf 'done (%ds)\n' $((SECONDS - start))
    else
        local rc=$?
        printf 'FAILED (exit %d)\n' "$rc"
        echo "Last lines of $STEPS_LOG:" >&2
        tail -n 30 "$STEPS_LOG" >&2
        exit "$rc"
    fi
}

steps_total() {
    printf '%s in %ds\n' "$1" $((SECONDS - _steps_start))
}

# pip builds in the source tree and leaves utility_gap.egg-info (and build/) there. Run
# from the checkout, Python would then find that egg-info before the installed metadata
# (it has no direct_url.json, so Inspect would not see an editable install and would drop
# the utility_gap/ prefix from task names). Nothing needs it after the install.
remove_build_leftovers() {
    rm -rf utility_gap.egg-info build
}
