#!/usr/bin/env bash
# Side-by-side benchmark: our Rust solver (iop-solve) vs the kit's CP-SAT anchor and greedy.
#
#   crates/scheduler/bench/compare.sh OUT [PHASE...]
#
# PHASE is any of: gen cpsat greedy ours table (default: all of them, in that order).
# Every run leaves OUT/<instance>.<solver><limit>.json (the solution), .check.txt (validate.py's
# report) and .res (one tab-separated record); `table` turns the .res files into
# crates/scheduler/BENCHMARKS.md (set BENCH_MD=... to write elsewhere).
# SKIP_EXISTING=1 keeps any run whose .res already exists (e.g. to redo only our solver).
# Environment: KIT (default ../shared/sched-bench beside the repository), SEEDS (default "1 2 3 4 5").
set -euo pipefail
OUT=${1:?usage: compare.sh OUT [gen|cpsat|greedy|ours|table]...}
shift || true
PHASES=${*:-gen cpsat greedy ours table}
HERE=$(cd "$(dirname "$0")" && pwd)
CRATE=$(dirname "$HERE")
ROOT=$(cd "$CRATE/../.." && pwd)
KIT=${KIT:-$ROOT/../shared/sched-bench}
SEEDS=${SEEDS:-"1 2 3 4 5"}
BENCH_MD=${BENCH_MD:-$CRATE/BENCHMARKS.md}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# every size for every seed; the long CP-SAT runs on multi only for the first seed
INSTANCES=""
for size in tiny small iop multi operator; do
    for s in $SEEDS; do INSTANCES="$INSTANCES $size-$s"; done
done
first=${SEEDS%% *}

now() { date +%s.%N; }

record() {  # instance solver limit wall solution
    local inst=$1 solver=$2 limit=$3 wall=$4 sol=$5 res hard obj
    res=$(python3 "$KIT/validate.py" "$OUT/$inst.json" "$sol" --quiet | tee "$sol.check.txt" | tail -1) || true
    hard=$(sed -n 's/.*hard=\([0-9]*\).*/\1/p' <<<"$res")
    obj=$(sed -n 's/.*objective=\([0-9]*\).*/\1/p' <<<"$res")
    printf "%s\t%s\t%s\t%.2f\t%s\t%s\n" "$inst" "$solver" "$limit" "$wall" "${obj:--}" "${hard:--}" > "$sol.res"
    echo "  $inst $solver limit=$limit wall=$(printf %.2f "$wall") objective=${obj:--} hard=${hard:--}"
}

skip() { [ "${SKIP_EXISTING:-0}" = 1 ] && [ -f "$1.res" ]; }

cpsat_limits() {
    case $1 in
        iop-*) echo "10 60" ;;
        multi-$first) echo "10 100" ;;
        multi-*) echo "" ;;          # 1,000 s of CP-SAT per seed is more than this script should take
        operator-*) echo "" ;;       # CP-SAT gets ~0.2 s a site there: it returns its greedy hint
        *) echo "2 10" ;;
    esac
}

for phase in $PHASES; do
    case $phase in
    gen)
        for inst in $INSTANCES; do
            python3 "$KIT/generate.py" --seed "${inst##*-}" --size "${inst%-*}" -o "$OUT/$inst.json"
        done ;;
    cpsat)
        python3 -c "import ortools" 2>/dev/null || pip install -q ortools
        for inst in $INSTANCES; do
            for lim in $(cpsat_limits "$inst"); do
                sol="$OUT/$inst.cpsat$lim.json"
                skip "$sol" && continue
                t0=$(now)
                python3 "$KIT/cpsat.py" "$OUT/$inst.json" -o "$sol" --time-limit "$lim" --workers 2 >/dev/null
                record "$inst" cpsat "$lim" "$(awk "BEGIN{print $(now) - $t0}")" "$sol"
            done
        done ;;
    greedy)
        for inst in $INSTANCES; do
            sol="$OUT/$inst.greedy.json"
            skip "$sol" && continue
            t0=$(now)
            python3 "$KIT/greedy.py" "$OUT/$inst.json" -o "$sol" >/dev/null
            record "$inst" greedy - "$(awk "BEGIN{print $(now) - $t0}")" "$sol"
        done ;;
    ours)
        (cd "$ROOT" && cargo build --release -q -p openiop-scheduler --bin iop-solve)
        BIN="$CARGO_TARGET_DIR/release/iop-solve"
        for inst in $INSTANCES; do
            lims="1 10"
            [ "$inst" = "operator-$first" ] && lims="1 10 30"   # the operator target is <= 30 s
            for lim in $lims; do
                sol="$OUT/$inst.ours$lim.json"
                skip "$sol" && continue
                t0=$(now)
                "$BIN" "$OUT/$inst.json" -o "$sol" --time-limit "$lim" --seed 1 >/dev/null
                record "$inst" ours "$lim" "$(awk "BEGIN{print $(now) - $t0}")" "$sol"
            done
        done ;;
    table)
        python3 "$HERE/table.py" "$OUT" "$BENCH_MD" ;;
    *) echo "unknown phase $phase" >&2; exit 2 ;;
    esac
done
