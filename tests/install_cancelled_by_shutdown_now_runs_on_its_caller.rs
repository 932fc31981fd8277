//! An `install` (or a `join` called from outside the pool, which hops in
//! through `install`) still queued when another thread calls `shutdown_now`
//! runs its closure on its own calling thread, as `Pool::join` documents.
//! Before the fix, `shutdown_now` "cancelled" the queued hop by running the
//! closure itself, on the thread that called `shutdown_now`, inside that
//! call: arbitrary user work in a call documented to cancel what has not
//! started, on a thread the user never gave it to.
mod common;

use std::sync::mpsc::channel;
use std::thread::ThreadId;

use common::{eventually, watchdog};
use corepool::Pool;

#[test]
#[cfg(target_os = "linux")]
fn the_queued_closures_run_on_the_thread_that_called_join() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (started_tx, started) = channel();
        let (release, release_rx) = channel::<()>();
        let blocker = pool.submit(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        started.recv().unwrap();
        // The only worker is busy: the join's hop waits in the injector.
        let joiner_pool = pool.clone();
        let (tid_tx, tid) = channel();
        let joiner = std::thread::spawn(move || {
            let me = std::thread::current().id();
            // "<pid>/task/<tid>": this thread's entry in /proc.
            tid_tx
                .send(std::fs::read_link("/proc/thread-self").unwrap())
                .unwrap();
            let ran_on: (ThreadId, ThreadId) = joiner_pool.join(
                || std::thread::current().id(),
                || std::thread::current().id(),
            );
            (me, ran_on)
        });
        // Nothing on the joiner blocks between that send and the wait inside
        // `join`, after its hop was queued: wait until it sleeps there.
        let stat = std::path::Path::new("/proc")
            .join(tid.recv().unwrap())
            .join("stat");
        eventually(|| {
            let stat = std::fs::read_to_string(&stat).unwrap();
            // The state follows the ")" closing the thread's name.
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('S'))
        });
        let stopper_pool = pool.clone();
        let stopper = std::thread::spawn(move || {
            let me = std::thread::current().id();
            stopper_pool.shutdown_now();
            me
        });
        // shutdown_now waits for the running task: release it once the
        // joiner has its answer.
        let (me, (a_on, b_on)) = joiner.join().unwrap();
        release.send(()).unwrap();
        let stopper_id = stopper.join().unwrap();
        blocker.join().unwrap();
        assert_ne!(a_on, stopper_id, "a ran inside shutdown_now");
        assert_eq!(
            (a_on, b_on),
            (me, me),
            "the halves ran off the calling thread"
        );
    });
}
