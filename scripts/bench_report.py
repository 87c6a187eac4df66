#!/usr/bin/env python3
"""Formats scripts/bench.sh results: prints the tables and, given a path, replaces the block
between the «bench results» markers of docs/benchmarks.md with them.

    bench_report.py RESULTS.tsv "machine description" [docs/benchmarks.md]

RESULTS.tsv lines: size, backend, phase, seconds, peak RSS (KiB), the command's JSON output.
"""
import json
import sys

BEGIN = "<!-- bench results: begin (written by scripts/bench.sh) -->"
END = "<!-- bench results: end -->"

# Targets of the speed issue (PostgreSQL, 100 000 products, 2 cores).
TIME_TARGETS = {"stocks": 3.0, "prices": 5.0, "catalog": 15.0, "customers": 3.0}
PARSE_TARGET_MBS = 200.0
RSS_TARGET_MB = 200.0
FLOOR_RATIO = 3.0
SQLITE_RATIO = 2.0
MONITOR_TARGET_MS = 200.0
WASM_TARGET = 1_000_000

# Preview targets (issue #13): a preview costs ≤ 1.1× the import of the same data.
PREVIEW_RATIO = 1.1

IMPORTS = ["preview", "catalog", "catalog again", "stocks", "stocks again", "prices", "prices again", "customers"]
FLOOR_OF = {
    "preview": "floor catalog",
    "catalog": "floor catalog",
    "catalog again": "floor catalog",
    "stocks": "floor stocks",
    "stocks again": "floor stocks",
    "prices": "floor prices",
    "prices again": "floor prices",
    "customers": "floor customers",
}


def load(path):
    rows = {}
    for line in open(path, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 5:
            continue
        size, backend, phase, secs, kb = parts[:5]
        extra = parts[5] if len(parts) > 5 else ""
        rows[(size, backend, phase)] = (float(secs), int(kb) / 1024.0, extra)
    return rows


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def main():
    results, machine = sys.argv[1], sys.argv[2]
    doc = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    r = load(results)
    sizes = sorted({k[0] for k in r if k[0].isdigit()}, key=int)
    largest = sizes[-1] if sizes else None
    out = [f"Machine: {machine}.", ""]
    misses = []
    peak_rss = 0.0

    for size in sizes:
        out.append(f"**{int(size):,} products** ".replace(",", " ")
                   + f"(export {r.get((size, '-', 'bytes'), (0, 0, ''))[0] / 1e6:.0f} MB)")
        out.append("")
        out.append("| phase | PostgreSQL s | PG peak RSS MB | × COPY floor | SQLite s "
                   "| SQLite peak RSS MB | SQLite / PG | targets |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for phase in IMPORTS:
            pg = r.get((size, "postgres", phase))
            sq = r.get((size, "sqlite", phase))
            floor = r.get((size, "postgres", FLOOR_OF[phase]))
            ratio = pg[0] / floor[0] if pg and floor and floor[0] > 0 else None
            sq_ratio = sq[0] / pg[0] if pg and sq and pg[0] > 0 else None
            notes = []
            for x in (pg, sq):
                if x:
                    peak_rss = max(peak_rss, x[1])
                    if x[1] > RSS_TARGET_MB:
                        notes.append(f"RSS {x[1]:.0f} > {RSS_TARGET_MB:.0f} MB")
            if size == largest and pg and phase in TIME_TARGETS:
                t = TIME_TARGETS[phase]
                notes.append(f"≤ {t:g} s: " + ("met" if pg[0] <= t else f"**missed by {pg[0] - t:.1f} s ({pg[0] / t:.1f}×)**"))
            if ratio is not None:
                notes.append(f"≤ {FLOOR_RATIO:g}× COPY: " + ("met" if ratio <= FLOOR_RATIO else f"**missed ({ratio:.1f}×)**"))
            if sq_ratio is not None:
                notes.append(f"SQLite ≤ {SQLITE_RATIO:g}× PG: " + ("met" if sq_ratio <= SQLITE_RATIO else f"**missed ({sq_ratio:.1f}×)**"))
            if phase.endswith(" again"):
                first = phase[: -len(" again")]
                for b, x in (("PG", pg), ("SQLite", sq)):
                    f = r.get((size, "postgres" if b == "PG" else "sqlite", first))
                    if x and f:
                        notes.append(f"{b} ≤ first: " + ("met" if x[0] <= f[0] * 1.05 else f"**missed ({x[0] / f[0]:.2f}×)**"))
            if phase == "preview":
                for b, x in (("PG", pg), ("SQLite", sq)):
                    f = r.get((size, "postgres" if b == "PG" else "sqlite", "catalog"))
                    if x and f:
                        notes.append(f"{b} ≤ {PREVIEW_RATIO:g}× catalog: " + ("met" if x[0] <= f[0] * PREVIEW_RATIO else f"**missed ({x[0] / f[0]:.2f}×)**"))
            for n in notes:
                if "missed" in n or "RSS" in n:
                    misses.append(f"{size} {phase}: {n}")
            out.append(f"| {phase} | {fmt(pg[0] if pg else None)} | {fmt(pg[1] if pg else None, 0)} "
                       f"| {fmt(ratio, 1)} | {fmt(sq[0] if sq else None)} | {fmt(sq[1] if sq else None, 0)} "
                       f"| {fmt(sq_ratio, 2)} | {'; '.join(notes)} |")
        out.append("")
        out.append("| parse only | s | MB | MB/s | peak RSS MB | target |")
        out.append("|---|---:|---:|---:|---:|---|")
        for kind in ["catalog", "stocks", "prices", "customers"]:
            p = r.get((size, "-", f"parse {kind}"))
            if not p:
                continue
            info = json.loads(p[2]) if p[2] else {}
            mb = info.get("bytes", 0) / 1e6
            mbs = info.get("mb_per_s", 0.0)
            note = f"≥ {PARSE_TARGET_MBS:g} MB/s: " + ("met" if mbs >= PARSE_TARGET_MBS else f"**missed ({mbs / PARSE_TARGET_MBS:.2f}× of it)**")
            if mbs < PARSE_TARGET_MBS:
                misses.append(f"{size} parse {kind}: {note}")
            peak_rss = max(peak_rss, p[1])
            out.append(f"| {kind} | {p[0]:.2f} | {mb:.0f} | {mbs:.0f} | {p[1]:.0f} | {note} |")
        out.append("")
        floors = [(ph, r.get((size, "postgres", ph))) for ph in
                  ["floor catalog", "floor stocks", "floor prices", "floor customers"]]
        if any(f for _, f in floors):
            out.append("COPY floor (PostgreSQL, TRUNCATE + `\\copy … FROM` CSV in one transaction, "
                       "constraints and indexes in place): "
                       + ", ".join(f"{ph[6:]} {f[0]:.2f} s" for ph, f in floors if f) + ".")
            out.append("")

    mon = [(k, v) for k, v in r.items() if k[2] == "monitor"]
    if mon:
        out.append("**Monitor** (`engine::monitor::list_sessions`, 10 000 sessions, page of 50 "
                   "and the total; median of 5):")
        out.append("")
        out.append("| backend | query | median ms | max ms | target ≤ 200 ms |")
        out.append("|---|---|---:|---:|---|")
        for (size, backend, _), v in sorted(mon):
            info = json.loads(v[2])
            for q, m in info["queries"].items():
                ok = m["max_ms"] <= MONITOR_TARGET_MS
                if not ok:
                    misses.append(f"monitor {backend} {q}: {m['max_ms']:.0f} ms")
                out.append(f"| {backend} | {q} | {m['median_ms']:.1f} | {m['max_ms']:.1f} | {'met' if ok else '**missed**'} |")
        out.append("")
    web = r.get(("web", "-", "wasm"))
    if web:
        info = json.loads(web[2])
        ok = info["gzip"] <= WASM_TARGET
        if not ok:
            misses.append(f"wasm {info['gzip']} bytes gzipped")
        out.append(f"**Web bundle** (`trunk build --release`, wasm-opt): {info['raw'] / 1e6:.2f} MB raw, "
                   f"{info['gzip'] / 1e6:.3f} MB gzipped (`gzip -9`); target ≤ 1 MB: {'met' if ok else '**missed**'}.")
        out.append("")
    out.append(f"Peak RSS of any phase: {peak_rss:.0f} MB (target ≤ {RSS_TARGET_MB:.0f} MB).")
    out.append("")
    if misses:
        out.append("Missed targets:")
        out.append("")
        out.extend(f"- {m}" for m in misses)
    else:
        out.append("Every measured target met.")
    text = "\n".join(out) + "\n"
    print(text)
    if doc:
        try:
            body = open(doc, encoding="utf-8").read()
        except FileNotFoundError:
            body = f"# Benchmarks\n\n{BEGIN}\n{END}\n"
        if BEGIN not in body or END not in body:
            body += f"\n{BEGIN}\n{END}\n"
        head, rest = body.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        open(doc, "w", encoding="utf-8").write(f"{head}{BEGIN}\n\n{text}\n{END}{tail}")
        print(f"written to {doc}")


if __name__ == "__main__":
    main()
