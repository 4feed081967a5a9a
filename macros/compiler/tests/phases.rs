//! Each phase on small exact cases: parsing and precedence, lowering with
//! shared sub-expressions, and the fusion plan.

use cellforge_compiler::compile;
use cellforge_compiler::graph::Op;
use quote::quote;

fn messages(tokens: proc_macro2::TokenStream) -> Vec<String> {
    match compile(tokens) {
        Ok(_) => Vec::new(),
        Err((e, _)) => e.messages(),
    }
}

#[test]
fn matmul_binds_tighter_than_elementwise_product() {
    let c = compile(quote! {
        cell P { dims n; input x: [n]; state h: [n]; param w: [n, n];
                 h = h * w @ x; }
    })
    .expect("compiles");
    let g = &c.graph;
    let root = g.next_states[0];
    let Op::Binary(_, lhs, rhs) = g.nodes[root].op else {
        panic!("a product")
    };
    assert_eq!(g.nodes[lhs].op, Op::State(0));
    assert!(matches!(g.nodes[rhs].op, Op::MatMul(0, _)));
}

#[test]
// ANCHOR: shared
fn shared_subexpressions_are_one_node() {
    let c = compile(quote! {
        cell S { dims n; input x: [n]; state h: [n]; param w: [n, n];
                 h = tanh(w @ x) * tanh(w @ x); }
    })
    .expect("compiles");
    let tanhs = c
        .graph
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Func(..)))
        .count();
    assert_eq!(tanhs, 1);
}
// ANCHOR_END: shared

#[test]
fn constants_fold() {
    let c = compile(quote! {
        cell K { dims n; input x: [n]; state h: [n];
                 h = x * (1 - 0.25) + h; }
    })
    .expect("compiles");
    assert!(c.graph.nodes.iter().any(|n| n.op.constant() == Some(0.75)));
}

#[test]
// ANCHOR: lstm_plan
fn lstm_gates_share_one_stacked_product_with_the_input_part_hoisted() {
    let c = compile(quote! {
        cell L { dims n_x, n_a; input x: [n_x]; state a: [n_a], c: [n_a];
            param w_f: [n_a, n_a + n_x], w_i: [n_a, n_a + n_x], w_o: [n_a, n_a + n_x], w_c: [n_a, n_a + n_x];
            let z = [a, x];
            c = sigmoid(w_f @ z) * c + sigmoid(w_i @ z) * tanh(w_c @ z);
            a = sigmoid(w_o @ z) * tanh(c); }
    })
    .expect("compiles");
    let p = &c.plan;
    assert_eq!(p.groups.len(), 1);
    assert_eq!(p.groups[0].members.len(), 4);
    assert!(p.groups[0].members.iter().all(|m| m.stacked));
    let hoisted: Vec<bool> = p.groups[0].components.iter().map(|c| c.hoisted).collect();
    assert_eq!(hoisted, vec![false, true]);
    // One element-wise pass computes every gate and both new states.
    let passes: usize = p.phases.iter().map(|ph| ph.passes.len()).sum();
    assert_eq!(passes, 1);
}
// ANCHOR_END: lstm_plan

#[test]
fn a_parameter_used_with_two_operands_is_not_stacked() {
    let c = compile(quote! {
        cell Shared { dims n; input x: [n]; state h: [n]; param w: [n, n], u: [n, n];
                 h = tanh(w @ x + w @ h + u @ h); }
    })
    .expect("compiles");
    let p = &c.plan;
    let shared: Vec<bool> = p
        .groups
        .iter()
        .flat_map(|g| g.members.iter().map(|m| m.stacked))
        .collect();
    assert_eq!(
        shared.iter().filter(|s| !**s).count(),
        2,
        "w appears in two groups, unstacked"
    );
}

#[test]
fn all_mistakes_of_a_declaration_are_reported() {
    let m = messages(quote! {
        cell Bad { dims n; input x: [n]; state h: [n], g: [n]; param w: [n, n], v: [n];
                   h = sigmod(w @ x) + q; x = h; }
    });
    let joined = m.join("\n");
    for needle in [
        "unknown function `sigmod`",
        "cannot find `q`",
        "cannot assign to `x`",
        "state `g` is never assigned",
        "parameter `v` is declared but never used",
    ] {
        assert!(joined.contains(needle), "missing {needle:?} in\n{joined}");
    }
}

#[test]
fn numbers_per_example_run_before_the_vectors_of_their_level() {
    let c = compile(quote! {
        cell N { dims n; input x: [n]; state h: [n]; param w: [n, n];
                 let z = w @ h + x;
                 h = (z - mean(z)) / sqrt(var(z) + 1); }
    })
    .expect("compiles");
    let (p, b) = (&c.plan, &c.back);
    // Level 1: the product and `z`; level 2: both reductions, then
    // `sqrt(var(z) + 1)` per example, then the vector pass that reads it.
    assert_eq!(p.phases.len(), 3);
    let top = &p.phases[2];
    assert_eq!(top.vector_ops.len(), 2);
    let per_example: Vec<bool> = top.passes.iter().map(|pass| pass.per_example).collect();
    assert_eq!(per_example, vec![true, false]);
    // The backward sums the two broadcasts (of the mean and of the square
    // root) at that level, between the vector pass and the per-example pass.
    assert_eq!(b.broadcasts[2].len(), 2);
    let back: Vec<bool> = b.passes[2].iter().map(|pass| pass.per_example).collect();
    assert_eq!(back, vec![true, false], "both kinds of backward pass exist");
}

#[test]
fn a_misused_mask_is_one_mistake() {
    for body in [
        quote!(h = tanh(w @ x + (h * d) @ x);),
        quote!(h = tanh(w @ x + h * d @ x);),
        quote!(h = tanh(w @ [d]);),
        quote!(h = tanh(w @ x) - mean(d);),
    ] {
        let m = messages(quote! {
            cell M { dims n; input x: [n]; state h: [n]; param w: [n, n];
                     mask d: [n] = dropout(0.5);
                     #body }
        });
        assert_eq!(m.len(), 1, "{body}: {m:?}");
        assert!(m[0].contains("mask"), "{body}: {m:?}");
    }
}
