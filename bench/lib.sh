# Shared by the benchmark scripts.

# best N CMD...: runs CMD N times under /usr/bin/time and prints "seconds maxrss_kib" of the
# fastest run. $PREPARE, when set, is evaluated before each run (e.g. to remove a log).
best() {
    local runs=$1
    shift
    local b="" r=""
    for _ in $(seq "$runs"); do
        [ -n "${PREPARE:-}" ] && eval "$PREPARE"
        local line
        line=$( { /usr/bin/time -f "%e %M" "$@" > /dev/null; } 2>&1 | tail -1)
        local t=${line% *} m=${line#* }
        if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; r=$m; fi
    done
    echo "$b $r"
}
