//! Reviewed snapshots of the backward equations the compiler derives for the
//! cells, as plain text and LaTeX. A change to the differentiator shows here.

use cellforge::prelude::*;

#[test]
fn rnn_backward_equations() {
    insta::assert_snapshot!(format!(
        "{}\n{}",
        Rnn::<f64>::BACKWARD,
        Rnn::<f64>::BACKWARD_LATEX
    ));
}

#[test]
fn lstm_backward_equations() {
    insta::assert_snapshot!(format!(
        "{}\n{}",
        Lstm::<f64>::BACKWARD,
        Lstm::<f64>::BACKWARD_LATEX
    ));
}

#[test]
fn gru_backward_equations() {
    insta::assert_snapshot!(format!(
        "{}\n{}",
        Gru::<f64>::BACKWARD,
        Gru::<f64>::BACKWARD_LATEX
    ));
}

/// Reductions: the gradients of `mean`, `var` and `sqrt`, and the sums of
/// the broadcasts of numbers per example.
#[test]
fn layer_norm_lstm_backward_equations() {
    use cellforge::cells::layer_norm_lstm::LayerNormLstm;
    insta::assert_snapshot!(LayerNormLstm::<f64>::BACKWARD);
}

/// DropConnect: the products read `u ⊙ m`, and the gradient of `u` is masked.
#[test]
fn weight_drop_lstm_backward_equations() {
    use cellforge::cells::weight_drop_lstm::WeightDropLstm;
    insta::assert_snapshot!(WeightDropLstm::<f64>::BACKWARD);
}

/// Zoneout: the masks take no gradient, and the previous states get one
/// through the kept units.
#[test]
fn zoneout_lstm_backward_equations() {
    use cellforge::cells::zoneout_lstm::ZoneoutLstm;
    insta::assert_snapshot!(ZoneoutLstm::<f64>::BACKWARD);
}

#[test]
fn declared_equations_are_kept() {
    assert!(Lstm::<f64>::EQUATIONS.contains("c = f * c + i * c_tilde;"));
    assert_eq!(
        Lstm::<f64>::EQUATIONS,
        <Lstm<f64> as Cell<f64>>::SPEC.equations
    );
}

/// The book shows derived equations by line range: a whole plain-text part
/// (from line 5 to the line before the LaTeX), or lines that are each an
/// equation, which must still be the ones the chapter discusses.
#[test]
fn the_book_s_excerpts_of_the_equations_are_whole_equations() {
    let mut seen = 0;
    for entry in std::fs::read_dir("book/src").unwrap() {
        let path = entry.unwrap().path();
        let chapter = std::fs::read_to_string(&path).unwrap_or_default();
        for part in chapter.split("tests/snapshots/equations__").skip(1) {
            let include = part.split("}}").next().unwrap_or_default();
            let (name, range) = include.split_once(".snap:").expect("a line range");
            let (a, b) = range.split_once(':').expect("a line range");
            let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
            let text = std::fs::read_to_string(format!("tests/snapshots/equations__{name}.snap"))
                .expect("the snapshot exists");
            let lines: Vec<&str> = text.lines().collect();
            let excerpt = &lines[a - 1..b];
            let what = format!("{}: {name}:{a}:{b}", path.display());
            for line in excerpt {
                assert!(
                    line.starts_with('d') && (line.contains(" = ") || line.contains(" += ")),
                    "{what}: `{line}` is not an equation"
                );
            }
            if a == 5 {
                let next = lines[b..].iter().find(|l| !l.is_empty()).copied();
                let next = next.unwrap_or_default();
                assert!(
                    next.starts_with("\\delta"),
                    "{what} stops before the LaTeX: `{next}`"
                );
            }
            if name == "layer_norm_lstm_backward_equations" {
                assert!(excerpt[0].starts_with("d(mean(c)) = "), "{what}");
                assert!(excerpt[1].starts_with("dc = "), "{what}");
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 4, "the book's excerpts of derived equations");
}
