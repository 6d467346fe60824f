"""Writes docs/performance.md (and docs/performance.png) from the JSON results `make bench`
leaves in its results folder: one table per benchmark, the machine, the budgets, and the
command that reproduces each number. Usage: report.py RESULTS_DIR DOCS_DIR
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BUDGET_INIT_RATIO = 1.2
BUDGET_OVERHEAD_RATIO = 1.2


def load(results: Path, name: str):
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1048576:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()} "
        f"({platform.machine()}); {rustc}"
    )


def zipped_mb(binary: str) -> str:
    """The binary zipped as Lambda takes it (`bootstrap`, deflated), in MB. The bench writes
    paths relative to the repository, so they are read from there, wherever this runs; a
    binary no longer there is `–`, not a size of 0.0."""
    path = Path(binary)
    if not path.is_absolute():
        path = Path(__file__).resolve().parents[2] / path
    if not path.exists():
        print(f"report: {binary} is gone; its zip size is left out", file=sys.stderr)
        return "–"
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "function.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(path, "bootstrap")
        return f"{target.stat().st_size / 1048576:.1f}"


def cold_start_section(data, docs: Path) -> list[str]:
    if data is None:
        return ["## 1. Cold start", "", "Not run (`steward-bench cold-start`).", ""]
    floors = data["floors"]
    sdk = floors["sdk"]
    rows = [r for r in data["results"] if r["event"] != "floor"]
    worst = max(r["init_ms_median"] / sdk for r in rows)
    lines = [
        "## 1. Cold start per function",
        "",
        "Each release binary is started as Lambda starts it, under a local Lambda Runtime API",
        "(`infra/bench/src/runtime_api.rs`), against the emulator with the environment the template",
        "gives it; timed from exec to its first poll for an event (**init**) and to its answer to",
        f"that event (**first answer**): median of {data['runs']} starts each, after one unmeasured",
        "start, runs interleaved. The floors are built the same way in the same run: `floor-hello`",
        "(lambda_runtime answering `{}`) and `floor-sdk` (that plus the SDK configuration and the",
        "DynamoDB, SQS, S3 and SES clients). Zip: the binary deflated as `bootstrap`, as built here",
        f"({platform.machine()}; `make build` zips arm64).",
        "",
        f"Floors: hello-world init {floors['hello']:.1f} ms; SDK clients init {sdk:.1f} ms.",
        "",
        "| function | event | init ms | × SDK floor | first answer ms | zip MB |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in sorted(data["results"], key=lambda r: r["init_ms_median"]):
        lines.append(
            f"| {r['name']} | {r['event']} | {r['init_ms_median']:.1f} | "
            f"{r['init_ms_median'] / sdk:.2f} | {r['answer_ms_median']:.1f} | "
            f"{zipped_mb(r['binary'])} |"
        )
    met = "met" if worst <= BUDGET_INIT_RATIO else "**not met**"
    lines += [
        "",
        f"Budget: our own init ≤ {BUDGET_INIT_RATIO}× the SDK floor. Worst: {worst:.2f}× ({met}).",
        "",
        "![Cold start per function](performance.png)",
        "",
    ]
    plot_cold_start(data, docs / "performance.png")
    return lines


def plot_cold_start(data, target: Path) -> None:
    rows = sorted(data["results"], key=lambda r: r["init_ms_median"])
    names = [r["name"].removesuffix("Function") for r in rows]
    init = [r["init_ms_median"] for r in rows]
    answer = [r["answer_ms_median"] - r["init_ms_median"] for r in rows]
    figure, axes = plt.subplots(figsize=(9, 6))
    axes.barh(names, init, label="init (exec → first poll)", color="#4c72b0")
    axes.barh(names, answer, left=init, label="first event", color="#dd8452")
    axes.axvline(data["floors"]["sdk"] * BUDGET_INIT_RATIO, color="#c44e52", linestyle="--",
                 label=f"budget: {BUDGET_INIT_RATIO}× SDK floor init")
    axes.set_xlabel("milliseconds (median)")
    axes.set_title("Cold start per function, local Runtime API")
    axes.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)


def authorizer_section(data) -> list[str]:
    if data is None:
        return ["## 2. The authorizer's decision", "", "Not run.", ""]
    lines = [
        "## 2. The authorizer's decision, in-process",
        "",
        "`cargo bench -p steward-access --bench authorizer_decision`: verify the access token,",
        "build the Cedar request from the user's and tenant's records, decide; each call timed",
        "alone. Baseline in the same run: one HMAC-SHA256 of the token.",
        "",
        "| stage | p50 µs | p99 µs | n |",
        "| --- | ---: | ---: | ---: |",
    ]
    for stage in data["stages"]:
        lines.append(
            f"| {stage['stage']} | {stage['p50_us']:.1f} | {stage['p99_us']:.1f} | {stage['n']} |"
        )
    argon = data.get("argon2id_ms", {})
    init = data.get("authorizer_new_us")
    if init:
        lines += [
            "",
            "Building the authorizer at cold start (`Authorizer::new`, medians of fresh processes):",
            f"{init['first']:.0f} µs as the first call in a process, {init['second']:.0f} µs as a",
            "second call. The difference is Cedar's one-time set-up (its lexers and extensions),",
            "which every function with a guard pays at init (docs/performance-notes.md).",
        ]
    lines += [
        "",
        "Budget (source plans): a permission check under 50 ms p95. Sign-in's Argon2id (OWASP",
        f"cost) takes {argon.get('hash', 0):.0f} ms to hash and {argon.get('verify', 0):.0f} ms to",
        "verify, on purpose.",
        "",
    ]
    return lines


def overhead_section(data) -> list[str]:
    if data is None:
        return ["## 3. Overhead per route", "", "Not run.", ""]
    lines = [
        "## 3. Overhead per route: the gateway against the raw SDK calls",
        "",
        "`cargo bench -p steward-e2e --bench overhead`: each route through the local gateway",
        "(HTTP, authorizer, kit, Cedar, rules, serialisation) against the very SDK calls it",
        "makes, replayed on copies of the same items, alternating, same emulator, same run.",
        "Check-in is warm (the terminals instance keeps the terminal and the room) and each",
        "round checks in the same booking, set back to confirmed between rounds, untimed.",
        "",
        "| route | n | gateway p50 ms | raw p50 ms | p50 ratio | mean ratio | raw calls |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in data["routes"]:
        lines.append(
            f"| `{r['route']}` | {r['n']} | {r['gateway_ms']['p50']:.2f} | {r['raw_ms']['p50']:.2f} | "
            f"{r['gateway_ms']['p50'] / r['raw_ms']['p50']:.2f} | "
            f"{r['gateway_ms']['mean'] / r['raw_ms']['mean']:.2f} | {r['raw_calls']} |"
        )
    worst = max(r["gateway_ms"]["p50"] / r["raw_ms"]["p50"] for r in data["routes"])
    verdict = "met" if worst <= BUDGET_OVERHEAD_RATIO else "**not met**"
    lines += ["", f"Budget: ≤ {BUDGET_OVERHEAD_RATIO}× (p50). Worst: {worst:.2f}× ({verdict}).", ""]
    return lines


def requests_section(data) -> list[str]:
    if data is None:
        return ["## 4. DynamoDB requests per operation", "", "Not run.", ""]
    lines = [
        "## 4. DynamoDB requests per operation",
        "",
        "`cargo test -p steward-e2e --test requests -- --nocapture`: an SDK interceptor on every",
        "table client counts each attempt; the answer carries them (`ExposeRequestCounts`). Warm",
        "instances (tenant and licensing switches cached): none of these counts is the tenant's",
        "licence check, which costs 0 requests warm.",
        "",
        "| operation | requests | budget | held | by operation |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for op in data["operations"]:
        held = "yes" if op["requests"] <= op["budget"] else "**no**"
        lines.append(
            f"| {op['operation']} | {op['requests']} | {op['budget']} | {held} | {op['by_operation']} |"
        )
    lines.append("")
    return lines


def load_section(data, docs: Path) -> list[str]:
    if data is None:
        return ["## 5. Load on the local stack", "", "Not run.", ""]
    floor = data["emulator_alone"]
    lines = [
        "## 5. Load on the local stack",
        "",
        "`cargo bench -p steward-e2e --bench load`: goose drives "
        f"{data['users']} members of one tenant for {data['seconds']:.0f} s, each choosing by",
        "weight: availability (5), book a half hour on a grid the members share and cancel half",
        "of what it got (3), check in by PIN at one of 4 door terminals (1; a booking's first",
        "check-in answers 200, later ones 409), sign in (1). A 409 for a taken slot is an",
        "answer; anything else unexpected counts as an error. Afterwards every room's bookings",
        "are read from the table and compared pairwise.",
        "",
        "| operation | count | errors | p50 ms | p95 ms | p99 ms | statuses |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for op in data["operations"]:
        statuses = ", ".join(f"{k}: {v}" for k, v in op["statuses"].items())
        lines.append(
            f"| {op['operation']} | {op['count']} | {op['errors']} | {op['p50_ms']:.1f} | "
            f"{op['p95_ms']:.1f} | {op['p99_ms']:.1f} | {statuses} |"
        )
    lines += [
        f"| **all** | {data['requests']} | {data['errors']} | {data['p50_ms']:.1f} | "
        f"{data['p95_ms']:.1f} | {data['p99_ms']:.1f} | |",
        "",
        f"Throughput: **{data['throughput_per_s']:.1f} requests/s**; errors: **{data['errors']}**;",
        f"bookings held at the end: {data['bookings_held']}; double bookings: "
        f"**{data['double_bookings']}**.",
        "",
        f"The floor, the emulator alone in the same run ({floor['clients']} clients putting and",
        f"getting items through the SDK): {floor['operations_per_s']:.0f} operations/s, p50",
        f"{floor['p50_ms']:.1f} ms, p99 {floor['p99_ms']:.1f} ms. Each request above makes 2 to 6",
        "DynamoDB requests (table 4), so the emulator bounds the stack's throughput; the plot",
        "is `performance-load.png`.",
        "",
        "Budget (source plans): under 200 ms p95, under 500 ms on average locally.",
        "",
    ]
    plot_load(data, docs / "performance-load.png")
    return lines


def plot_load(data, target: Path) -> None:
    rows = data["operations"]
    names = [r["operation"] for r in rows]
    figure, axes = plt.subplots(figsize=(9, 4.5))
    width = 0.27
    for i, (key, label) in enumerate([("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")]):
        axes.bar([x + (i - 1) * width for x in range(len(rows))], [r[key] for r in rows],
                 width, label=label)
    axes.axhline(200, color="#c44e52", linestyle="--", label="200 ms p95 (source plans)")
    axes.set_xticks(range(len(rows)), names)
    axes.set_ylabel("milliseconds")
    axes.set_title(f"Latency under load: {data['users']} members, {data['seconds']:.0f} s, local stack")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)


def sweep_section(data) -> list[str]:
    if data is None:
        return ["## 6. Sweep throughput", "", "Not run.", ""]
    floor = data["emulator_alone"]
    return [
        "## 6. Sweep throughput",
        "",
        "`cargo bench -p steward-e2e --bench sweep_throughput`: a licence sweep through its real",
        "entry point (validate-licenses, the sweep queue's workers, the report) over "
        f"{data['tenants']} planted",
        "healthy tenants, timed by the run itself.",
        "",
        "| tenants | seconds | tenants/s | emulator alone, ops/s |",
        "| ---: | ---: | ---: | ---: |",
        f"| {data['tenants']} | {data['seconds']:.1f} | **{data['tenants_per_s']:.1f}** | "
        f"{floor['operations_per_s']:.0f} ({floor['clients']} clients) |",
        "",
    ] + views_refresh_lines(data.get("views_refresh"))


def web_section(data) -> list[str]:
    if data is None:
        return ["## 9. The web app", "", "Not run.", ""]
    size = data["size"]
    lines = [
        "## 9. The web app",
        "",
        "`web/bench/budgets.mjs` against the local stack with its demo data (`web/bench/run.sh`;",
        "the API's functions in a debug build): the JavaScript and CSS the first page loads, gzipped,",
        "and Lighthouse 12.2.3 on three pages with its defaults (a mid-range phone on a slow 4G",
        "network, simulated), signed in as the demo's owner for the last two.",
        "",
        "| first page | gzipped | budget | share of the budget |",
        "| --- | ---: | ---: | ---: |",
        f"| JavaScript | {size['js_gzipped_kb']} kB | {size['budget_kb']} kB | **{size['ratio']:.2f}×** |",
        f"| CSS | {size['css_gzipped_kb']} kB | | |",
        "",
        "| page | performance (target ≥ 90) | accessibility (target 100) | LCP ms | LCP / 2.5 s | CLS |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for page in data["pages"]:
        lines.append(
            f"| {page['page']} | {page['performance']} | {page['accessibility']} | {page['lcp_ms']} | "
            f"{page['lcp_ms'] / 2500:.2f}× | {page['cls']:.3f} |"
        )
    return lines + [""]


def views_refresh_lines(views) -> list[str]:
    """The operators' views refresh over more planted tenants, against the tenant index alone."""
    if views is None:
        return []
    return [
        "Then `POST /v1/admin/refresh-views` (the onboarding wizard on) over "
        f"{views['tenants']} tenants, against",
        "reading the tenant index alone (the part no refresh can skip), in the same run; the",
        "rollout plan's criterion is under 5 s.",
        "",
        "| tenants | refresh, s | the index alone, s | refresh / index |",
        "| ---: | ---: | ---: | ---: |",
        f"| {views['tenants']} | **{views['seconds']:.2f}** | {views['index_alone_seconds']:.2f} | "
        f"{views['ratio']:.2f}x |",
        "",
    ]


def kept_section(docs: Path, number: int) -> list[str] | None:
    """Section `number` as docs/performance.md has it now. A benchmark not run this time keeps
    its last table: `make bench-levers` and `make verify-build` each run one benchmark, and
    `make bench` does not rebuild the levers (two more release builds)."""
    written = docs / "performance.md"
    if not written.exists():
        return None
    lines = written.read_text().splitlines()
    prefix = f"## {number}. "
    start = next((i for i, line in enumerate(lines) if line.startswith(prefix)), None)
    if start is None:
        return None
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
    )
    section = lines[start:end]
    if any("Not run" in line for line in section):
        return None
    return section


def levers_section(data, results: Path) -> list[str]:
    lines = ["## 7. The build levers, each left off", ""]
    if data is None:
        return lines + ["Not run (`make bench-levers`).", ""]
    measured = datetime.fromtimestamp((results / "levers.json").stat().st_mtime, timezone.utc)
    lines += [
        f"`make bench-levers` ({measured:%Y-%m-%d %H:%M} UTC): the SDK floor and two functions",
        "as `make bench` builds them, and rebuilt in target directories of their own with one",
        "lever off: aws-lc's jitter-entropy self-test left on (no `AWS_LC_SYS_NO_JITTER_ENTROPY`),",
        "or Cargo's default release profile (no fat LTO, 16 codegen units, not stripped); and our",
        "build started with the traces switched off (`traces off`: `TRACES_ENABLED=false`; on by",
        "default while they cost at most 1 ms). All started in one run, interleaved,",
        f"{data['runs']} times each.",
        "",
        "| subject | build | init ms (median) | first answer ms | binary MB | init vs ours |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    bases = [r for r in data["results"] if " [" not in r["name"]]
    for base in bases:
        variants = [("ours (make bench)", base)] + [
            (r["name"].split(" [", 1)[1].rstrip("]"), r)
            for r in data["results"]
            if r["name"].startswith(base["name"] + " [")
        ]
        for label, r in variants:
            lines.append(
                f"| {base['name']} | {label} | {r['init_ms_median']:.1f} | "
                f"{r['answer_ms_median']:.1f} | {r['binary_bytes'] / 1_048_576:.1f} | "
                f"{r['init_ms_median'] / base['init_ms_median']:.2f}× |"
            )
    lines.append("")
    return lines


def verify_build_section(data, results: Path) -> list[str]:
    lines = ["## 8. The deploy artifacts, started", ""]
    if data is None:
        return lines + ["Not run (`make verify-build`).", ""]
    measured = datetime.fromtimestamp(
        (results / "verify-build.json").stat().st_mtime, timezone.utc
    )
    verdicts = data["results"]
    passed = sum(1 for v in verdicts if v["passed"])
    lines += [
        f"`make verify-build` ({measured:%Y-%m-%d %H:%M} UTC): every function's `bootstrap` from",
        "`make build`'s arm64 zips, unpacked and started once under",
        f"`{data['launcher'] or 'no launcher'}`, as Lambda starts it: under the local Runtime API,",
        "against the emulator and a local stack, with the environment the template gives it and",
        "the event of table 1; its answer checked (the deploy check's smoke checks call the",
        "stack's functions and it must report `Succeeded` to CodeDeploy).",
        f"**{passed} of {len(verdicts)} answered as they must.** Machine: {machine()}. Times are",
        "under emulation, where every arm64 instruction is translated: they show the binaries",
        "start, not how fast they start on Graviton.",
        "",
        "| function | event | verdict | init ms | first answer ms | bootstrap MB | what it answered |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    # A start that never answered has no times (JSON null).
    def ms(value) -> str:
        return "–" if value is None else f"{value:.0f}"

    for v in verdicts:
        finding = v["finding"].replace("|", "\\|")
        lines.append(
            f"| {v['function']} | {v['event']} | {'ok' if v['passed'] else '**failed**'} | "
            f"{ms(v['init_ms'])} | {ms(v['answer_ms'])} | "
            f"{v['bootstrap_bytes'] / 1_048_576:.1f} | {finding} |"
        )
    lines.append("")
    return lines


def kept_header(docs: Path) -> list[str] | None:
    """The header as the last whole `make bench` wrote it (its time and machine): a run of one
    benchmark (`make bench-levers`, `make verify-build`) does not re-date the tables it keeps."""
    written = docs / "performance.md"
    if not written.exists():
        return None
    lines = written.read_text().splitlines()
    end = next((i for i, line in enumerate(lines) if line.startswith("## ")), None)
    return lines[:end] if end else None


def main() -> None:
    results, docs = Path(sys.argv[1]), Path(sys.argv[2])
    whole_run = (results / "cold-start.json").exists()
    lines = (None if whole_run else kept_header(docs)) or [
        "# Performance",
        "",
        "Written by `make bench` (infra/bench/report.py) from the results it leaves in",
        f"`{os.path.relpath(results)}`; do not edit by hand. Run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Machine: {machine()}.",
        "",
        "Every ratio compares two things measured in the same run on this machine; absolute",
        "times on a shared 2-core machine are noisy, ratios less so.",
        "",
    ]
    sections = [
        (1, "cold-start", lambda data: cold_start_section(data, docs)),
        (2, "authorizer", authorizer_section),
        (3, "overhead", overhead_section),
        (4, "requests", requests_section),
        (5, "load", lambda data: load_section(data, docs)),
        (6, "sweep", sweep_section),
        (7, "levers", lambda data: levers_section(data, results)),
        (8, "verify-build", lambda data: verify_build_section(data, results)),
        (9, "web", web_section),
    ]
    for number, name, render in sections:
        data = load(results, name)
        kept = kept_section(docs, number) if data is None else None
        lines += kept or render(data)
    notes = docs / "performance-notes.md"
    if notes.exists():
        lines += [notes.read_text().rstrip(), ""]
    (docs / "performance.md").write_text("\n".join(lines))
    print(f"wrote {docs / 'performance.md'}")


if __name__ == "__main__":
    main()
