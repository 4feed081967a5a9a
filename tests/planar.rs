//! The course's planar classifier (its practicals), reproduced: the costs it
//! printed every 1,000 iterations, its accuracy and its hidden-size sweep.
//! Iterations 0 to 7,000 match to 1e-6. After about 7,000 iterations the
//! learning rate of 1.2 makes the run amplify rounding, so 8,000 and 9,000
//! can only match to about 2e-4, and the sweep's 20- and 50-unit accuracies
//! only within the range that 1-ulp changes of the start give (90.0–90.75).

#[path = "../examples/planar.rs"]
#[allow(dead_code)]
mod planar;

#[test]
fn costs_and_accuracy_match_the_course() {
    let printed = [
        0.693048, 0.288083, 0.254385, 0.233864, 0.226792, 0.222644, 0.219731, 0.217504, 0.219454,
        0.218607,
    ];
    let (cell, costs) = planar::train(4, 10_000).unwrap();
    assert_eq!(costs.len(), 10);
    for (k, (c, p)) in costs.iter().zip(printed).enumerate() {
        let tolerance = if k <= 7 { 1e-6 } else { 2e-4 };
        assert!(
            (c - p).abs() < tolerance,
            "iteration {}: {c} vs the course's {p}",
            k * 1000
        );
    }
    let accuracy = planar::accuracy(&cell).unwrap();
    assert!((90.0..91.0).contains(&accuracy), "{accuracy}");
}

#[test]
fn the_hidden_size_sweep_matches_the_course() {
    for (n_h, printed) in [(1, 67.5), (2, 67.25), (3, 90.75), (4, 90.5), (5, 91.25)] {
        let (cell, _) = planar::train(n_h, 5000).unwrap();
        assert_eq!(
            planar::accuracy(&cell).unwrap(),
            printed,
            "{n_h} hidden units"
        );
    }
    for n_h in [20, 50] {
        let (cell, _) = planar::train(n_h, 5000).unwrap();
        let a = planar::accuracy(&cell).unwrap();
        assert!((90.0..=90.75).contains(&a), "{n_h} hidden units: {a}");
    }
}
