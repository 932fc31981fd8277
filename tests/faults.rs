//! Faults in user code: panics in result destructors, in wakers and in map
//! closures; a task that does not return while the pool is shut down. In
//! each case the outcome is typed and the pool keeps serving.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use common::{Gate, OpenOnDrop, watchdog};
use corepool::{Pool, WaitFor, wait};

/// A result whose destructor panics.
struct PanicOnDrop(Arc<AtomicUsize>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("destructor panicked");
    }
}

#[test]
fn a_panicking_destructor_of_an_uncollected_result_is_contained() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        // Detached before it ran: the worker drops the result.
        let gate = Gate::new();
        let g = gate.clone();
        let blocker = pool.submit(move || g.wait());
        let d = drops.clone();
        drop(pool.submit(move || PanicOnDrop(d)));
        gate.open();
        blocker.join().unwrap();
        // Detached after it finished: the handle's drop drops the result.
        let d = drops.clone();
        let finished = pool.submit(move || PanicOnDrop(d));
        assert!(finished.wait_timeout(Duration::from_secs(30)));
        drop(finished);
        // The worker survived both.
        assert_eq!(pool.submit(|| 5).join().unwrap(), 5);
        pool.shutdown();
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    });
}

struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker panicked");
    }
}

#[test]
fn a_panicking_waker_does_not_hurt_the_worker() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let mut task = pool.submit(move || {
            g.wait();
            11
        });
        let waker = Waker::from(Arc::new(PanickingWaker));
        let mut cx = Context::from_waker(&waker);
        assert!(std::pin::Pin::new(&mut task).poll(&mut cx).is_pending());
        gate.open();
        // The worker calls the waker, which panics; the task still completes.
        assert!(task.wait_timeout(Duration::from_secs(30)));
        match std::pin::Pin::new(&mut task).poll(&mut cx) {
            Poll::Ready(Ok(v)) => assert_eq!(v, 11),
            other => panic!("expected the value, got {other:?}"),
        }
        assert_eq!(pool.submit(|| 6).join().unwrap(), 6);
    });
}

#[test]
fn a_panic_in_a_map_closure_leaves_the_pool_serving() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..5 {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.map(0..100u32, |x| if x == 50 { panic!("map") } else { x })
                    .count()
            }));
            assert!(r.is_err());
        }
        assert_eq!(pool.map(0..100u32, |x| x).count(), 100);
    });
}

#[test]
fn shutdown_now_with_a_task_that_does_not_return_cancels_the_rest_and_waits() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let stuck = pool.submit(move || {
            started_tx.send(()).unwrap();
            g.wait(); // "never" returns, until the test lets it
            "released"
        });
        started_rx.recv().unwrap();
        let queued: Vec<_> = (0..20).map(|i| pool.submit(move || i)).collect();
        let p = pool.clone();
        let (count_tx, count_rx) = std::sync::mpsc::channel();
        let shutter = std::thread::spawn(move || count_tx.send(p.shutdown_now()).unwrap());
        // The queued tasks are cancelled while shutdown_now still waits for
        // the stuck one, and new submissions are refused meanwhile.
        let waited = wait(&queued, WaitFor::AllCompleted, None);
        assert_eq!(waited.done.len(), 20);
        assert!(
            count_rx.try_recv().is_err(),
            "shutdown_now waits for the running task"
        );
        assert!(pool.submit(|| 0).join().unwrap_err().is_shutdown());
        gate.open();
        assert_eq!(count_rx.recv().unwrap(), 20);
        shutter.join().unwrap();
        assert_eq!(stuck.join().unwrap(), "released");
        assert!(
            queued
                .into_iter()
                .all(|t| t.join().unwrap_err().is_cancelled())
        );
    });
}
