"""Times the cells of `examples/bench.rs` in PyTorch and JAX on the CPU.

For each framework, cell and hidden size it prints one JSON line in the format
the Rust benchmark prints with `--json`:

    {"framework":"pytorch","cell":"lstm","n_x":32,"n_a":128,"m":64,"T":100,
     "dtype":"float32","fwd_ms":..,"fwdbwd_ms":..,"gflops_fwd":..,"gflops_fwdbwd":..}

Usage (from the repository root):

    python3 benches/peers/rnn_peers.py [--framework pytorch,jax] [--cell rnn,lstm,gru]
        [--n-a 1,32,128,512] [--n-x 32] [--m 64] [--t 100] [--dtype f32|f64]
        [--reps 10] [--threads 2]

What is timed, with batch m, T steps and a zero initial state:

* forward: the whole sequence, returning every hidden state (PyTorch under
  `torch.no_grad()`; JAX a jitted function, so neither keeps residuals);
* forward + backward: the gradient of `loss = sum of all hidden states` with
  respect to every parameter and the input (PyTorch `loss.backward()` with
  `input.requires_grad_(True)`; JAX `jax.jit(jax.grad(..., argnums=(0, 1)))`).

The cells: rnn `a = tanh(W [a; x] + b)` (`nn.RNN`, tanh), lstm (`nn.LSTM`) and
gru (`nn.GRU`: `n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`,
`h = (1 - z) * n + z * h`). The JAX versions are written the way a careful JAX
user would: `lax.scan` over time, the input projection of all gates hoisted
out of the loop as one product over all T steps, and one fused product of the
state with the recurrent weights of all gates per step.

Each measurement runs twice as a warm-up (which also compiles the JAX
functions) and then `--reps` times; the median is reported in milliseconds.
GFLOP/s count the matrix products only: forward `2 G n_a (n_a + n_x) m T` with
G = 1 (rnn), 4 (lstm), 3 (gru); forward + backward three times that.

Threads: `torch.set_num_threads(threads)`, and for JAX the environment
`XLA_FLAGS="--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=N"`
and `JAX_PLATFORMS=cpu`, set before JAX is imported.
"""

import argparse
import json
import os
import statistics
import sys
import time

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
DTYPES = {"f32": "float32", "float32": "float32", "f64": "float64", "float64": "float64"}
FRAMEWORKS = ("pytorch", "jax")


def int_list(text):
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: `{text}`")


def name_list(known):
    def parse(text):
        names = [v.strip() for v in text.split(",") if v.strip()]
        for n in names:
            if n not in known:
                raise argparse.ArgumentTypeError(f"unknown `{n}`; known: {', '.join(known)}")
        return names

    return parse


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--framework", type=name_list(FRAMEWORKS), default=list(FRAMEWORKS))
    p.add_argument("--cell", type=name_list(tuple(GATES)), default=list(GATES))
    p.add_argument("--n-a", type=int_list, default=[1, 32, 128, 512])
    p.add_argument("--n-x", type=int, default=32)
    p.add_argument("--m", type=int, default=64)
    p.add_argument("--t", type=int, default=100)
    p.add_argument(
        "--dtype",
        type=name_list(tuple(DTYPES)),
        default=["f32"],
        help="f32 or f64 (a comma list runs both)",
    )
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--latency",
        action="store_true",
        help="time streaming inference of the LSTM instead: one example, one step at a time",
    )
    p.add_argument(
        "--memory",
        action="store_true",
        help="print the bytes autograd keeps for the backward of nn.LSTM instead (PyTorch)",
    )
    args = p.parse_args(argv)
    args.reps = max(1, args.reps)
    args.dtype = [DTYPES[d] for d in args.dtype]
    return args


def median_ms(fn, reps):
    """Median wall time of `fn()` in ms over `reps` runs, after 2 warm-up runs."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def report(framework, cell, n_a, args, dtype, fwd_ms, both_ms):
    flops = 2.0 * GATES[cell] * n_a * (n_a + args.n_x) * args.m * args.t
    line = {
        "framework": framework,
        "cell": cell,
        "n_x": args.n_x,
        "n_a": n_a,
        "m": args.m,
        "T": args.t,
        "dtype": dtype,
        "fwd_ms": round(fwd_ms, 4),
        "fwdbwd_ms": round(both_ms, 4),
        "gflops_fwd": round(flops / (fwd_ms * 1e6), 2),
        "gflops_fwdbwd": round(3.0 * flops / (both_ms * 1e6), 2),
    }
    print(json.dumps(line, separators=(",", ":")), flush=True)


# ---------------------------------------------------------------- PyTorch


def run_pytorch(args):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for dtype in args.dtype:
        tdt = getattr(torch, dtype)
        for cell in args.cell:
            for n_a in args.n_a:
                if cell == "rnn":
                    mod = torch.nn.RNN(args.n_x, n_a, nonlinearity="tanh")
                elif cell == "lstm":
                    mod = torch.nn.LSTM(args.n_x, n_a)
                else:
                    mod = torch.nn.GRU(args.n_x, n_a)
                mod = mod.to(tdt)
                x = torch.randn(args.t, args.m, args.n_x, dtype=tdt)
                xg = x.clone().requires_grad_(True)

                def forward():
                    with torch.no_grad():
                        return mod(x)[0]

                def forward_backward():
                    mod.zero_grad(set_to_none=True)
                    xg.grad = None
                    out = mod(xg)[0]
                    out.sum().backward()

                fwd = median_ms(forward, args.reps)
                both = median_ms(forward_backward, args.reps)
                report("pytorch", cell, n_a, args, dtype, fwd, both)


# ---------------------------------------------------------------- JAX


def jax_cell(cell, jnp, lax):
    """`forward(params, xs) -> hs` for xs of shape (T, m, n_x), hs (T, m, n_a).

    Parameters: `wx` (n_x, G n_a), `wh` (n_a, G n_a), `b` (G n_a), and for the
    GRU `bh` (3 n_a), the recurrent bias that the reset gate multiplies."""
    sigmoid = lambda v: 1.0 / (1.0 + jnp.exp(-v))  # noqa: E731

    def project(params, xs):
        # Input projection of all gates for all steps: one (T m, n_x) product.
        t, m, n_x = xs.shape
        return (xs.reshape(t * m, n_x) @ params["wx"] + params["b"]).reshape(t, m, -1)

    if cell == "rnn":

        def forward(params, xs):
            def step(h, px):
                h = jnp.tanh(px + h @ params["wh"])
                return h, h

            h0 = jnp.zeros((xs.shape[1], params["wh"].shape[0]), xs.dtype)
            return lax.scan(step, h0, project(params, xs))[1]

    elif cell == "lstm":

        def forward(params, xs):
            def step(carry, px):
                h, c = carry
                i, f, g, o = jnp.split(px + h @ params["wh"], 4, axis=-1)
                c = sigmoid(f) * c + sigmoid(i) * jnp.tanh(g)
                h = sigmoid(o) * jnp.tanh(c)
                return (h, c), h

            h0 = jnp.zeros((xs.shape[1], params["wh"].shape[0]), xs.dtype)
            return lax.scan(step, (h0, h0), project(params, xs))[1]

    else:

        def forward(params, xs):
            def step(h, px):
                xr, xz, xn = jnp.split(px, 3, axis=-1)
                hr, hz, hn = jnp.split(h @ params["wh"] + params["bh"], 3, axis=-1)
                r = sigmoid(xr + hr)
                z = sigmoid(xz + hz)
                n = jnp.tanh(xn + r * hn)
                h = (1.0 - z) * n + z * h
                return h, h

            h0 = jnp.zeros((xs.shape[1], params["wh"].shape[0]), xs.dtype)
            return lax.scan(step, h0, project(params, xs))[1]

    return forward


def set_jax_env(threads):
    """JAX reads these when it is first imported."""
    os.environ["JAX_PLATFORMS"] = "cpu"
    os.environ["XLA_FLAGS"] = (
        f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads}"
    )


def run_jax(args):
    set_jax_env(args.threads)
    import jax

    if "float64" in args.dtype:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax

    key = jax.random.PRNGKey(0)
    for dtype in args.dtype:
        jdt = getattr(jnp, dtype)
        for cell in args.cell:
            g = GATES[cell]
            for n_a in args.n_a:
                # PyTorch's default initialisation: U(-1/sqrt(n_a), 1/sqrt(n_a)).
                k = 1.0 / n_a**0.5
                key, *ks = jax.random.split(key, 6)
                uniform = lambda kk, shape: jax.random.uniform(  # noqa: E731
                    kk, shape, jdt, -k, k
                )
                params = {
                    "wx": uniform(ks[0], (args.n_x, g * n_a)),
                    "wh": uniform(ks[1], (n_a, g * n_a)),
                    "b": uniform(ks[2], (g * n_a,)),
                }
                if cell == "gru":
                    params["bh"] = uniform(ks[3], (g * n_a,))
                xs = jax.random.normal(ks[4], (args.t, args.m, args.n_x), jdt)

                forward = jax_cell(cell, jnp, lax)
                fwd_fn = jax.jit(forward)
                grad_fn = jax.jit(
                    jax.grad(lambda p, x: jnp.sum(forward(p, x)), argnums=(0, 1))
                )
                fwd = median_ms(lambda: jax.block_until_ready(fwd_fn(params, xs)), args.reps)
                both = median_ms(lambda: jax.block_until_ready(grad_fn(params, xs)), args.reps)
                report("jax", cell, n_a, args, dtype, fwd, both)


STREAM_STEPS = 1000


def stream_line(framework, n_a, args, dtype, us):
    line = {
        "framework": framework,
        "kind": "latency",
        "cell": "lstm",
        "n_x": args.n_x,
        "n_a": n_a,
        "dtype": dtype,
        "us_per_step": round(us, 3),
    }
    print(json.dumps(line, separators=(",", ":")), flush=True)


def pytorch_extra(args):
    """Streaming latency of `nn.LSTMCell` called once per step under
    `no_grad`, and the bytes autograd saves for the backward of `nn.LSTM`
    (every tensor a `saved_tensors_hooks` pack sees, each storage once)."""
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for dtype in args.dtype:
        tdt = getattr(torch, dtype)
        for n_a in args.n_a:
            if args.latency:
                cell = torch.nn.LSTMCell(args.n_x, n_a).to(tdt)
                x = torch.randn(1, args.n_x, dtype=tdt)

                def stream():
                    h = torch.zeros(1, n_a, dtype=tdt)
                    c = torch.zeros(1, n_a, dtype=tdt)
                    with torch.no_grad():
                        for _ in range(STREAM_STEPS):
                            h, c = cell(x, (h, c))

                us = median_ms(stream, args.reps) * 1e3 / STREAM_STEPS
                stream_line("pytorch", n_a, args, dtype, us)
            if args.memory:
                mod = torch.nn.LSTM(args.n_x, n_a).to(tdt)
                x = torch.randn(args.t, args.m, args.n_x, dtype=tdt, requires_grad=True)
                seen = {}

                def pack(t):
                    storage = t.untyped_storage()
                    seen[storage.data_ptr()] = storage.nbytes()
                    return t

                with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                    out = mod(x)[0]
                line = {
                    "framework": "pytorch",
                    "kind": "memory",
                    "cell": "lstm",
                    "n_x": args.n_x,
                    "n_a": n_a,
                    "m": args.m,
                    "T": args.t,
                    "dtype": dtype,
                    "bytes": sum(seen.values()),
                }
                del out
                print(json.dumps(line, separators=(",", ":")), flush=True)


def jax_latency(args):
    """Streaming latency of a jitted LSTM step, called once per step."""
    import jax

    if "float64" in args.dtype:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    sigmoid = lambda v: 1.0 / (1.0 + jnp.exp(-v))  # noqa: E731

    @jax.jit
    def step(p, x, h, c):
        i, f, g, o = jnp.split(x @ p["wx"] + h @ p["wh"] + p["b"], 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * jnp.tanh(g)
        return sigmoid(o) * jnp.tanh(c), c

    key = jax.random.PRNGKey(0)
    for dtype in args.dtype:
        jdt = getattr(jnp, dtype)
        for n_a in args.n_a:
            ks = jax.random.split(key, 4)
            p = {
                "wx": jax.random.normal(ks[0], (args.n_x, 4 * n_a), jdt) * 0.1,
                "wh": jax.random.normal(ks[1], (n_a, 4 * n_a), jdt) * 0.1,
                "b": jnp.zeros((4 * n_a,), jdt),
            }
            x = jax.random.normal(ks[2], (1, args.n_x), jdt)

            def stream():
                h = jnp.zeros((1, n_a), jdt)
                c = jnp.zeros((1, n_a), jdt)
                for _ in range(STREAM_STEPS):
                    h, c = step(p, x, h, c)
                jax.block_until_ready(h)

            us = median_ms(stream, args.reps) * 1e3 / STREAM_STEPS
            stream_line("jax", n_a, args, dtype, us)


def main(argv=None):
    args = parse_args(argv)
    if args.latency or args.memory:
        if "jax" in args.framework and args.latency:
            set_jax_env(args.threads)
        for framework in args.framework:
            if framework == "pytorch":
                pytorch_extra(args)
            elif args.latency:
                jax_latency(args)
        return 0
    # Before anything (torch included) could import JAX.
    if "jax" in args.framework:
        set_jax_env(args.threads)
    for framework in args.framework:
        if framework == "pytorch":
            run_pytorch(args)
        else:
            run_jax(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
