//! small workloads for Miri (`cargo +nightly miri test --test
//! miri_smoke`) exercising the raw-pointer paths: stolen join halves,
//! scope latches freed right after the last decrement, detach racing
//! completion, foreign submits into a worker-owned scope, shutdown_now.
mod common;
use corepool::{Pinning, Pool};
use std::sync::mpsc::channel;

fn pool(n: usize) -> Pool {
    Pool::builder()
        .workers(n)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

#[test]
fn miri_join_stolen_half() {
    let pool = pool(2);
    let r = pool.install(|| {
        let mut v = vec![1u32, 2, 3, 4];
        let (a, b) = v.split_at_mut(2);
        pool.join(
            || {
                // Spin a little so the other worker becomes hungry and steals.
                for _ in 0..200 {
                    std::thread::yield_now();
                }
                a.iter_mut().for_each(|x| *x += 1)
            },
            || b.iter_mut().for_each(|x| *x += 1),
        );
        v
    });
    assert_eq!(r, vec![2, 3, 4, 5]);
}

#[test]
fn miri_scope_last_decrement_then_free() {
    let pool = pool(2);
    for _ in 0..3 {
        let mut data = [0u8; 4];
        pool.scope(|s| {
            for x in data.iter_mut() {
                let _ = s.submit(move || *x = 1);
            }
            s.spawn(|_| ());
        });
        assert_eq!(data, [1; 4]);
    }
}

#[test]
fn miri_worker_owned_scope_with_foreign_submits() {
    let pool = pool(1);
    let p = pool.clone();
    let t = pool.submit(move || {
        let mut n = 0u32;
        p.scope(|s| {
            std::thread::scope(|ts| {
                ts.spawn(|| {
                    let _ = s.submit(|| 1u32);
                    s.spawn(|_| ());
                });
            });
            n += 1;
        });
        n
    });
    assert_eq!(t.join().unwrap(), 1);
}

#[test]
fn miri_detach_and_waiters() {
    let pool = pool(2);
    let (tx, rx) = channel::<()>();
    let t = pool.submit(move || {
        rx.recv().unwrap();
        vec![1u8; 3]
    });
    let t = std::sync::Arc::new(t);
    let t2 = t.clone();
    let w = std::thread::spawn(move || t2.wait_timeout(std::time::Duration::from_secs(100)));
    tx.send(()).unwrap();
    assert!(w.join().unwrap());
    drop(t);
    let d = pool.submit(|| String::from("x"));
    drop(d);
    pool.shutdown();
}

#[test]
fn miri_shutdown_now_with_queued_work() {
    let pool = pool(1);
    let (tx, rx) = channel::<()>();
    let (started_tx, started) = channel::<()>();
    let blocker = pool.submit(move || {
        started_tx.send(()).unwrap();
        rx.recv().unwrap()
    });
    started.recv().unwrap();
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i)).collect();
    pool.spawn(|| ());
    let p = pool.clone();
    let h = std::thread::spawn(move || p.shutdown_now());
    while !pool.is_shutdown() {
        std::thread::yield_now();
    }
    tx.send(()).unwrap();
    let _ = h.join().unwrap();
    blocker.join().unwrap();
    for q in queued {
        let _ = q.join();
    }
}

#[test]
fn miri_map_reuses_buffers_of_heap_values() {
    // Chunks of two, a window of two: the values buffers and the input
    // buffers go round several times, holding heap values; one item panics
    // (caught, then iteration goes on) and the map is dropped half read.
    let pool = pool(2);
    let f = |s: String| {
        assert!(s != "5", "item 5 panics");
        s + "!"
    };
    let mut out = pool
        .map((0..12).map(|i| i.to_string()), f)
        .chunk_size(2)
        .window(2);
    for i in 0..8 {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| out.next())) {
            Ok(value) => assert_eq!(value, Some(format!("{i}!"))),
            Err(_) => assert_eq!(i, 5),
        }
    }
    drop(out);
    pool.shutdown();
}
