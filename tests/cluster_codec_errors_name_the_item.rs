//! An item or a result that fails to encode or decode comes back on the
//! root as a typed error naming the item (and the rank); the other items
//! are unharmed and every rank exits 0.
#![cfg(feature = "mpi")]

mod cluster_common;

use cluster_common::{Answer, Item};
use corepool::cluster::{Cluster, ClusterError, Payload};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[test]
fn codec_errors_come_back_naming_the_item() {
    for np in [1, 2, 3] {
        let job = cluster_common::child(np, "child_codec", 60);
        assert!(!job.timed_out(), "np={np} hung\n{}", job.all());
        assert_eq!(job.code, Some(0), "np={np}\n{}", job.all());
        assert!(
            job.stdout.contains(&format!("codec ok on {np} ranks")),
            "np={np}\n{}",
            job.all()
        );
    }
}

/// postcard drops the text of a custom serde error ("Serde Serialization
/// Error"), so the check is on the kind, the item and the rank.
fn check(err: &ClusterError, index: u64, encode: bool, what: Payload) {
    match err {
        ClusterError::Encode {
            what: w,
            index: i,
            message,
            ..
        } if encode => {
            assert_eq!((*w, *i), (what, index), "{err}");
            assert!(message.contains("Serializ"), "{err}");
        }
        ClusterError::Decode {
            what: w,
            index: i,
            message,
            rank,
        } if !encode => {
            assert_eq!((*w, *i), (what, index), "{err}");
            assert!(message.contains("Deserializ"), "{err}");
            assert_ne!(
                *rank, 0,
                "{err}: decoded on the root, but the item was run elsewhere"
            );
        }
        other => panic!("item {index}: unexpected {other}"),
    }
    assert!(err.is_codec());
    assert!(
        err.to_string().contains(&format!("{index} could not be")),
        "{err}"
    );
}

#[test]
#[ignore = "a rank of the MPI job started by codec_errors_come_back_naming_the_item"]
fn child_codec() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    let size = cluster.size();
    // The root only feeds, so with two ranks or more every item travels.
    let results: Vec<Result<Answer, ClusterError>> = cluster
        .map((0..20).map(Item), |item: Item| Answer(item.0))
        .root_works(false)
        .collect();
    if cluster.is_root() {
        assert_eq!(results.len(), 20);
        for (i, r) in results.iter().enumerate() {
            let i = i as u64;
            match (size, i) {
                (1, _) => assert_eq!(r.as_ref().unwrap(), &Answer(i), "one rank: nothing travels"),
                (_, 13) => check(r.as_ref().unwrap_err(), 13, true, Payload::Item),
                (_, 7) => check(r.as_ref().unwrap_err(), 7, false, Payload::Item),
                (_, 5) => check(r.as_ref().unwrap_err(), 5, true, Payload::Result),
                (_, 9) => check(r.as_ref().unwrap_err(), 9, false, Payload::Result),
                _ => assert_eq!(r.as_ref().unwrap(), &Answer(i)),
            }
        }
        println!("codec ok on {size} ranks");
    }
}

/// An item whose `Deserialize` panics when it is 3 (on the rank that
/// receives it; the root never decodes items).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Touchy(u64);

impl Serialize for Touchy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Touchy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        assert!(v != 3, "3 panics on arrival");
        Ok(Touchy(v))
    }
}

/// A result whose `Serialize` panics when it is 5, and whose `Drop` panics
/// when it is 6 (after a clean encoding).
#[derive(Debug, PartialEq)]
struct Loud(u64);

impl Serialize for Loud {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        assert!(self.0 != 5, "5 panics on the way out");
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Loud {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Loud(u64::deserialize(d)?))
    }
}

impl Drop for Loud {
    fn drop(&mut self) {
        if self.0 == 6 && !std::thread::panicking() {
            self.0 = 0;
            panic!("6 panics when dropped");
        }
    }
}

/// A panic in the user's `Serialize`, `Deserialize` or `Drop` that a rank
/// runs outside the closure (a result's encoding and drop, an item's
/// decoding) comes back as that item's codec error; it used to end the
/// part's task without its results, and the job waited forever (flat and
/// tree alike).
#[test]
fn panicking_codecs_on_a_rank_come_back_as_the_items_errors() {
    for group in ["0", "2"] {
        let job = cluster_common::child_env(
            3,
            "child_panicking_codecs",
            20,
            &[
                (corepool::cluster::ENV_GROUP, group),
                ("COREPOOL_WORKERS", "1"),
            ],
        );
        assert!(!job.timed_out(), "group {group}: hung\n{}", job.all());
        assert_eq!(job.code, Some(0), "group {group}\n{}", job.all());
        assert!(job.stdout.contains("codecs ok"), "{}", job.all());
    }
}

#[test]
#[ignore = "a rank of the MPI job started by panicking_codecs_on_a_rank_come_back_as_the_items_errors"]
fn child_panicking_codecs() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    let results: Vec<_> = cluster
        .map((0..10).map(Touchy), |t: Touchy| Loud(t.0))
        .root_works(false)
        .collect();
    if cluster.is_root() {
        assert_eq!(results.len(), 10);
        for (i, r) in results.iter().enumerate() {
            let i = i as u64;
            match (i, r) {
                (3, Err(err @ ClusterError::Decode { what, .. })) => {
                    assert_eq!(*what, Payload::Item, "{err}");
                    assert!(err.to_string().contains("3 panics on arrival"), "{err}");
                }
                (5, Err(err @ ClusterError::Encode { what, .. })) => {
                    assert_eq!(*what, Payload::Result, "{err}");
                    assert!(err.to_string().contains("5 panics on the way out"), "{err}");
                }
                (_, Ok(v)) if i != 3 && i != 5 => assert_eq!(v.0, i),
                _ => panic!("item {i}: {r:?}"),
            }
            if let Err(err) = r {
                assert_eq!(err.index(), Some(i), "{err}");
                assert!(matches!(err.rank(), Some(1 | 2)), "{err}");
            }
        }
        // The root drops result 6 here: its panicking Drop is the root's.
        std::mem::forget(results);
        println!("codecs ok");
    }
}
