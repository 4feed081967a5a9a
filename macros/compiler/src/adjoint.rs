//! Differentiation: reverse mode over the step's graph. For each node it
//! decides where its adjoint (the gradient of the loss with respect to its
//! value) is accumulated. The backward of a step then runs level by level in
//! reverse: each element-wise pass recomputes its forward values from the
//! stored pre-activations and propagates adjoints to its arguments in one
//! loop; products propagate through the stacked transposed weights; weight
//! gradients are one product per operand part over all steps.

use crate::graph::{Graph, NodeId, Op};
use crate::plan::{Loc, PassKey, Plan, is_vector_op, parts, pass_key};
use crate::shape::Affine;
use std::collections::BTreeMap;

// ANCHOR: adj
/// Where the adjoint of a node is accumulated during a step's backward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Adj {
    /// Nothing to accumulate (a constant, a mask or a stack).
    None,
    /// A local of the node's own pass: all its consumers are in that pass.
    Local,
    /// Per-step scratch buffer `k`.
    Scratch(usize),
    /// Rows from `offset` of product group `g`'s pre-activation gradient.
    Group(usize, Affine),
    /// The gradient of the input.
    Input,
    /// The gradient of state `k` before the step.
    StatePrev(usize),
    /// The gradient of vector parameter `k`.
    Param(usize),
}
// ANCHOR_END: adj

/// An element-wise loop of the backward: one level, one length.
#[derive(Clone, Debug)]
pub struct BackPass {
    /// The loop's length.
    pub len: Affine,
    /// Whether its nodes are numbers per example (it runs after the vector
    /// passes of its level and the sums of their broadcasts).
    pub per_example: bool,
    /// Element-wise nodes of the pass, in forward order.
    pub nodes: Vec<NodeId>,
    /// Roots of this level and length, with the location of their upstream gradient.
    pub roots: Vec<(NodeId, Loc)>,
}

/// The backward plan of a step.
#[derive(Clone, Debug)]
pub struct BackPlan {
    /// Where each node's adjoint lives.
    pub adj: Vec<Adj>,
    /// Rows of each per-step scratch buffer.
    pub scratch: Vec<Affine>,
    /// Backward passes, by level.
    pub passes: Vec<Vec<BackPass>>,
    /// By level, the broadcasts whose adjoints are summed into the number
    /// they repeat, after the vector passes of the level.
    pub broadcasts: Vec<Vec<NodeId>>,
}

fn is_elementwise(op: &Op) -> bool {
    matches!(op, Op::Binary(..) | Op::Neg(_) | Op::Func(..))
}

// ANCHOR: differentiate
/// Differentiates a planned graph.
pub fn differentiate(g: &Graph, p: &Plan) -> BackPlan {
    let live = g.live();
    let outside = consumed_outside_pass(g, &live, p);
    let mut scratch = Vec::new();
    let mut adj = vec![Adj::None; g.nodes.len()];
    for (k, gr) in p.groups.iter().enumerate() {
        for m in &gr.members {
            adj[m.node] = Adj::Group(k, m.row_off.clone());
        }
    }
    let grad = g.differentiable();
    for (id, node) in g.nodes.iter().enumerate() {
        if !live[id] || !grad[id] {
            continue;
        }
        adj[id] = match &node.op {
            Op::Input => Adj::Input,
            Op::State(k) => Adj::StatePrev(*k),
            Op::Param(k) => Adj::Param(*k),
            Op::MatMul(..) => continue,
            op if is_vector_op(op) => new_scratch(g, id, &mut scratch),
            Op::Broadcast(..) => new_scratch(g, id, &mut scratch),
            op if is_elementwise(op) && outside[id] => new_scratch(g, id, &mut scratch),
            op if is_elementwise(op) => Adj::Local,
            _ => Adj::None,
        };
    }
    let passes = back_passes(g, &live, p);
    let top = p.level.iter().copied().max().unwrap_or(0);
    let mut broadcasts = vec![Vec::new(); top + 1];
    for (id, node) in g.nodes.iter().enumerate() {
        if live[id] && matches!(node.op, Op::Broadcast(..)) {
            broadcasts[p.level[id]].push(id);
        }
    }
    BackPlan {
        adj,
        scratch,
        passes,
        broadcasts,
    }
}
// ANCHOR_END: differentiate

fn new_scratch(g: &Graph, id: NodeId, scratch: &mut Vec<Affine>) -> Adj {
    scratch.push(g.len_of(id).cloned().unwrap_or(Affine::constant(0)));
    Adj::Scratch(scratch.len() - 1)
}

/// Whether each node is read outside its own element-wise pass: by a
/// product, a softmax, a reduction, a broadcast, or an element-wise node of
/// another level.
fn consumed_outside_pass(g: &Graph, live: &[bool], p: &Plan) -> Vec<bool> {
    let mut outside = vec![false; g.nodes.len()];
    for (id, node) in g.nodes.iter().enumerate() {
        if !live[id] {
            continue;
        }
        match &node.op {
            Op::MatMul(_, x) => match &g.nodes[*x].op {
                Op::Stack(items) => items.iter().for_each(|i| outside[*i] = true),
                _ => outside[*x] = true,
            },
            Op::Softmax(x) | Op::Reduce(_, x) => {
                parts(g, *x).into_iter().for_each(|i| outside[i] = true)
            }
            Op::Broadcast(x, _) => outside[*x] = true,
            op if is_elementwise(op) => {
                for a in op.args() {
                    if p.level[a] != p.level[id] {
                        outside[a] = true;
                    }
                }
            }
            _ => {}
        }
    }
    outside
}

fn back_passes(g: &Graph, live: &[bool], p: &Plan) -> Vec<Vec<BackPass>> {
    let order: Vec<NodeId> = (0..g.nodes.len())
        .filter(|&id| live[id] && is_elementwise(&g.nodes[id].op))
        .collect();
    let mut passes: BTreeMap<PassKey, BackPass> = BTreeMap::new();
    for id in order {
        pass_at(&mut passes, g, p.level[id], id).nodes.push(id);
    }
    let roots = g
        .next_states
        .iter()
        .enumerate()
        .map(|(k, n)| (*n, Loc::StateNext(k)))
        .chain(
            g.outputs
                .iter()
                .enumerate()
                .map(|(k, o)| (o.node, Loc::Output(k))),
        );
    for (node, loc) in roots {
        pass_at(&mut passes, g, p.level[node], node)
            .roots
            .push((node, loc));
    }
    let top = p.level.iter().copied().max().unwrap_or(0);
    let mut out = vec![Vec::new(); top + 1];
    for ((level, ..), pass) in passes {
        out[level].push(pass);
    }
    out
}

fn pass_at<'a>(
    passes: &'a mut BTreeMap<PassKey, BackPass>,
    g: &Graph,
    level: usize,
    node: NodeId,
) -> &'a mut BackPass {
    let key = pass_key(g, level, node);
    let (len, per_example) = (key.2.clone(), !key.1);
    passes.entry(key).or_insert_with(|| BackPass {
        len,
        per_example,
        nodes: Vec::new(),
        roots: Vec::new(),
    })
}
