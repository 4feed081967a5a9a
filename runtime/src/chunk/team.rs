//! The threads a split run hands its workers' parts to: a small team that
//! waits for work by polling for a while before it sleeps.
//!
//! Waking a sleeping thread can cost tens of microseconds (on a virtual
//! machine a halted CPU waits for its host to schedule it again), as long as
//! a whole forward pass of a small cell. So a member of the team, having
//! finished a part, keeps polling for the next one for [`POLL`], as OpenMP
//! runtimes do, and sleeps only when none came in that time. A run in a
//! training loop or a benchmark finds the team awake and pays about a
//! microsecond to hand over a part.
//!
//! One caller has the team at a time. A run that finds it taken (by a run on
//! another thread, or by the run this one is nested in) gets `false` from
//! [`run`] and uses another pool; which thread computes a part never changes
//! the numbers.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long a member polls for the next part before it sleeps.
const POLL: Duration = Duration::from_millis(2);

/// A part to run: the function every part shares, called with the part's
/// index, and the first panic of a part that panicked.
struct Job {
    /// The caller's function, its lifetime erased: the caller waits for
    /// every part before the function goes out of scope (see [`run`]).
    call: &'static (dyn Fn(usize) + Sync),
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

/// What the caller and one member share.
struct Slot {
    /// The number of the last part handed to the member.
    posted: AtomicUsize,
    /// The number of the last part the member finished.
    finished: AtomicUsize,
    job: AtomicPtr<Job>,
    index: AtomicUsize,
    /// Set by the member before it sleeps, so that a caller wakes it.
    sleeping: AtomicBool,
    thread: OnceLock<Thread>,
}

struct Team {
    slots: Vec<Arc<Slot>>,
    busy: AtomicBool,
    /// The number of the last part handed out; changed only by the caller
    /// that has the team.
    count: AtomicUsize,
}

/// The team: one member per core beyond the caller's, started on first use.
fn team() -> &'static Team {
    static TEAM: OnceLock<Team> = OnceLock::new();
    TEAM.get_or_init(|| {
        let members = super::cores().saturating_sub(1);
        let slots = (0..members)
            .filter_map(|i| {
                let slot = Arc::new(Slot {
                    posted: AtomicUsize::new(0),
                    finished: AtomicUsize::new(0),
                    job: AtomicPtr::new(std::ptr::null_mut()),
                    index: AtomicUsize::new(0),
                    sleeping: AtomicBool::new(false),
                    thread: OnceLock::new(),
                });
                let own = Arc::clone(&slot);
                let handle = std::thread::Builder::new()
                    .name(format!("cellforge-worker-{}", i + 1))
                    .spawn(move || member(&own))
                    .ok()?;
                let _ = slot.thread.set(handle.thread().clone());
                Some(slot)
            })
            .collect();
        Team {
            slots,
            busy: AtomicBool::new(false),
            count: AtomicUsize::new(0),
        }
    })
}

/// A member's life: wait for a part, run it, report it finished.
fn member(slot: &Slot) {
    let mut seen = 0;
    loop {
        let mut since = Instant::now();
        let mut polls = 0u32;
        let number = loop {
            let number = slot.posted.load(Ordering::SeqCst);
            if number != seen {
                break number;
            }
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(64) && since.elapsed() > POLL {
                // Announce the sleep, then look once more: a caller either
                // sees the announcement and wakes this thread, or posted
                // before the look.
                slot.sleeping.store(true, Ordering::SeqCst);
                while slot.posted.load(Ordering::SeqCst) == seen {
                    std::thread::park();
                }
                slot.sleeping.store(false, Ordering::SeqCst);
                since = Instant::now();
                continue;
            }
            std::hint::spin_loop();
        };
        seen = number;
        // SAFETY: the caller posted `job` before `posted` and keeps it
        // alive until this member stores `finished` below.
        let job = unsafe { &*slot.job.load(Ordering::Acquire) };
        let index = slot.index.load(Ordering::Acquire);
        let outcome = catch_unwind(AssertUnwindSafe(|| super::as_worker(|| (job.call)(index))));
        if let Err(payload) = outcome {
            let mut first = job.panic.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert(payload);
        }
        slot.finished.store(number, Ordering::Release);
    }
}

/// Gives the team back when dropped.
struct Held<'a>(&'a AtomicBool);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Runs `f(0)` on this thread and `f(1)` … `f(parts - 1)` on the team's
/// members, all to completion, and returns `true`; or returns `false`
/// without calling `f` when the team is taken or too small. A part's panic
/// is resumed here once every part has finished.
pub(super) fn run(parts: usize, f: &(dyn Fn(usize) + Sync)) -> bool {
    let team = team();
    if parts == 0 || parts - 1 > team.slots.len() {
        return false;
    }
    if team
        .busy
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return false;
    }
    let _held = Held(&team.busy);
    // SAFETY: only the lifetime is erased. Every member that gets the job
    // has stored `finished` before this function returns or unwinds: the
    // wait below runs after this thread's own part, which cannot unwind
    // past it (it runs under `catch_unwind`).
    let call: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(f) };
    let job = Job {
        call,
        panic: Mutex::new(None),
    };
    let number = team.count.load(Ordering::Relaxed).wrapping_add(1).max(1);
    team.count.store(number, Ordering::Relaxed);
    let used = &team.slots[..parts - 1];
    for (i, slot) in used.iter().enumerate() {
        slot.job
            .store(&job as *const Job as *mut Job, Ordering::Relaxed);
        slot.index.store(i + 1, Ordering::Relaxed);
        slot.posted.store(number, Ordering::SeqCst);
        if slot.sleeping.load(Ordering::SeqCst)
            && let Some(thread) = slot.thread.get()
        {
            thread.unpark();
        }
    }
    let own = catch_unwind(AssertUnwindSafe(|| super::as_worker(|| f(0))));
    for slot in used {
        let mut polls = 0u32;
        while slot.finished.load(Ordering::Acquire) != number {
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(1024) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
    if let Err(payload) = own {
        resume_unwind(payload);
    }
    let panic = job.panic.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(payload) = panic {
        resume_unwind(payload);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// Runs `parts` parts through the team, or on this thread where the
    /// team cannot take them, and returns whether the team took them.
    fn record(parts: usize, seen: &[AtomicU64]) -> bool {
        let call = |i: usize| {
            seen[i].fetch_add(1 + i as u64, Ordering::Relaxed);
        };
        let taken = run(parts, &call);
        if !taken {
            (0..parts).for_each(call);
        }
        taken
    }

    #[test]
    fn every_part_runs_once_with_its_index() {
        let parts = team().slots.len() + 1;
        for _ in 0..200 {
            let seen: Vec<AtomicU64> = (0..parts).map(|_| AtomicU64::new(0)).collect();
            record(parts, &seen);
            for (i, s) in seen.iter().enumerate() {
                assert_eq!(s.load(Ordering::Relaxed), 1 + i as u64, "part {i}");
            }
        }
    }

    #[test]
    fn more_parts_than_members_are_refused() {
        let parts = team().slots.len() + 2;
        assert!(!run(parts, &|_| panic!("a refused run calls nothing")));
        assert!(!run(0, &|_| panic!("an empty run calls nothing")));
    }

    #[test]
    fn a_panicking_part_panics_the_caller_and_the_team_goes_on() {
        let parts = team().slots.len() + 1;
        if parts < 2 {
            return;
        }
        let caught = catch_unwind(|| {
            // Without the team (taken by a concurrent test), nothing panics.
            run(parts, &|i| {
                if i == parts - 1 {
                    panic!("part {i} fails");
                }
            })
        });
        match caught {
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_default();
                assert_eq!(message, format!("part {} fails", parts - 1));
            }
            Ok(taken) => assert!(!taken, "a run the team took returned despite a panic"),
        }
        let seen: Vec<AtomicU64> = (0..parts).map(|_| AtomicU64::new(0)).collect();
        record(parts, &seen);
        assert!(seen.iter().all(|s| s.load(Ordering::Relaxed) > 0));
    }

    #[test]
    fn a_nested_run_is_refused_and_concurrent_callers_all_finish() {
        let parts = team().slots.len() + 1;
        let nested = AtomicUsize::new(0);
        let taken = run(parts, &|_| {
            if run(parts, &|_| {}) {
                nested.fetch_add(1, Ordering::Relaxed);
            }
        });
        if taken {
            assert_eq!(nested.load(Ordering::Relaxed), 0, "the team held");
        }
        let total = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        let seen: Vec<AtomicU64> = (0..parts).map(|_| AtomicU64::new(0)).collect();
                        record(parts, &seen);
                        let sum: u64 = seen.iter().map(|v| v.load(Ordering::Relaxed)).sum();
                        total.fetch_add(sum, Ordering::Relaxed);
                    }
                });
            }
        });
        let per_run: u64 = (1..=parts as u64).sum();
        assert_eq!(total.load(Ordering::Relaxed), 400 * per_run);
    }

    #[test]
    fn a_sleeping_member_is_woken() {
        let parts = team().slots.len() + 1;
        std::thread::sleep(POLL * 3);
        let seen: Vec<AtomicU64> = (0..parts).map(|_| AtomicU64::new(0)).collect();
        record(parts, &seen);
        for (i, s) in seen.iter().enumerate() {
            assert_eq!(s.load(Ordering::Relaxed), 1 + i as u64, "part {i}");
        }
    }
}
