"""Compares cellforge with PyTorch and JAX on the same recurrent cells.

Runs `cargo run --release --example bench -- --json <args>` and
`benches/peers/rnn_peers.py <args>` one after the other (never at the same
time, so they do not compete for cores), collects their JSON lines and prints
one Markdown table per dtype:

    | cell | n_a | T | cellforge fwd+bwd ms | PyTorch ms | JAX ms | ratio | cellforge GFLOP/s |

`ratio` is the faster peer's time divided by cellforge's: above 1 cellforge is
faster. Usage, from anywhere in the repository:

    python3 benches/peers/compare.py [--cell rnn,lstm,gru] [--n-a 1,32,128,512]
        [--n-x 32] [--m 64] [--t 100] [--dtype f32|f64|f32,f64] [--reps 10]
        [--framework pytorch,jax] [--threads 2] [--metric fwdbwd|fwd]
        [--save FILE] [--from FILE ...] [--check-targets] [--scaling]

`--from FILE` (repeatable, `-` for stdin) reads previously saved JSON lines
instead of running anything and tabulates every dtype found there; `--save
FILE` writes the collected lines.
`--check-targets` runs the configurations of the speed targets (or reads
them with `--from`), prints each target with its measured ratio, and exits
with status 1 when any is missed: forward + backward, n_x = 32, m = 64,
T = 100, f32 and f64, at least 2x the faster peer for RNN, LSTM and GRU at
n_a <= 32, 1.3x at n_a = 128, 1x at n_a = 512, and the LSTM with n_a = 32,
T = 500 at least 1.5x PyTorch, streaming latency (one example, one step,
n_a = 32) at least 5x lower than PyTorch's `LSTMCell`, and the step-shaped
products of the LSTM with n_a = 512 (`examples/products.rs`: the step and
its transpose in the backward, on one thread, as each worker runs them) at
least 60% of one core's measured peak, in f32 and f64.
`--scaling` prints the LSTM's time against T and against the batch, on one
thread against two, its streaming latency and the bytes it keeps for the
backward, each against the peers in the same run.
`--framework` and `--threads` only concern the peers. `--metric fwd` compares
forward times instead of forward + backward.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CELL_ORDER = {"rnn": 0, "lstm": 1, "gru": 2}
DTYPES = {"f32": "float32", "float32": "float32", "f64": "float64", "float64": "float64"}
PEERS = (("pytorch", "PyTorch"), ("jax", "JAX"))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cell")
    p.add_argument("--n-a")
    p.add_argument("--n-x")
    p.add_argument("--m")
    p.add_argument("--t")
    p.add_argument("--dtype", default="f32", help="f32, f64 or f32,f64")
    p.add_argument("--reps")
    p.add_argument("--framework", help="peers to run (default pytorch,jax)")
    p.add_argument("--threads", help="threads for the peers (default 2)")
    p.add_argument("--metric", choices=("fwdbwd", "fwd"), default="fwdbwd")
    p.add_argument(
        "--scaling",
        action="store_true",
        help="print the scaling, latency and memory tables of the performance chapter",
    )
    p.add_argument(
        "--check-targets",
        action="store_true",
        help="measure the speed targets and exit 1 when one is missed",
    )
    p.add_argument("--save", metavar="FILE", help="write the collected JSON lines here")
    p.add_argument(
        "--from",
        dest="sources",
        metavar="FILE",
        action="append",
        help="read JSON lines from FILE instead of running the benchmarks",
    )
    args = p.parse_args(argv)
    dtypes = [d.strip() for d in args.dtype.split(",") if d.strip()]
    for d in dtypes:
        if d not in DTYPES:
            p.error(f"unknown dtype `{d}`")
    args.dtypes = dtypes
    return args


def shared_args(args, dtype):
    """The arguments both benchmarks understand."""
    out = []
    for flag, value in (
        ("--cell", args.cell),
        ("--n-a", args.n_a),
        ("--n-x", args.n_x),
        ("--m", args.m),
        ("--t", args.t),
        ("--reps", args.reps),
    ):
        if value is not None:
            out += [flag, value]
    return out + ["--dtype", dtype]


def json_lines(text):
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"skipping malformed line: {line}", file=sys.stderr)
    return rows


def run(command, env=None):
    """Runs a command from the repository root; its stderr passes through.
    `env` adds variables to the environment."""
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    full = dict(os.environ, **(env or {}))
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=full)
    if done.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed with exit code {done.returncode}")
    return done.stdout


def collect(args, ours_env=None, extra=()):
    """Runs both sides for every dtype. `ours_env` adds variables to
    cellforge's environment; `extra` flags go to both benchmarks."""
    rows = []
    for dtype in args.dtypes:
        common = shared_args(args, dtype) + list(extra)
        rows += json_lines(
            run(
                ["cargo", "run", "--release", "--example", "bench", "--", "--json"] + common,
                ours_env,
            )
        )
        peers = [sys.executable, os.path.join(HERE, "rnn_peers.py")] + common
        if args.framework is not None:
            peers += ["--framework", args.framework]
        if args.threads is not None:
            peers += ["--threads", args.threads]
        rows += json_lines(run(peers))
    return rows


def read_sources(sources):
    rows = []
    for source in sources:
        if source == "-":
            rows += json_lines(sys.stdin.read())
        else:
            with open(source) as f:
                rows += json_lines(f.read())
    return rows


def fmt(value, digits):
    return "–" if value is None else f"{value:.{digits}f}"


def tables(rows, metric):
    """Markdown tables, one per dtype."""
    key_ms = f"{metric}_ms"
    key_gf = f"gflops_{metric}"
    label = "fwd+bwd" if metric == "fwdbwd" else "fwd"
    out = []
    for dtype in sorted({r["dtype"] for r in rows}):
        subset = [r for r in rows if r["dtype"] == dtype]
        # The last measurement of a configuration wins when a file holds several.
        best = {}
        for r in subset:
            best[(r["cell"], r["n_x"], r["n_a"], r["m"], r["T"], r["framework"])] = r
        configs = sorted(
            {k[:5] for k in best},
            key=lambda k: (CELL_ORDER.get(k[0], 99), k[0], k[1], k[2], k[3], k[4]),
        )
        n_xs = sorted({k[1] for k in configs})
        ms = sorted({k[3] for k in configs})
        wide = len(n_xs) > 1 or len(ms) > 1
        heading = f"### {dtype}"
        if not wide:
            heading += f" (n_x = {n_xs[0]}, m = {ms[0]})"
        out += [heading, ""]
        head = ["cell"] + (["n_x", "m"] if wide else []) + ["n_a", "T"]
        head += [f"cellforge {label} ms"] + [f"{name} ms" for _, name in PEERS]
        head += ["ratio", "cellforge GFLOP/s"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
        for cell, n_x, n_a, m, t in configs:
            def get(framework, key):
                r = best.get((cell, n_x, n_a, m, t, framework))
                return None if r is None else r.get(key)

            ours = get("cellforge", key_ms)
            peer_ms = [get(framework, key_ms) for framework, _ in PEERS]
            present = [v for v in peer_ms if v is not None]
            ratio = min(present) / ours if present and ours else None
            cells = [cell] + ([str(n_x), str(m)] if wide else []) + [str(n_a), str(t)]
            cells += [fmt(ours, 3)] + [fmt(v, 3) for v in peer_ms]
            cells += [fmt(ratio, 2), fmt(get("cellforge", key_gf), 1)]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def scaling(args):
    """The scaling and latency tables of the book's performance chapter, in
    one run: the LSTM with n_a = 32, n_x = 32, f32, forward + backward,
    against T, against the batch m, on one thread against two; streaming
    latency; the bytes kept for the backward."""
    out = []

    def base(**kw):
        a = argparse.Namespace(**vars(args))
        a.dtypes = ["f32"]
        a.cell, a.n_a, a.n_x, a.m, a.t = "lstm", "32", "32", "64", "100"
        a.framework, a.threads = None, None
        for k, v in kw.items():
            setattr(a, k, v)
        return a

    def ms(rows, framework, **key):
        for r in rows:
            if r["framework"] == framework and all(r.get(k) == v for k, v in key.items()):
                return r.get("fwdbwd_ms")
        return None

    def table(title, label, values, rows_of):
        lines = [f"#### {title}", "", f"| {label} | cellforge ms | PyTorch ms | JAX ms | ratio |",
                 "|---:|---:|---:|---:|---:|"]
        for v, (rows, key) in zip(values, rows_of):
            ours = ms(rows, "cellforge", **key)
            peers = [ms(rows, f, **key) for f, _ in PEERS]
            present = [p for p in peers if p is not None]
            ratio = min(present) / ours if ours and present else None
            lines.append(f"| {v} | {fmt(ours, 3)} | " + " | ".join(fmt(p, 3) for p in peers)
                         + f" | {fmt(ratio, 2)} |")
        return "\n".join(lines + [""])

    ts = (100, 500, 2000)
    rows_t = [(collect(base(t=str(t))), {"T": t}) for t in ts]
    out.append(table("Time against T (m = 64)", "T", ts, rows_t))
    batches = (1, 8, 64, 256)
    rows_m = [(collect(base(m=str(m))), {"m": m}) for m in batches]
    out.append(table("Time against the batch m (T = 100)", "m", batches, rows_m))
    rows_th = [
        (collect(base(threads=str(n)), {"CELLFORGE_THREADS": str(n)}), {"T": 100})
        for n in (1, 2)
    ]
    out.append(table("One thread against two (each side on as many)", "threads", (1, 2), rows_th))

    lat = collect(base(n_a="1,32,128", framework="pytorch,jax"), None, ["--latency"])
    lines = ["#### Streaming latency: one example, one step (f32)", "",
             "| n_a | cellforge µs | PyTorch `LSTMCell` µs | JAX µs | PyTorch / cellforge |",
             "|---:|---:|---:|---:|---:|"]
    for n_a in (1, 32, 128):
        get = lambda f: next((r["us_per_step"] for r in lat if r["framework"] == f  # noqa: E731
                              and r["n_a"] == n_a and r.get("kind") == "latency"), None)
        ours, torch, jax = get("cellforge"), get("pytorch"), get("jax")
        ratio = torch / ours if ours and torch else None
        lines.append(f"| {n_a} | {fmt(ours, 2)} | {fmt(torch, 2)} | {fmt(jax, 2)} | {fmt(ratio, 1)} |")
    out.append("\n".join(lines + [""]))

    mem = collect(base(n_a="32,128", framework="pytorch"), None, ["--memory"])
    lines = ["#### Bytes kept for the backward of one training sequence (f32, m = 64, T = 100)", "",
             "| n_a | cellforge MB | PyTorch `nn.LSTM` autograd MB |", "|---:|---:|---:|"]
    for n_a in (32, 128):
        get = lambda f: next((r["bytes"] for r in mem if r["framework"] == f  # noqa: E731
                              and r["n_a"] == n_a and r.get("kind") == "memory"), None)
        ours, torch = get("cellforge"), get("pytorch")
        lines.append(f"| {n_a} | {fmt(ours and ours / 1e6, 2)} | {fmt(torch and torch / 1e6, 2)} |")
    out.append("\n".join(lines + [""]))
    return "\n".join(out), lat


def latency_target(lat):
    """Streaming latency at n_a = 32 at least 5x lower than PyTorch's LSTMCell."""
    get = lambda f: next((r["us_per_step"] for r in lat if r["framework"] == f  # noqa: E731
                          and r["n_a"] == 32 and r.get("kind") == "latency"), None)
    ours, torch = get("cellforge"), get("pytorch")
    ratio = torch / ours if ours and torch else None
    met = ratio is not None and ratio >= 5.0
    print(f"{'met   ' if met else 'MISSED'} float32 lstm n_a=32 streaming latency vs PyTorch LSTMCell: "
          f"{fmt(ratio, 2)} (target 5)")
    return met


TARGET_MIN = ((1, 2.0), (32, 2.0), (128, 1.3), (512, 1.0))

PEAK_SHARE = 0.6


def peak_target(reps):
    """The step-shaped products at n_a = 512, on one thread, at least 60% of
    one core's peak (both measured by `examples/products.rs`)."""
    ok = True
    for dtype in ("f32", "f64"):
        command = ["cargo", "run", "--release", "--example", "products", "--", "--json",
                   "--peak", "--n-a", "512", "--dtype", dtype, "--reps", str(max(20, int(reps or 0)))]
        lines = json_lines(run(command, {"CELLFORGE_THREADS": "1"}))
        peak = next((r["gflops"] for r in lines if r["product"] == "peak"), None)
        for name in ("step", "step back"):
            got = next((r["gflops"] for r in lines if r["product"] == name), None)
            share = got / peak if got and peak else None
            met = share is not None and share >= PEAK_SHARE
            ok &= met
            print(f"{'met   ' if met else 'MISSED'} {lines[0]['dtype'] if lines else dtype} "
                  f"{name} product n_a=512 on one thread vs one core's peak "
                  f"({fmt(got, 1)} of {fmt(peak, 1)} GFLOP/s): {fmt(share, 2)} (target {PEAK_SHARE})")
    return ok


def target_rows(args):
    """Runs the configurations the targets name."""
    rows = []
    for dtype in ("f32", "f64"):
        base = argparse.Namespace(**vars(args))
        base.dtypes = [dtype]
        base.cell, base.n_a, base.n_x, base.m, base.t = "rnn,lstm,gru", "1,32,128,512", "32", "64", "100"
        rows += collect(base)
        base.cell, base.n_a, base.t = "lstm", "32", "500"
        rows += collect(base)
    return rows


def check_targets(rows):
    """Prints every target with its ratio; returns whether all are met."""
    best = {}
    for r in rows:
        key = (r["cell"], r["n_x"], r["n_a"], r["m"], r["T"], r["dtype"], r["framework"])
        best[key] = r["fwdbwd_ms"]
    ok = True
    lines = []
    for dtype in ("float32", "float64"):
        for cell in ("rnn", "lstm", "gru"):
            for n_a, need in TARGET_MIN:
                key = (cell, 32, n_a, 64, 100, dtype)
                ours = best.get(key + ("cellforge",))
                peers = [best.get(key + (f,)) for f, _ in PEERS]
                peers = [v for v in peers if v is not None]
                ratio = min(peers) / ours if ours and peers else None
                met = ratio is not None and ratio >= need
                ok &= met
                lines.append((f"{dtype} {cell} n_a={n_a} T=100 vs faster peer", need, ratio, met))
        key = ("lstm", 32, 32, 64, 500, dtype)
        ours, torch = best.get(key + ("cellforge",)), best.get(key + ("pytorch",))
        ratio = torch / ours if ours and torch else None
        met = ratio is not None and ratio >= 1.5
        ok &= met
        lines.append((f"{dtype} lstm n_a=32 T=500 vs PyTorch", 1.5, ratio, met))
    for label, need, ratio, met in lines:
        print(f"{'met   ' if met else 'MISSED'} {label}: {fmt(ratio, 2)} (target {need})")
    return ok


def main(argv=None):
    args = parse_args(argv)
    if args.scaling:
        text, _ = scaling(args)
        print(text)
        return 0
    if args.check_targets:
        rows = read_sources(args.sources) if args.sources else target_rows(args)
        if args.save:
            with open(args.save, "w") as f:
                for r in rows:
                    f.write(json.dumps(r, separators=(",", ":")) + "\n")
        print(tables(rows, "fwdbwd"))
        ok = check_targets(rows)
        if not args.sources:
            base = argparse.Namespace(**vars(args))
            base.dtypes, base.cell, base.n_a, base.n_x = ["f32"], "lstm", "32", "32"
            base.m = base.t = base.framework = base.threads = None
            ok &= latency_target(collect(base, None, ["--latency"]))
            ok &= peak_target(args.reps)
        return 0 if ok else 1
    rows = read_sources(args.sources) if args.sources else collect(args)
    if args.save:
        with open(args.save, "w") as f:
            for r in rows:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")
    if not rows:
        sys.exit("no benchmark lines to compare")
    print(tables(rows, args.metric))
    return 0


if __name__ == "__main__":
    sys.exit(main())
