//! `COREPOOL_WORKERS` and `COREPOOL_PINNING` steer the defaults; bad values
//! are typed errors naming the variable. One test function, because the
//! environment is shared by every thread of this test binary.
mod common;

use common::watchdog;
use corepool::{BuildError, ENV_PINNING, ENV_WORKERS, Pinning, Pool};

fn set(var: &str, value: &str) {
    // SAFETY: this binary has a single test, so no other thread reads or
    // writes the environment while it runs (the pools built here read it on
    // this thread, in `build`).
    unsafe { std::env::set_var(var, value) };
}

fn unset(var: &str) {
    // SAFETY: as in `set`.
    unsafe { std::env::remove_var(var) };
}

#[test]
fn environment_overrides_defaults_and_bad_values_are_errors() {
    watchdog(60, || {
        set(ENV_WORKERS, "3");
        assert_eq!(Pool::new().unwrap().workers(), 3);
        assert_eq!(
            Pool::builder().workers(1).build().unwrap().workers(),
            1,
            "explicit wins"
        );

        // Out of range (a pool supports at most 32,767 workers) or not a
        // number: each is a BadEnv naming the variable, never an error that
        // leaves the reader to guess where the count came from.
        for bad in [
            "0",
            "-1",
            "lots",
            "",
            "100000",
            "32768",
            "99999999999999999999999",
        ] {
            set(ENV_WORKERS, bad);
            match Pool::new().unwrap_err() {
                BuildError::BadEnv { var, value, .. } => {
                    assert_eq!(var, "COREPOOL_WORKERS");
                    assert_eq!(value, bad);
                }
                other => panic!("expected BadEnv for {bad:?}, got {other:?}"),
            }
            let msg = Pool::new().unwrap_err().to_string();
            assert!(msg.contains("COREPOOL_WORKERS"), "{msg}");
            assert!(msg.contains("32767"), "says what is allowed: {msg}");
        }

        let msg = Pool::new().unwrap_err().to_string();
        assert!(msg.contains("COREPOOL_WORKERS"), "{msg}");
        unset(ENV_WORKERS);

        set(ENV_PINNING, "none");
        assert_eq!(Pool::new().unwrap().pinning(), &Pinning::None);
        set(ENV_PINNING, "PHYSICAL");
        let expected = if corepool::topology::PINNING_SUPPORTED {
            Pinning::PhysicalCores
        } else {
            Pinning::None
        };
        assert_eq!(Pool::new().unwrap().pinning(), &expected);
        set(ENV_PINNING, "sideways");
        let err = Pool::new().unwrap_err();
        assert!(
            matches!(
                err,
                BuildError::BadEnv {
                    var: "COREPOOL_PINNING",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("COREPOOL_PINNING"));
        assert_eq!(
            Pool::builder()
                .pinning(Pinning::None)
                .build()
                .unwrap()
                .pinning(),
            &Pinning::None,
            "explicit pinning ignores the bad variable"
        );
        unset(ENV_PINNING);
        assert!(Pool::new().is_ok());
    });
}
