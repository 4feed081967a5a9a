//! A save killed at any point leaves a whole file: the one it replaces or
//! the one it writes, never a mixture, and never a file that loads with
//! wrong values. A child process saves a large checkpoint over and over
//! and is killed with SIGKILL at random moments; after each kill the file
//! must load, pass its checksum and hold one save's values throughout.

use cellforge::interop::{NamedArray, Weights};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Set in the child: the path it saves to, again and again.
const CHILD: &str = "CELLFORGE_CRASH_CHILD";

/// Set in the child: the round, so that each round's saves hold values of
/// their own (`1000 · round + 1`, `+ 2`, …).
const ROUND: &str = "CELLFORGE_CRASH_ROUND";

/// Values in each save: 8 MB of `f64`, so that a save takes long enough to
/// be killed in the middle.
const VALUES: usize = 1 << 20;

/// A checkpoint every value of which is `fill`.
fn checkpoint(fill: f64) -> Weights {
    let mut w = Weights::new();
    w.push(
        NamedArray::new(
            "layer/w",
            vec![1024, VALUES / 1024],
            vec![fill; VALUES],
            "float64",
        )
        .unwrap(),
    )
    .unwrap();
    w
}

/// The one value a loaded checkpoint holds everywhere; a panic if it holds
/// two (a save that was cut short) or has another shape.
fn fill_of(path: &Path, round: usize) -> f64 {
    let w = Weights::read_safetensors(path)
        .unwrap_or_else(|e| panic!("after kill {round} the checkpoint does not load: {e}"));
    let a = w.get("layer/w").expect("the tensor is there");
    assert_eq!(a.shape, vec![1024, VALUES / 1024], "after kill {round}");
    let first = a.data[0];
    assert!(
        a.data.iter().all(|&v| v == first),
        "after kill {round} the checkpoint mixes two saves"
    );
    first
}

#[test]
fn a_save_killed_at_random_points_leaves_the_old_file_or_the_new_one() {
    if let Ok(path) = std::env::var(CHILD) {
        // The child: save forever, each save with the next value.
        let round: f64 = std::env::var(ROUND).unwrap().parse().unwrap();
        let mut fill = 1000.0 * round + 1.0;
        loop {
            checkpoint(fill)
                .write_safetensors(&path)
                .expect("the child's save");
            fill += 1.0;
        }
    }
    let dir = std::env::temp_dir().join(format!("cellforge-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("checkpoint.safetensors");
    checkpoint(0.0).write_safetensors(&path).unwrap();
    let exe = std::env::current_exe().unwrap();
    // A fixed sequence of waits from 1 to 120 ms (a linear congruential
    // generator), so that a failure can be run again.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut seen = vec![0.0];
    for round in 0..50 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "a_save_killed_at_random_points_leaves_the_old_file_or_the_new_one",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &path)
            .env(ROUND, round.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        std::thread::sleep(Duration::from_millis(1 + (state >> 33) % 120));
        child.kill().unwrap();
        child.wait().unwrap();
        let fill = fill_of(&path, round);
        // The file holds the last save that completed: the one before this
        // round's child, or one of this round's.
        let last = *seen.last().unwrap();
        let this_round = 1000.0 * round as f64;
        assert!(
            fill == last || (fill > this_round && fill < this_round + 1000.0),
            "after kill {round} the file holds {fill}, neither the last save ({last}) nor one of this round's"
        );
        if !seen.contains(&fill) {
            seen.push(fill);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // The kills were not all before the first save ended: some rounds
    // replaced the file (each round's saves hold values of their own), so
    // the test saw the renames as well as the cuts.
    assert!(
        seen.len() > 1,
        "no save of 50 rounds completed before its kill: {:?}",
        seen
    );
}

#[test]
fn a_flipped_byte_in_a_saved_file_is_an_error_not_a_wrong_weight() {
    let dir = std::env::temp_dir().join(format!("cellforge-flip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("weights.safetensors");
    let mut w = Weights::new();
    w.push(
        NamedArray::new(
            "w",
            vec![2, 3],
            vec![0.5, -1.0, 2.0, 3.0, 4.0, 5.0],
            "float32",
        )
        .unwrap(),
    )
    .unwrap();
    w.write_safetensors(&path).unwrap();
    let whole = Weights::read_safetensors(&path).unwrap();
    assert_eq!(whole.get("w").unwrap().data, w.get("w").unwrap().data);
    // The last byte is the high byte of the last value: 5.0 becomes another
    // finite number, which only the checksum can tell.
    let mut bytes = std::fs::read(&path).unwrap();
    *bytes.last_mut().unwrap() ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let err = Weights::read_safetensors(&path).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        err.contains("weights.safetensors") && err.contains("checksum") && err.contains("damaged"),
        "{err}"
    );
}
