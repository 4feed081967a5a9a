//! Fusion: decides how a step is computed. Products with the same right-hand
//! operand become one product over parameters stored stacked; products of
//! the input alone are hoisted out of the time loop; element-wise work
//! between products runs in one pass per level; values that cross passes get
//! a per-step buffer (a slot).

use crate::graph::{Bin, Func, Graph, NodeId, Op};
use crate::shape::{Affine, Shape};
use std::collections::BTreeMap;

/// Where a node's value lives during a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loc {
    /// The input of the step.
    Input,
    /// State `k` before the step.
    StatePrev(usize),
    /// State `k` after the step.
    StateNext(usize),
    /// Output `k` of the step.
    Output(usize),
    /// Rows from `offset` of slot `k`.
    Slot(usize, Affine),
    /// Random mask `k` (of this step, for a mask drawn at every step).
    Noise(usize),
}

/// A product `param @ operand` inside a group.
#[derive(Clone, Debug)]
pub struct Member {
    /// The `@` node.
    pub node: NodeId,
    /// The matrix parameter.
    pub param: usize,
    /// First row of this product in the group's pre-activation slot.
    pub row_off: Affine,
    /// Rows of the parameter.
    pub rows: Affine,
    /// Whether the parameter is stored in the group's stacked block.
    pub stacked: bool,
}

/// One part of a (stacked) right-hand operand.
#[derive(Clone, Debug)]
pub struct Component {
    /// The node stacked.
    pub node: NodeId,
    /// Its first column in the parameters.
    pub col_off: Affine,
    /// Its length.
    pub len: Affine,
    /// Whether it is the input, so its product is computed for all steps at once.
    pub hoisted: bool,
}

/// All products that share a right-hand operand.
#[derive(Clone, Debug)]
pub struct Group {
    /// The shared operand.
    pub operand: NodeId,
    /// Its stacked parts.
    pub components: Vec<Component>,
    /// The products, stacked ones first.
    pub members: Vec<Member>,
    /// Rows of all products.
    pub rows: Affine,
    /// Rows of the stacked products (one matrix product covers them).
    pub stacked_rows: Affine,
    /// The storage block of the stacked parameters, if any is stacked.
    pub block: Option<usize>,
    /// The slot that holds the pre-activations.
    pub slot: usize,
    /// The level at which the products run.
    pub level: usize,
}

/// A contiguous block of the flat parameter storage, column-major.
#[derive(Clone, Debug)]
pub struct Block {
    /// Rows.
    pub rows: Affine,
    /// Columns.
    pub cols: Affine,
}

/// Where a parameter lives in the flat storage.
#[derive(Clone, Debug)]
pub struct ParamView {
    /// The block it is in.
    pub block: usize,
    /// Its first row in the block.
    pub row_off: Affine,
    /// Its rows.
    pub rows: Affine,
    /// Its columns (1 for a vector).
    pub cols: Affine,
}

/// What a slot holds.
#[derive(Clone, Debug)]
pub enum SlotKind {
    /// The pre-activations of a product group.
    Group(usize),
    /// The value of a node that is needed outside its pass.
    Node(NodeId),
}

/// A per-step buffer of `rows × m`.
#[derive(Clone, Debug)]
pub struct Slot {
    /// Rows.
    pub rows: Affine,
    /// What it holds.
    pub kind: SlotKind,
}

/// One element-wise loop: nodes of one level and one length.
#[derive(Clone, Debug)]
pub struct Pass {
    /// The vector length the loop runs over (1 for numbers per example).
    pub len: Affine,
    /// Whether its nodes are numbers per example (it runs before the
    /// vector passes of its level, which read them).
    pub per_example: bool,
    /// Element-wise nodes computed, in topological order.
    pub nodes: Vec<NodeId>,
    /// Values written out: the node and where.
    pub stores: Vec<(NodeId, Loc)>,
}

/// Everything that runs at one level: products, operations over whole
/// vectors (softmaxes and reductions), then passes.
#[derive(Clone, Debug, Default)]
pub struct Phase {
    /// Product groups that run at this level.
    pub groups: Vec<usize>,
    /// Softmax and reduction nodes that run at this level.
    pub vector_ops: Vec<NodeId>,
    /// Element-wise loops of this level.
    pub passes: Vec<Pass>,
}

/// The plan of a step.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Product groups.
    pub groups: Vec<Group>,
    /// Storage blocks, in storage order.
    pub blocks: Vec<Block>,
    /// Where each parameter lives.
    pub views: Vec<ParamView>,
    /// Per-step buffers.
    pub slots: Vec<Slot>,
    /// Where each node's value lives, if it is stored.
    pub loc: Vec<Option<Loc>>,
    /// The level of each node.
    pub level: Vec<usize>,
    /// Phases by level.
    pub phases: Vec<Phase>,
    /// Activations kept for the backward pass in the place of a product
    /// they consume: `(activation, product)` (see `kept`, the function that
    /// finds them).
    pub kept: Vec<(NodeId, NodeId)>,
}

// ANCHOR: plan
/// Plans a checked graph.
pub fn plan(g: &Graph) -> Plan {
    let live = g.live();
    let mut groups = group_products(g, &live);
    let level = levels(g, &live, &mut groups);
    let (blocks, views) = storage(g, &mut groups);
    let mut slots: Vec<Slot> = groups
        .iter()
        .enumerate()
        .map(|(k, gr)| Slot {
            rows: gr.rows.clone(),
            kind: SlotKind::Group(k),
        })
        .collect();
    for (k, gr) in groups.iter_mut().enumerate() {
        gr.slot = k;
    }
    let loc = locations(g, &live, &groups, &level, &mut slots);
    let phases = phases(g, &live, &groups, &level, &loc);
    let kept = kept(g, &live, &loc);
    Plan {
        groups,
        blocks,
        views,
        slots,
        loc,
        level,
        phases,
        kept,
    }
}
// ANCHOR_END: plan

/// The activations whose values the forward pass keeps for the backward,
/// each in the place of a product it alone consumes: `f(p + ...)` where `f`
/// has a derivative in terms of its value (`sigmoid`, `tanh`, `exp`,
/// `sqrt`, and every activation chosen at run time), `p` is a product held
/// in a slot, and `p` and every sum between it and `f` have no other use. Once the activation has been computed,
/// nothing reads the product again, so the forward pass writes the
/// activation over it, and the backward pass reads it there instead of
/// computing the function again. The sums in between become dead code
/// there (the gradient of a sum needs no values). The numbers are the same:
/// the backward reads exactly what the forward computed.
fn kept(g: &Graph, live: &[bool], loc: &[Option<Loc>]) -> Vec<(NodeId, NodeId)> {
    let mut uses = vec![0usize; g.nodes.len()];
    for (id, node) in g.nodes.iter().enumerate() {
        if live[id] {
            for a in node.op.args() {
                uses[a] += 1;
            }
        }
    }
    for root in g.roots() {
        uses[root] += 1;
    }
    let mut taken = vec![false; g.nodes.len()];
    let mut kept = Vec::new();
    for (id, node) in g.nodes.iter().enumerate() {
        let Op::Func(Func::Sigmoid | Func::Tanh | Func::Exp | Func::Sqrt | Func::Dyn(_), arg) =
            node.op
        else {
            continue;
        };
        if !live[id] {
            continue;
        }
        let mut todo = vec![arg];
        while let Some(x) = todo.pop() {
            if uses[x] != 1 {
                continue;
            }
            match &g.nodes[x].op {
                Op::Binary(Bin::Add, a, b) => todo.extend([*b, *a]),
                Op::MatMul(..)
                    if !taken[x]
                        && matches!(loc[x], Some(Loc::Slot(..)))
                        && g.len_of(x).is_some()
                        && g.len_of(x) == g.len_of(id) =>
                {
                    taken[x] = true;
                    kept.push((id, x));
                    break;
                }
                _ => {}
            }
        }
    }
    kept
}

fn is_elementwise(op: &Op) -> bool {
    matches!(op, Op::Binary(..) | Op::Neg(_) | Op::Func(..))
}

/// Softmax and the reductions: operations over a whole vector per example.
pub fn is_vector_op(op: &Op) -> bool {
    matches!(op, Op::Softmax(_) | Op::Reduce(..))
}

/// The parts of an operand: the items of a stack, or the node itself.
pub fn parts(g: &Graph, node: NodeId) -> Vec<NodeId> {
    match &g.nodes[node].op {
        Op::Stack(items) => items.clone(),
        _ => vec![node],
    }
}

fn group_products(g: &Graph, live: &[bool]) -> Vec<Group> {
    let mut by_operand: BTreeMap<NodeId, usize> = BTreeMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (id, node) in g.nodes.iter().enumerate() {
        let Op::MatMul(param, operand) = node.op else {
            continue;
        };
        if !live[id] {
            continue;
        }
        let k = *by_operand.entry(operand).or_insert_with(|| {
            groups.push(new_group(g, operand));
            groups.len() - 1
        });
        let rows = node
            .shape
            .vector_len()
            .cloned()
            .unwrap_or(Affine::constant(0));
        groups[k].members.push(Member {
            node: id,
            param,
            row_off: Affine::constant(0),
            rows,
            stacked: false,
        });
    }
    groups
}

fn new_group(g: &Graph, operand: NodeId) -> Group {
    let parts = match &g.nodes[operand].op {
        Op::Stack(items) => items.clone(),
        _ => vec![operand],
    };
    let mut col = Affine::constant(0);
    let components = parts
        .into_iter()
        .map(|node| {
            let len = g.len_of(node).cloned().unwrap_or(Affine::constant(0));
            let c = Component {
                node,
                col_off: col.clone(),
                len: len.clone(),
                hoisted: g.nodes[node].op == Op::Input,
            };
            col = col.add(&len);
            c
        })
        .collect();
    Group {
        operand,
        components,
        members: Vec::new(),
        rows: Affine::constant(0),
        stacked_rows: Affine::constant(0),
        block: None,
        slot: 0,
        level: 0,
    }
}

// ANCHOR: levels
fn levels(g: &Graph, live: &[bool], groups: &mut [Group]) -> Vec<usize> {
    let mut level = vec![0; g.nodes.len()];
    let mut group_of = vec![None; g.nodes.len()];
    for (k, gr) in groups.iter().enumerate() {
        for m in &gr.members {
            group_of[m.node] = Some(k);
        }
    }
    for (id, node) in g.nodes.iter().enumerate() {
        if !live[id] {
            continue;
        }
        let args_max = |ids: &[NodeId]| ids.iter().map(|a| level[*a]).max().unwrap_or(0);
        level[id] = match &node.op {
            Op::MatMul(_, operand) => {
                let parts = match &g.nodes[*operand].op {
                    Op::Stack(items) => items.clone(),
                    _ => vec![*operand],
                };
                let l = args_max(&parts) + 1;
                if let Some(k) = group_of[id] {
                    groups[k].level = l;
                }
                l
            }
            Op::Softmax(x) | Op::Reduce(_, x) => level[*x] + 1,
            op => args_max(&op.args()),
        };
    }
    level
}
// ANCHOR_END: levels

/// Lays out the flat parameter storage: one stacked block per group for the
/// parameters used only in that group, then every other parameter alone.
fn storage(g: &Graph, groups: &mut [Group]) -> (Vec<Block>, Vec<ParamView>) {
    let mut uses = vec![0usize; g.params.len()];
    for gr in groups.iter() {
        for m in &gr.members {
            uses[m.param] += 1;
        }
    }
    let mut blocks = Vec::new();
    let mut views: Vec<Option<ParamView>> = vec![None; g.params.len()];
    for gr in groups.iter_mut() {
        let cols = g.len_of(gr.operand).cloned().unwrap_or(Affine::constant(0));
        gr.members.sort_by_key(|m| uses[m.param] != 1);
        let mut row = Affine::constant(0);
        let block = blocks.len();
        for m in gr.members.iter_mut() {
            m.row_off = row.clone();
            row = row.add(&m.rows);
            m.stacked = uses[m.param] == 1;
            if m.stacked {
                gr.stacked_rows = row.clone();
                views[m.param] = Some(ParamView {
                    block,
                    row_off: m.row_off.clone(),
                    rows: m.rows.clone(),
                    cols: cols.clone(),
                });
            }
        }
        gr.rows = row;
        if gr.members.iter().any(|m| m.stacked) {
            gr.block = Some(block);
            blocks.push(Block {
                rows: gr.stacked_rows.clone(),
                cols,
            });
        }
    }
    for (k, p) in g.params.iter().enumerate() {
        if views[k].is_some() {
            continue;
        }
        let (rows, cols) = match &p.shape {
            Shape::Matrix(r, c) => (r.clone(), c.clone()),
            Shape::Vector(n) => (n.clone(), Affine::constant(1)),
            Shape::Scalar | Shape::PerExample => (Affine::constant(1), Affine::constant(1)),
        };
        views[k] = Some(ParamView {
            block: blocks.len(),
            row_off: Affine::constant(0),
            rows: rows.clone(),
            cols: cols.clone(),
        });
        blocks.push(Block { rows, cols });
    }
    (blocks, views.into_iter().flatten().collect())
}

/// Decides where each node's value is kept.
fn locations(
    g: &Graph,
    live: &[bool],
    groups: &[Group],
    level: &[usize],
    slots: &mut Vec<Slot>,
) -> Vec<Option<Loc>> {
    let mut loc: Vec<Option<Loc>> = vec![None; g.nodes.len()];
    for (id, node) in g.nodes.iter().enumerate() {
        match node.op {
            Op::Input => loc[id] = Some(Loc::Input),
            Op::State(k) => loc[id] = Some(Loc::StatePrev(k)),
            Op::Mask(k) => loc[id] = Some(Loc::Noise(k)),
            _ => {}
        }
    }
    for gr in groups {
        for m in &gr.members {
            loc[m.node] = Some(Loc::Slot(gr.slot, m.row_off.clone()));
        }
    }
    // Roots are stored where they belong, unless they already live somewhere.
    let root_locs = root_locs(g);
    for (node, l) in &root_locs {
        if loc[*node].is_none()
            && (is_elementwise(&g.nodes[*node].op) || is_vector_op(&g.nodes[*node].op))
        {
            loc[*node] = Some(l.clone());
        }
    }
    let needed = needs_store(g, live, groups, level);
    for (id, need) in needed.into_iter().enumerate() {
        if need && loc[id].is_none() {
            let rows = g.len_of(id).cloned().unwrap_or(Affine::constant(0));
            slots.push(Slot {
                rows,
                kind: SlotKind::Node(id),
            });
            loc[id] = Some(Loc::Slot(slots.len() - 1, Affine::constant(0)));
        }
    }
    loc
}

/// The location of every root: next states, then outputs.
fn root_locs(g: &Graph) -> Vec<(NodeId, Loc)> {
    let states = g
        .next_states
        .iter()
        .enumerate()
        .map(|(k, n)| (*n, Loc::StateNext(k)));
    let outputs = g
        .outputs
        .iter()
        .enumerate()
        .map(|(k, o)| (o.node, Loc::Output(k)));
    states.chain(outputs).collect()
}

/// Nodes read outside the pass that computes them: operands of products,
/// arguments of softmaxes and reductions, numbers per example broadcast
/// along vectors, and values read at a later level.
fn needs_store(g: &Graph, live: &[bool], groups: &[Group], level: &[usize]) -> Vec<bool> {
    let mut need = vec![false; g.nodes.len()];
    for gr in groups {
        for c in &gr.components {
            need[c.node] = true;
        }
    }
    for (id, node) in g.nodes.iter().enumerate() {
        if !live[id] {
            continue;
        }
        match &node.op {
            Op::Softmax(x) | Op::Reduce(_, x) => {
                for p in parts(g, *x) {
                    need[p] = true;
                }
                need[id] = true;
            }
            Op::Broadcast(x, _) => need[*x] = true,
            op if is_elementwise(op) => {
                for a in op.args() {
                    if is_elementwise(&g.nodes[a].op) && level[a] != level[id] {
                        need[a] = true;
                    }
                }
            }
            _ => {}
        }
    }
    for (n, node) in need.iter_mut().zip(&g.nodes) {
        *n &= is_elementwise(&node.op) || is_vector_op(&node.op);
    }
    need
}

fn phases(
    g: &Graph,
    live: &[bool],
    groups: &[Group],
    level: &[usize],
    loc: &[Option<Loc>],
) -> Vec<Phase> {
    let top = level.iter().copied().max().unwrap_or(0);
    let mut phases = vec![Phase::default(); top + 1];
    for (k, gr) in groups.iter().enumerate() {
        phases[gr.level].groups.push(k);
    }
    let mut passes: BTreeMap<PassKey, Pass> = BTreeMap::new();
    for (id, node) in g.nodes.iter().enumerate() {
        if !live[id] {
            continue;
        }
        if is_vector_op(&node.op) {
            phases[level[id]].vector_ops.push(id);
        }
        if is_elementwise(&node.op) {
            let pass = pass_for(&mut passes, g, level[id], id);
            pass.nodes.push(id);
            if let Some(l) = &loc[id]
                && !matches!(l, Loc::Input | Loc::StatePrev(_))
            {
                pass.stores.push((id, l.clone()));
            }
        }
    }
    // Roots whose value lives elsewhere are copied in the pass of their level.
    for (node, l) in root_locs(g) {
        if loc[node].as_ref() != Some(&l) {
            pass_for(&mut passes, g, level[node], node)
                .stores
                .push((node, l));
        }
    }
    for ((lvl, ..), pass) in passes {
        phases[lvl].passes.push(pass);
    }
    phases
}

/// Which pass a node belongs to: its level, then numbers per example before
/// vectors, then its length.
pub type PassKey = (usize, bool, Affine);

/// The key of the pass of `node` at `level`.
pub fn pass_key(g: &Graph, level: usize, node: NodeId) -> PassKey {
    let len = g.len_of(node).cloned().unwrap_or(Affine::constant(0));
    (level, !g.per_example(node), len)
}

fn pass_for<'p>(
    passes: &'p mut BTreeMap<PassKey, Pass>,
    g: &Graph,
    level: usize,
    node: NodeId,
) -> &'p mut Pass {
    let key = pass_key(g, level, node);
    let (len, per_example) = (key.2.clone(), !key.1);
    passes.entry(key).or_insert_with(|| Pass {
        len,
        per_example,
        nodes: Vec::new(),
        stores: Vec::new(),
    })
}
