//! The matrix product of generated code: `C = A · B + β C` on column-major
//! blocks, with `A` packed once into panels of a few rows and `B` read in
//! place.
//!
//! A recurrent step multiplies the same weights by a new state at every
//! step. Packing the weights (laying them out in the order the inner loop
//! reads them) once per run, and reading the state where it lies, leaves
//! each step with the arithmetic alone: no allocation, no copy of either
//! operand. [`PackCache`] keeps the packed weights of a run; [`gemm`] packs
//! into a reused per-thread buffer for products that run once.
//!
//! The inner kernel keeps a tile of `MR × NR` values of `C` in registers
//! and adds one rank-one update per element of the shared dimension. Its
//! sizes follow the widest vectors the processor has, detected when the
//! program runs: two AVX-512 registers of rows (32 `f32` or 16 `f64`) by 12
//! columns, two AVX2 registers by 6, and a portable version for the rest.

use crate::Real;
use crate::kernel::Block;
use std::cell::RefCell;

mod thin;
#[cfg(target_arch = "x86_64")]
mod zmm;

/// The instruction sets the kernel is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    /// No vector extension is assumed: plain multiply and add.
    Portable,
    /// AVX2 with fused multiply-add (16 vector registers).
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512 foundation (32 vector registers of 64 bytes).
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// The best instruction set of this processor, detected at run time.
fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Isa::Avx2;
        }
    }
    Isa::Portable
}

/// Rows of a packed panel for this instruction set and element size:
/// two vector registers, or one when the matrix has no more rows than one
/// register holds (a small cell wastes less work on padding).
fn panel_rows(isa: Isa, elem: usize, m: usize) -> usize {
    let bytes = match isa {
        Isa::Portable => 32,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => 32,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => 64,
    };
    let lanes = bytes / elem;
    if m <= lanes { lanes } else { 2 * lanes }
}

/// The shared dimension is cut into blocks of this many values, so that a
/// tile's panel of `A` and its columns of `B` stay in the first-level cache.
const KC: usize = 256;

/// The packed panels of `A` that one pass over the columns of `B` reads
/// are grouped to about half the second-level cache (see [`group_bytes`]),
/// so that they stay there while every group of columns passes by them:
/// without it, a product with thousands of rows read all of a block of `A`
/// from memory for every 8 columns. This is the size where the system
/// does not report its cache.
const GROUP_BYTES: usize = 512 << 10;

/// The identity of a packed operand: which slice, which block, transposed or
/// not. Within one run the weights do not change, so equal keys mean equal
/// data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    ptr: usize,
    len: usize,
    block: Block,
    trans: bool,
}

/// A matrix laid out for the kernel: panels of `mr` rows, each stored
/// column after column (`mr` values for each of the `k` columns), the last
/// panel padded with zeros.
#[derive(Clone, Debug, Default)]
pub struct PackedA<T> {
    m: usize,
    k: usize,
    mr: usize,
    data: Vec<T>,
}

impl<T: Real> PackedA<T> {
    /// Packs `op(a)` (the block `ab` of `a`, transposed when `trans`) into
    /// this buffer, reusing its allocation.
    fn pack(&mut self, a: &[T], ab: Block, trans: bool, isa: Isa) {
        let (m, k) = if trans {
            (ab.cols, ab.rows)
        } else {
            (ab.rows, ab.cols)
        };
        let mr = panel_rows(isa, std::mem::size_of::<T>(), m);
        let panels = m.div_ceil(mr);
        self.m = m;
        self.k = k;
        self.mr = mr;
        // Every value is written below (padding rows as zeros), so the
        // buffer is only resized, never cleared.
        self.data.resize(panels * mr * k, T::zero());
        let ld = ab.ld.max(1);
        for p in 0..panels {
            let rows = mr.min(m - p * mr);
            let panel = &mut self.data[p * mr * k..(p + 1) * mr * k];
            for kk in 0..k {
                panel[kk * mr + rows..(kk + 1) * mr].fill(T::zero());
                let dst = &mut panel[kk * mr..kk * mr + rows];
                if trans {
                    // op(a)(i, kk) = a(kk, i): a row of the block, strided.
                    for (i, d) in dst.iter_mut().enumerate() {
                        *d = a[ab.off + kk + (p * mr + i) * ld];
                    }
                } else {
                    let start = ab.off + p * mr + kk * ld;
                    dst.copy_from_slice(&a[start..start + rows]);
                }
            }
        }
    }

    /// Rows of the packed matrix.
    pub fn rows(&self) -> usize {
        self.m
    }

    /// Columns of the packed matrix (the shared dimension of the product).
    pub fn cols(&self) -> usize {
        self.k
    }
}

/// The left operand as the kernel reads it: panels of `mr` rows, panel `p`
/// starting `p · panel` values after `ptr`, and each of its `k` columns
/// `col` values after the last. A packed matrix has `panel = mr · k` and
/// `col = mr`; a column-major block read in place, `panel = mr` and
/// `col` its distance between columns.
#[derive(Clone, Copy)]
struct Panels<T> {
    ptr: *const T,
    m: usize,
    mr: usize,
    panel: usize,
    col: usize,
}

// SAFETY: a `Panels` only reads, through a pointer into a slice that
// outlives every use (the product's operands); sharing it between the
// threads of one product is sharing a `&[T]`.
unsafe impl<T: Sync> Sync for Panels<T> {}
unsafe impl<T: Sync> Send for Panels<T> {}

impl<T> PackedA<T> {
    fn panels(&self) -> Panels<T> {
        Panels {
            ptr: self.data.as_ptr(),
            m: self.m,
            mr: self.mr,
            panel: self.mr * self.k,
            col: self.mr,
        }
    }
}

/// The weights a run has packed, each once: a step's product looks its
/// operand up here, and packs it on first use. [`PackCache::reset`] at the
/// start of a run forgets the old keys and keeps the buffers, so a run of
/// the same cell allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct PackCache<T> {
    keys: Vec<Key>,
    packs: Vec<PackedA<T>>,
    live: usize,
}

impl<T: Real> PackCache<T> {
    /// An empty cache.
    pub fn new() -> Self {
        PackCache {
            keys: Vec::new(),
            packs: Vec::new(),
            live: 0,
        }
    }

    /// Forgets what was packed (the weights may have changed), keeping the
    /// buffers.
    pub fn reset(&mut self) {
        self.live = 0;
    }

    /// `op(a)` packed, from this run's earlier packing or packed now.
    fn get(&mut self, a: &[T], ab: Block, trans: bool) -> &PackedA<T> {
        let key = Key {
            ptr: a.as_ptr() as usize,
            len: a.len(),
            block: ab,
            trans,
        };
        if let Some(k) = self.keys[..self.live].iter().position(|&x| x == key) {
            return &self.packs[k];
        }
        let k = self.live;
        if k == self.packs.len() {
            self.packs.push(PackedA::default());
            self.keys.push(key);
        }
        self.keys[k] = key;
        self.packs[k].pack(a, ab, trans, isa());
        self.live += 1;
        &self.packs[k]
    }
}

thread_local! {
    /// The packing buffers of products that are not cached, one per thread
    /// and element type, reused from call to call.
    static SCRATCH_F32: RefCell<PackedA<f32>> = RefCell::new(PackedA::default());
    static SCRATCH_F64: RefCell<PackedA<f64>> = RefCell::new(PackedA::default());
}

/// `(rows, cols, row stride, column stride)` of a block, transposed or not.
fn oriented(block: Block, trans: bool) -> (usize, usize, isize, isize) {
    let ld = block.ld.max(1) as isize;
    if trans {
        (block.cols, block.rows, ld, 1)
    } else {
        (block.rows, block.cols, 1, ld)
    }
}

/// Runs a product with few rows by the loops of [`thin`], split across
/// `workers` threads by columns, when its shape calls for them; `false`
/// when the panel kernel should run it.
#[allow(clippy::too_many_arguments)]
fn try_thin<T: Real>(
    c: &mut [T],
    cb: Block,
    a: &[T],
    ab: Block,
    ta: bool,
    b: &[T],
    bb: Block,
    tb: bool,
    beta: T,
    (m, k): (usize, usize),
    workers: usize,
) -> bool {
    let lanes = panel_rows(isa(), std::mem::size_of::<T>(), 1);
    let Some(how) = thin::choose(m, k, tb, lanes) else {
        return false;
    };
    let a = thin::Operand {
        data: a,
        block: ab,
        trans: ta,
    };
    split_columns(c, cb, bb, tb, workers, |part, block, b_block| {
        let b = thin::Operand {
            data: b,
            block: b_block,
            trans: tb,
        };
        thin::product(how, part, block, a, b, beta, (m, k, block.cols));
    });
    true
}

/// `c = op(a) · op(b) + beta · c`, packing `op(a)` into this thread's
/// buffer: for products that run once (over all steps of a sequence).
///
/// # Panics
/// When the blocks do not fit their slices or their shapes do not chain;
/// generated code computes them from validated dimensions.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Real>(
    c: &mut [T],
    cb: Block,
    a: &[T],
    ab: Block,
    ta: bool,
    b: &[T],
    bb: Block,
    tb: bool,
    beta: T,
) {
    let (m, k, n) = check_blocks(c, cb, a, ab, ta, b, bb, tb);
    if m == 0 || n == 0 {
        return;
    }
    let workers = crate::chunk::product_workers(m.saturating_mul(n).saturating_mul(k), n);
    if workers > 1 && k >= SHARED_SPLIT && k >= 8 * n {
        return split_shared(c, cb, a, ab, ta, b, bb, tb, beta, (m, k, n), workers);
    }
    if try_thin(c, cb, a, ab, ta, b, bb, tb, beta, (m, k), workers) {
        return;
    }
    // A column-major block whose rows fill whole panels is read where it
    // lies: its panels are already contiguous down each column.
    let mr = panel_rows(isa(), std::mem::size_of::<T>(), m);
    if !ta
        && m.is_multiple_of(mr)
        && (std::mem::size_of::<T>() == 4 || std::mem::size_of::<T>() == 8)
    {
        let panels = Panels {
            ptr: a[ab.off..].as_ptr(),
            m,
            mr,
            panel: mr,
            col: ab.ld.max(1),
        };
        return run_split(panels, c, cb, b, bb, tb, beta, k, workers);
    }
    if let Some(f) = as_f32(a) {
        SCRATCH_F32.with_borrow_mut(|p| {
            p.pack(f, ab, ta, isa());
            run_split(cast_packed(p).panels(), c, cb, b, bb, tb, beta, k, workers);
        });
    } else if let Some(f) = as_f64(a) {
        SCRATCH_F64.with_borrow_mut(|p| {
            p.pack(f, ab, ta, isa());
            run_split(cast_packed(p).panels(), c, cb, b, bb, tb, beta, k, workers);
        });
    } else {
        let mut p = PackedA::default();
        p.pack(a, ab, ta, Isa::Portable);
        run(p.panels(), c, cb, b, bb, tb, beta, k);
    }
}

/// One thread's part of [`split_shared`]: where it writes, the block there,
/// its β, and its range `(first, count)` of the shared dimension.
type SharedPart<'a, T> = (&'a mut [T], Block, T, (usize, usize));

/// The shortest shared dimension over which a product with few columns is
/// split across threads (see [`split_shared`]).
const SHARED_SPLIT: usize = 4096;

/// A product with a long shared dimension and few columns (a weight
/// gradient over all steps: `4 n_a × m T` by `m T × n_a`), split across
/// `workers` threads along the shared dimension rather than by columns:
/// split by columns, every thread would read all of the long left operand,
/// and the threads would share the memory's bandwidth for no gain. Each
/// thread multiplies its range of the shared dimension, the first into `C`
/// and the others into buffers of their own, which are then added to `C`
/// in thread order (so the result is the same from run to run for a given
/// number of threads).
#[allow(clippy::too_many_arguments)]
fn split_shared<T: Real>(
    c: &mut [T],
    cb: Block,
    a: &[T],
    ab: Block,
    ta: bool,
    b: &[T],
    bb: Block,
    tb: bool,
    beta: T,
    (m, k, n): (usize, usize, usize),
    workers: usize,
) {
    let per = k.div_ceil(workers).div_ceil(KC) * KC;
    let ranges: Vec<(usize, usize)> = (0..k)
        .step_by(per)
        .map(|k0| (k0, per.min(k - k0)))
        .collect();
    let mut partial = vec![T::zero(); (ranges.len() - 1) * m * n];
    let mut parts: Vec<SharedPart<'_, T>> = Vec::with_capacity(ranges.len());
    parts.push((&mut *c, cb, beta, ranges[0]));
    for (chunk, &range) in partial.chunks_mut(m * n).zip(&ranges[1..]) {
        parts.push((chunk, Block::dense(0, m, n), T::zero(), range));
    }
    crate::chunk::run(&mut parts, |(target, block, beta, (k0, kc))| {
        let a_part = if ta {
            ab.rows(*k0, *kc)
        } else {
            ab.columns(*k0, *kc)
        };
        let b_part = if tb {
            bb.columns(*k0, *kc)
        } else {
            bb.rows(*k0, *kc)
        };
        gemm(target, *block, a, a_part, ta, b, b_part, tb, *beta);
    });
    drop(parts);
    let ldc = cb.ld.max(1);
    for part in partial.chunks(m * n) {
        for j in 0..n {
            let col = &mut c[cb.off + j * ldc..cb.off + j * ldc + m];
            for (v, &p) in col.iter_mut().zip(&part[j * m..(j + 1) * m]) {
                *v += p;
            }
        }
    }
}

/// [`run`] with the columns of `C` split across `workers` threads: each
/// takes a contiguous range of columns (a multiple of 16 where it can), and
/// so a disjoint part of `c`.
#[allow(clippy::too_many_arguments)]
fn run_split<T: Real>(
    p: Panels<T>,
    c: &mut [T],
    cb: Block,
    b: &[T],
    bb: Block,
    tb: bool,
    beta: T,
    k: usize,
    workers: usize,
) {
    split_columns(c, cb, bb, tb, workers, |part, block, b_block| {
        run(p, part, block, b, b_block, tb, beta, k);
    });
}

/// Runs `f(part, block, b_block)` on ranges of the columns of `C` across
/// `workers` threads: `part` is the range's disjoint part of `c`, `block`
/// the range's block in it, `b_block` the matching columns of `op(B)`.
fn split_columns<T: Real>(
    c: &mut [T],
    cb: Block,
    bb: Block,
    tb: bool,
    workers: usize,
    f: impl Fn(&mut [T], Block, Block) + Sync,
) {
    if workers <= 1 {
        return f(c, cb, bb);
    }
    let n = cb.cols;
    let ldc = cb.ld.max(1);
    let per = n.div_ceil(workers).div_ceil(16) * 16;
    let mut parts = Vec::with_capacity(workers);
    let mut rest = c;
    let mut first = 0;
    let mut base = 0;
    while first < n {
        let count = per.min(n - first);
        let mut block = cb.columns(first, count);
        block.off -= base;
        let (part, tail) = if first + count < n {
            let cut = cb.off + (first + count) * ldc - base;
            let (head, tail) = rest.split_at_mut(cut);
            base += cut;
            (head, tail)
        } else {
            (rest, &mut [][..])
        };
        let b_block = if tb {
            bb.rows(first, count)
        } else {
            bb.columns(first, count)
        };
        parts.push((part, block, b_block));
        rest = tail;
        first += count;
    }
    crate::chunk::run(&mut parts, |(part, block, b_block)| {
        f(part, *block, *b_block);
    });
}

/// `c = op(a) · op(b) + beta · c` with `op(a)` taken from `cache`, packed
/// there on its first use in the run: the products of a recurrent step.
///
/// # Panics
/// As [`gemm`].
#[allow(clippy::too_many_arguments)]
pub fn gemm_cached<T: Real>(
    cache: &mut PackCache<T>,
    c: &mut [T],
    cb: Block,
    a: &[T],
    ab: Block,
    ta: bool,
    b: &[T],
    bb: Block,
    tb: bool,
    beta: T,
) {
    let (m, k, n) = check_blocks(c, cb, a, ab, ta, b, bb, tb);
    if m == 0 || n == 0 {
        return;
    }
    let workers = crate::chunk::product_workers(m.saturating_mul(n).saturating_mul(k), n);
    if try_thin(c, cb, a, ab, ta, b, bb, tb, beta, (m, k), workers) {
        return;
    }
    let p = cache.get(a, ab, ta).panels();
    run_split(p, c, cb, b, bb, tb, beta, k, workers);
}

#[allow(clippy::too_many_arguments)]
fn check_blocks<T>(
    c: &[T],
    cb: Block,
    a: &[T],
    ab: Block,
    ta: bool,
    b: &[T],
    bb: Block,
    tb: bool,
) -> (usize, usize, usize) {
    let (m, k, _, _) = oriented(ab, ta);
    let (k2, n, _, _) = oriented(bb, tb);
    assert!(
        m == cb.rows && n == cb.cols && k == k2,
        "gemm: {m}×{k} · {k2}×{n} into {}×{}",
        cb.rows,
        cb.cols
    );
    let inside = |blk: Block, len: usize| blk.checked_end().is_some_and(|end| end <= len);
    assert!(
        m == 0
            || n == 0
            || (inside(cb, c.len()) && (k == 0 || (inside(ab, a.len()) && inside(bb, b.len())))),
        "gemm: a block lies outside its slice or is malformed"
    );
    (m, k, n)
}

fn as_f32<T: 'static>(a: &[T]) -> Option<&[f32]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>()).then(|| {
        // SAFETY: `T` is `f32`.
        unsafe { std::slice::from_raw_parts(a.as_ptr().cast::<f32>(), a.len()) }
    })
}

fn as_f64<T: 'static>(a: &[T]) -> Option<&[f64]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f64>()).then(|| {
        // SAFETY: `T` is `f64`.
        unsafe { std::slice::from_raw_parts(a.as_ptr().cast::<f64>(), a.len()) }
    })
}

/// A packed buffer of `f32` or `f64` seen as one of `T`, which the caller
/// has found to be the same type.
fn cast_packed<S: 'static, T: 'static>(p: &PackedA<S>) -> &PackedA<T> {
    assert_eq!(std::any::TypeId::of::<S>(), std::any::TypeId::of::<T>());
    // SAFETY: `S` and `T` are the same type (checked above).
    unsafe { &*(p as *const PackedA<S>).cast::<PackedA<T>>() }
}

/// Runs the kernel of the packed matrix's instruction set on checked blocks.
#[allow(clippy::too_many_arguments)]
fn run<T: Real>(
    p: Panels<T>,
    c: &mut [T],
    cb: Block,
    b: &[T],
    bb: Block,
    tb: bool,
    beta: T,
    k: usize,
) {
    let (_, n, rsb, csb) = oriented(bb, tb);
    let ldc = cb.ld.max(1);
    let m = p.m;
    // β other than 0 and 1 scales C first; then the kernel adds.
    let accumulate = beta != T::zero();
    if accumulate && beta != T::one() {
        for j in 0..n {
            for v in &mut c[cb.off + j * ldc..cb.off + j * ldc + m] {
                *v *= beta;
            }
        }
    }
    if k == 0 {
        if !accumulate {
            for j in 0..n {
                c[cb.off + j * ldc..cb.off + j * ldc + m].fill(T::zero());
            }
        }
        return;
    }
    let b_ptr = b[bb.off.min(b.len())..].as_ptr();
    let c_ptr = c[cb.off..].as_mut_ptr();
    let args = Args {
        m,
        k,
        n,
        a: p.ptr,
        panel: p.panel,
        col: p.col,
        b: b_ptr,
        rsb,
        csb,
        c: c_ptr,
        ldc,
        accumulate,
    };
    let elem = std::mem::size_of::<T>();
    // SAFETY: the blocks were checked to lie inside their slices (so every
    // element the kernel reads of B and writes of C is in bounds), the
    // packed matrix holds `ceil(m / mr) · mr · k` values, and `c` is a
    // unique borrow that overlaps neither `b` nor the packed buffer. Each
    // branch runs only where its instruction set was detected.
    unsafe {
        match (p.mr * elem, elem) {
            #[cfg(target_arch = "x86_64")]
            (128, _) if isa() == Isa::Avx512 => zmm::run::<T, 2>(&args),
            #[cfg(target_arch = "x86_64")]
            (64, _) if isa() == Isa::Avx512 => zmm::run::<T, 1>(&args),
            #[cfg(target_arch = "x86_64")]
            (64, _) if isa() != Isa::Portable => avx2::<T, 64>(&args),
            #[cfg(target_arch = "x86_64")]
            (32, _) if isa() != Isa::Portable => avx2::<T, 32>(&args),
            _ => portable::<T>(&args, p.mr),
        }
    }
}

/// The operands of one kernel run, as raw parts.
struct Args<T> {
    m: usize,
    k: usize,
    n: usize,
    a: *const T,
    panel: usize,
    col: usize,
    b: *const T,
    rsb: isize,
    csb: isize,
    c: *mut T,
    ldc: usize,
    accumulate: bool,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<T: Real, const PANEL_BYTES: usize>(args: &Args<T>) {
    // SAFETY: forwarded from `run`.
    unsafe { by_panel_bytes::<T, PANEL_BYTES, 6, true>(args) }
}

unsafe fn portable<T: Real>(args: &Args<T>, mr: usize) {
    // SAFETY: forwarded from `run`.
    unsafe {
        match mr * std::mem::size_of::<T>() {
            128 => by_panel_bytes::<T, 128, 4, false>(args),
            64 => by_panel_bytes::<T, 64, 4, false>(args),
            _ => by_panel_bytes::<T, 32, 4, false>(args),
        }
    }
}

/// The panel's rows as a constant, from its size in bytes and the element
/// size.
#[inline(always)]
unsafe fn by_panel_bytes<T: Real, const PB: usize, const NR: usize, const FMA: bool>(
    args: &Args<T>,
) {
    // SAFETY: forwarded.
    unsafe {
        match (PB, std::mem::size_of::<T>()) {
            (128, 4) => driver::<T, Arrays<32, FMA>, 32, NR>(args),
            (128, _) => driver::<T, Arrays<16, FMA>, 16, NR>(args),
            (64, 4) => driver::<T, Arrays<16, FMA>, 16, NR>(args),
            (64, _) => driver::<T, Arrays<8, FMA>, 8, NR>(args),
            (_, 4) => driver::<T, Arrays<8, FMA>, 8, NR>(args),
            _ => driver::<T, Arrays<4, FMA>, 4, NR>(args),
        }
    }
}

/// A tile's arithmetic: `C[..rows, ..NC] (+)= A_panel · B[.., ..NC]` for a
/// panel of a fixed number of rows, kept in registers.
trait TileKernel<T> {
    /// Runs one tile of `NC` columns.
    ///
    /// # Safety
    /// The tile's pointers cover what [`Tile`] describes, and the
    /// processor has the kernel's instruction set.
    unsafe fn tile<const NC: usize>(t: &Tile<T>);
}

/// The portable kernel: arrays of `MR` values that the compiler
/// vectorizes as the target allows.
struct Arrays<const MR: usize, const FMA: bool>;

impl<T: Real, const MR: usize, const FMA: bool> TileKernel<T> for Arrays<MR, FMA> {
    #[inline(always)]
    unsafe fn tile<const NC: usize>(t: &Tile<T>) {
        // SAFETY: forwarded.
        unsafe { tile::<T, MR, NC, FMA>(t) }
    }
}

/// Loops over blocks of the shared dimension, groups of `NR` columns and
/// panels of `MR` rows, and runs a tile of `K` for each.
#[inline(always)]
unsafe fn driver<T: Real, K: TileKernel<T>, const MR: usize, const NR: usize>(args: &Args<T>) {
    let Args {
        m,
        k,
        n,
        a,
        panel,
        col,
        b,
        rsb,
        csb,
        c,
        ldc,
        accumulate,
    } = *args;
    let panels = m.div_ceil(MR);
    // A block of A read where it lies has its columns `col` values apart:
    // a tile would read `kc` short runs at that stride, and at strides of a
    // power of two they all fall in the same few sets of the first-level
    // cache. When the stride is 2 KB or more and several groups of columns
    // read each panel, each group of panels is first copied into this
    // thread's buffer, column after column of each panel, and the tiles
    // read the copy. (Measured on weight gradients over a sequence: at
    // strides of 1 KB and below the copy cost more than it saved; from
    // 2 KB it saved up to half the product's time.)
    let repack = panel == MR && col * std::mem::size_of::<T>() >= 2048 && n > NR;
    let group_bytes = group_bytes();
    let mut k0 = 0;
    while k0 < k {
        let kc = KC.min(k - k0);
        let acc = accumulate || k0 > 0;
        // Panels of A in a group that stays in the second-level cache
        // while every group of columns of B passes by it.
        let group = (group_bytes / (MR * kc * std::mem::size_of::<T>())).max(1);
        let mut p0 = 0;
        while p0 < panels {
            let p1 = (p0 + group).min(panels);
            // SAFETY: the buffer is this thread's and holds
            // `(p1 - p0) · MR · kc` values.
            let copy = if repack {
                unsafe { group_buffer::<T>((p1 - p0) * MR * kc) }
            } else {
                None
            };
            let (a, panel, col) = if let Some(buf) = copy {
                // SAFETY: rows `p0 · MR ..` and columns `k0 .. k0 + kc` of
                // A lie inside the operand as `run` checked it, and the
                // buffer holds the copy.
                unsafe {
                    let first = p0 * MR;
                    let rows = (p1 * MR).min(m) - first;
                    for kk in 0..kc {
                        let src = a.add(first + (k0 + kk) * col);
                        for q in 0..p1 - p0 {
                            let dst = buf.add(q * MR * kc + kk * MR);
                            let have = MR.min(rows - q * MR);
                            std::ptr::copy_nonoverlapping(src.add(q * MR), dst, have);
                            for i in have..MR {
                                *dst.add(i) = T::zero();
                            }
                        }
                    }
                    // The copy starts at panel `p0` and column `k0`; the
                    // offsets below add them back (the pointer in between
                    // may lie outside the buffer, so both steps wrap).
                    let base = buf.cast_const().wrapping_sub(p0 * MR * kc + k0 * MR);
                    (base, MR * kc, MR)
                }
            } else {
                (a, panel, col)
            };
            // The columns in groups as even as can be, none wider than `NR`:
            // 64 columns are six groups of 11 or 10 rather than five of 12
            // and a narrow one of 4, whose tile would do a third of the
            // multiply-adds per value of the panel loaded.
            let column_groups = n.div_ceil(NR);
            let (width, wider) = (n / column_groups, n % column_groups);
            let mut j0 = 0;
            let mut group_index = 0;
            while j0 < n {
                let nc = width + usize::from(group_index < wider);
                group_index += 1;
                // SAFETY: every offset below stays inside the operands as
                // `run` checked them: rows `< m`, columns `< n`, shared `< k`.
                unsafe {
                    let bp = b.offset(k0 as isize * rsb + j0 as isize * csb);
                    for p in p0..p1 {
                        let ap = a.wrapping_add(p * panel + k0 * col);
                        let cp = c.add(p * MR + j0 * ldc);
                        let rows = MR.min(m - p * MR);
                        let t = Tile {
                            kc,
                            a: ap,
                            col,
                            b: bp,
                            rsb,
                            csb,
                            c: cp,
                            ldc,
                            rows,
                            accumulate: acc,
                        };
                        match nc {
                            12 if NR >= 12 => K::tile::<12>(&t),
                            11 if NR >= 11 => K::tile::<11>(&t),
                            10 if NR >= 10 => K::tile::<10>(&t),
                            9 if NR >= 9 => K::tile::<9>(&t),
                            8 if NR >= 8 => K::tile::<8>(&t),
                            7 if NR >= 7 => K::tile::<7>(&t),
                            6 if NR >= 6 => K::tile::<6>(&t),
                            5 if NR >= 5 => K::tile::<5>(&t),
                            4 => K::tile::<4>(&t),
                            3 => K::tile::<3>(&t),
                            2 => K::tile::<2>(&t),
                            _ => K::tile::<1>(&t),
                        }
                    }
                }
                j0 += nc;
            }
            p0 = p1;
        }
        k0 += kc;
    }
}

/// Bytes of the panels of `A` that one pass over the columns of `B` reads:
/// half of this processor's second-level cache as the system reports it
/// (the other half holds `B`, `C` and what else the thread reads), or
/// [`GROUP_BYTES`] where it does not.
fn group_bytes() -> usize {
    static BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cache/index2/size")
            .ok()
            .and_then(|s| {
                let s = s.trim();
                let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
                let n: usize = digits.parse().ok()?;
                match unit {
                    "K" => Some(n << 10),
                    "M" => Some(n << 20),
                    _ => None,
                }
            })
            .map_or(GROUP_BYTES, |l2| (l2 / 2).clamp(64 << 10, 4 << 20))
    })
}

thread_local! {
    /// The copies of groups of panels that [`driver`] makes of a block of
    /// `A` read in place, one buffer per thread and element type.
    static GROUP_F32: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static GROUP_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// This thread's buffer for copies of panels, at least `len` values long,
/// for `f32` and `f64` (`None` for other types, whose panels are read in
/// place).
///
/// # Safety
/// The pointer is used only until this thread's next call (nothing else on
/// the thread uses the buffer).
unsafe fn group_buffer<T: 'static>(len: usize) -> Option<*mut T> {
    fn grown<S: Copy + Default>(v: &mut Vec<S>, len: usize) -> *mut S {
        if v.len() < len {
            v.resize(len, S::default());
        }
        v.as_mut_ptr()
    }
    use std::any::TypeId;
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        Some(GROUP_F32.with_borrow_mut(|v| grown(v, len).cast()))
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        Some(GROUP_F64.with_borrow_mut(|v| grown(v, len).cast()))
    } else {
        None
    }
}

/// One tile's operands: `kc` columns of a packed panel, the matching rows of
/// `NC` columns of `B`, and where the tile of `C` lies.
struct Tile<T> {
    kc: usize,
    a: *const T,
    /// Distance between the panel's columns.
    col: usize,
    b: *const T,
    rsb: isize,
    csb: isize,
    c: *mut T,
    ldc: usize,
    rows: usize,
    accumulate: bool,
}

/// `C[..rows, ..NC] (+)= A_panel · B[.., ..NC]` with the tile in registers.
#[inline(always)]
unsafe fn tile<T: Real, const MR: usize, const NC: usize, const FMA: bool>(t: &Tile<T>) {
    let mut acc = [[T::zero(); MR]; NC];
    // SAFETY: the panel has `kc` columns of `MR` values, `col` apart, from
    // `a` (the last panel padded when packed); `B` has `kc` rows
    // and `NC` columns from `b` at the given strides; the tile of `C` has
    // `rows` rows and `NC` columns at `ldc`.
    unsafe {
        for p in 0..t.kc {
            let av: [T; MR] = *(t.a.add(p * t.col) as *const [T; MR]);
            let bp = t.b.offset(p as isize * t.rsb);
            for (j, col) in acc.iter_mut().enumerate() {
                let bv = *bp.offset(j as isize * t.csb);
                for i in 0..MR {
                    col[i] = if FMA {
                        av[i].mul_add(bv, col[i])
                    } else {
                        av[i] * bv + col[i]
                    };
                }
            }
        }
        for (j, col) in acc.iter().enumerate() {
            let cj = std::slice::from_raw_parts_mut(t.c.add(j * t.ldc), t.rows);
            if t.rows == MR {
                let cj: &mut [T; MR] = &mut *(cj.as_mut_ptr() as *mut [T; MR]);
                if t.accumulate {
                    for i in 0..MR {
                        cj[i] += col[i];
                    }
                } else {
                    *cj = *col;
                }
            } else if t.accumulate {
                for (d, &v) in cj.iter_mut().zip(col) {
                    *d += v;
                }
            } else {
                cj.copy_from_slice(&col[..t.rows]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    fn matrix(rows: usize, cols: usize, seed: f64) -> DMatrix<f64> {
        DMatrix::from_fn(rows, cols, |i, j| {
            ((i * 31 + j * 17) as f64 * 0.37 + seed).sin()
        })
    }

    /// The stored operands of an `m × k` by `k × n` product in the given
    /// orientations, and their product by nalgebra.
    fn operands(
        (m, k, n): (usize, usize, usize),
        ta: bool,
        tb: bool,
    ) -> (DMatrix<f64>, DMatrix<f64>, DMatrix<f64>) {
        let a = if ta {
            matrix(k, m, 0.1)
        } else {
            matrix(m, k, 0.1)
        };
        let b = if tb {
            matrix(n, k, 0.7)
        } else {
            matrix(k, n, 0.7)
        };
        let opa = if ta { a.transpose() } else { a.clone() };
        let opb = if tb { b.transpose() } else { b.clone() };
        let product = &opa * &opb;
        (a, b, product)
    }

    /// Every orientation, odd sizes around the panel and tile edges, and
    /// shared dimensions across the block size, against nalgebra.
    #[test]
    fn products_match_nalgebra_at_every_edge() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 2),
            (16, 7, 9),
            (17, 33, 13),
            (33, 300, 7),
            (64, 1, 64),
            (128, 32, 64),
            (40, 520, 3),
            // More panels than one group holds (16 of 16 rows of `f64`
            // over a block of 256), over two blocks of the shared
            // dimension; rows in one register with a ragged last panel.
            (300, 260, 11),
            (10, 3, 17),
            // Every width of a last group of columns of the 12-column tile.
            (20, 9, 10),
            (33, 17, 24),
            (31, 40, 23),
            // Thin products: the plain loops, dot products over more than
            // one block of the shared dimension, rows over more than one
            // block of columns.
            (2, 3, 37),
            (4, 300, 5),
            (3, 7, 130),
        ] {
            for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
                let (a, b, expected_ab) = operands((m, k, n), ta, tb);
                let c0 = matrix(m, n, 1.3);
                for beta in [0.0, 1.0, 0.5] {
                    let mut c = c0.clone();
                    gemm(
                        c.as_mut_slice(),
                        Block::dense(0, m, n),
                        a.as_slice(),
                        Block::dense(0, a.nrows(), a.ncols()),
                        ta,
                        b.as_slice(),
                        Block::dense(0, b.nrows(), b.ncols()),
                        tb,
                        beta,
                    );
                    let expected = &expected_ab + &c0 * beta;
                    let err = (&c - &expected).abs().max();
                    assert!(
                        err < 1e-12,
                        "{m}×{k}·{k}×{n} ta={ta} tb={tb} β={beta}: {err}"
                    );
                }
            }
        }
    }

    /// A long shared dimension with few columns is split along the shared
    /// dimension on two threads; the sum matches nalgebra's, in every
    /// orientation and with β.
    #[test]
    fn products_split_along_the_shared_dimension_match_nalgebra() {
        let (m, k, n) = (20, 9000, 7);
        for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
            let (a, b, expected_ab) = operands((m, k, n), ta, tb);
            let c0 = matrix(m, n, 0.9);
            let mut c = c0.clone();
            split_shared(
                c.as_mut_slice(),
                Block::dense(0, m, n),
                a.as_slice(),
                Block::dense(0, a.nrows(), a.ncols()),
                ta,
                b.as_slice(),
                Block::dense(0, b.nrows(), b.ncols()),
                tb,
                0.5,
                (m, k, n),
                2,
            );
            let expected = &expected_ab + &c0 * 0.5;
            let err = (&c - &expected).abs().max();
            assert!(err < 1e-10, "ta={ta} tb={tb}: {err}");
        }
    }

    #[test]
    fn f32_products_match_and_the_cache_repacks_after_a_reset() {
        let (m, k, n) = (70, 45, 11);
        let a = DMatrix::<f32>::from_fn(m, k, |i, j| ((i + 2 * j) % 7) as f32 - 3.0);
        let b = DMatrix::<f32>::from_fn(k, n, |i, j| ((3 * i + j) % 5) as f32 - 2.0);
        let mut cache = PackCache::new();
        let mut c = DMatrix::<f32>::zeros(m, n);
        let mut a2 = a.clone();
        for round in 0..3 {
            cache.reset();
            if round == 2 {
                a2[(0, 0)] += 1.0;
            }
            for _ in 0..2 {
                gemm_cached(
                    &mut cache,
                    c.as_mut_slice(),
                    Block::dense(0, m, n),
                    a2.as_slice(),
                    Block::dense(0, m, k),
                    false,
                    b.as_slice(),
                    Block::dense(0, k, n),
                    false,
                    0.0,
                );
            }
            assert_eq!(c, &a2 * &b, "round {round}");
        }
        assert_eq!(cache.packs.len(), 1, "one operand, packed into one buffer");
    }

    /// The columns of a product split across threads, in both orientations
    /// of `B`, with ranges that do not divide the columns evenly.
    #[test]
    fn split_products_match_the_whole() {
        let (m, k, n) = (40, 30, 70);
        let a = matrix(m, k, 0.2);
        let mut p = PackedA::default();
        p.pack(a.as_slice(), Block::dense(0, m, k), false, isa());
        for tb in [false, true] {
            let b = if tb {
                matrix(n, k, 0.4)
            } else {
                matrix(k, n, 0.4)
            };
            let opb = if tb { b.transpose() } else { b.clone() };
            let c0 = matrix(m + 3, n, 0.8);
            for workers in [2, 3, 5] {
                let mut c = c0.clone();
                let cb = Block::dense(0, m + 3, n).rows(2, m);
                let bb = Block::dense(0, b.nrows(), b.ncols());
                run_split(
                    p.panels(),
                    c.as_mut_slice(),
                    cb,
                    b.as_slice(),
                    bb,
                    tb,
                    1.0,
                    k,
                    workers,
                );
                let expected = c0.view((2, 0), (m, n)) + &a * &opb;
                assert!((c.view((2, 0), (m, n)) - expected).abs().max() < 1e-12);
                assert_eq!(c.row(0), c0.row(0), "rows outside the block are untouched");
            }
        }
    }

    /// A left operand whose rows fill whole panels is read in place, from
    /// inside a larger matrix.
    #[test]
    fn whole_panels_are_read_where_they_lie() {
        let big = matrix(40, 12, 0.6);
        let b = matrix(9, 5, 0.1);
        for rows in [16, 32] {
            let ab = Block::dense(0, 40, 12).rows(3, rows).columns(2, 9);
            let mut c = DMatrix::<f64>::zeros(rows, 5);
            gemm(
                c.as_mut_slice(),
                Block::dense(0, rows, 5),
                big.as_slice(),
                ab,
                false,
                b.as_slice(),
                Block::dense(0, 9, 5),
                false,
                0.0,
            );
            let expected = big.view((3, 2), (rows, 9)) * &b;
            assert!((c - expected).abs().max() < 1e-12, "{rows} rows");
        }
    }

    #[test]
    fn strided_blocks_inside_larger_slices() {
        let big = matrix(10, 12, 0.3);
        let b = matrix(12, 9, 0.9);
        // rows 2..7 and columns 3..9 of `big`, times rows 3..9 of `b`.
        let ab = Block::dense(0, 10, 12).rows(2, 5).columns(3, 6);
        let bb = Block::dense(0, 12, 9).rows(3, 6);
        let mut c = DMatrix::<f64>::zeros(8, 9);
        let cb = Block::dense(0, 8, 9).rows(1, 5);
        gemm(
            c.as_mut_slice(),
            cb,
            big.as_slice(),
            ab,
            false,
            b.as_slice(),
            bb,
            false,
            0.0,
        );
        let expected = big.view((2, 3), (5, 6)) * b.view((3, 0), (6, 9));
        assert!((c.view((1, 0), (5, 9)) - expected).abs().max() < 1e-12);
        assert_eq!(
            c.row(0).abs().max(),
            0.0,
            "rows outside the block are untouched"
        );
        assert_eq!(c.row(7).abs().max(), 0.0);
    }

    /// A block read in place whose columns lie 2 KB or more apart is
    /// copied group by group before its tiles run: across two blocks of the
    /// shared dimension, many groups of columns, β ≠ 0, and a last group of
    /// panels cut short by the end of the rows.
    #[test]
    fn strided_panels_copied_by_groups_match_nalgebra() {
        // 304 rows: the column stride is 2432 bytes in f64, and the rows
        // fill whole panels of 8 or 16 (the block is read in place).
        let (ld, rows, k, n) = (304, 288, 300, 27);
        let big = matrix(ld, k, 0.2);
        let b = matrix(k, n, 0.5);
        let start = matrix(rows, n, 0.8);
        let mut c = start.clone();
        gemm(
            c.as_mut_slice(),
            Block::dense(0, rows, n),
            big.as_slice(),
            Block::dense(0, ld, k).rows(16, rows),
            false,
            b.as_slice(),
            Block::dense(0, k, n),
            false,
            0.5,
        );
        let expected = big.view((16, 0), (rows, k)) * &b + start * 0.5;
        assert!((c - expected).abs().max() < 1e-10);
    }
}
