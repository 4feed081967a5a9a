//! The sine-wave RNN learns to predict the next value of `sin(t)`: after 25
//! epochs its validation error is a small fraction of the wave's amplitude.

#[path = "../examples/sine.rs"]
#[allow(dead_code)]
mod sine;

#[test]
fn the_sine_rnn_predicts_the_next_value() {
    let (mut model, history) = sine::train(25).unwrap();
    assert!(
        history.val_loss[24] < history.val_loss[0] / 100.0,
        "{:?}",
        history.val_loss
    );
    let (x, y) = sine::windows(100..150).unwrap();
    let pred = model.predict(&x, 50).unwrap();
    let rmse = ((&pred - &y).map(|d| d * d).sum() / 50.0).sqrt();
    assert!(rmse < 0.05, "validation RMSE {rmse}");
}
