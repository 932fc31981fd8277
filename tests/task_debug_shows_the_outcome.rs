//! A handle's `Debug` says how its task ended: `returned` and `panicked` are
//! told apart (both printed `Complete` before), as are `cancelled`,
//! `stopped` and `refused`, and a live task is `scheduled` or `running`.
mod common;

use std::sync::mpsc::channel;
use std::time::Duration;

use common::watchdog;
use corepool::Pool;

fn state_of(debug: String) -> String {
    let start = debug.find("state: ").expect("a state field") + "state: ".len();
    debug[start..]
        .trim_end_matches(" }")
        .trim_end_matches('}')
        .trim()
        .to_owned()
}

#[test]
fn debug_names_every_outcome() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();

        let (started_tx, started) = channel();
        let (release, hold) = channel::<()>();
        let busy = pool.submit(move || {
            started_tx.send(()).unwrap();
            hold.recv().unwrap();
        });
        started.recv().unwrap();
        assert_eq!(state_of(format!("{busy:?}")), "running");
        let queued = pool.submit(|| 1);
        assert_eq!(state_of(format!("{queued:?}")), "scheduled");
        assert!(queued.cancel());
        assert_eq!(state_of(format!("{queued:?}")), "cancelled");
        release.send(()).unwrap();
        assert!(busy.wait_timeout(Duration::from_secs(60)));
        assert_eq!(state_of(format!("{busy:?}")), "returned");

        let fine = pool.submit(|| 7);
        assert!(fine.wait_timeout(Duration::from_secs(60)));
        let panicked = pool.submit(|| -> u8 { panic!("expected in this test") });
        assert!(panicked.wait_timeout(Duration::from_secs(60)));
        assert_eq!(state_of(format!("{fine:?}")), "returned");
        assert_eq!(state_of(format!("{panicked:?}")), "panicked");

        let (started_tx, started) = channel();
        let stopping = pool.submit(move || {
            started_tx.send(()).unwrap();
            while !corepool::is_cancelled() {
                std::hint::spin_loop();
            }
        });
        started.recv().unwrap();
        assert!(!stopping.cancel());
        assert!(stopping.wait_timeout(Duration::from_secs(60)));
        assert_eq!(state_of(format!("{stopping:?}")), "stopped");

        pool.scope(|s| {
            let scoped = s.submit(|| -> u8 { panic!("expected in this test") });
            assert!(scoped.wait_timeout(Duration::from_secs(60)));
            assert_eq!(state_of(format!("{scoped:?}")), "panicked");
            let _ = scoped.join();
        });

        pool.shutdown();
        let refused = pool.submit(|| 0);
        assert_eq!(state_of(format!("{refused:?}")), "refused");
    });
}
