//! An item or a result that fails to encode or decode comes back on the
//! root as a typed error naming the item (and the rank); the other items
//! are unharmed and every rank exits 0.
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::{Cluster, ClusterError, Payload};
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An item that refuses to be encoded when it is 13 and to be decoded when
/// it is 7.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Item(u64);

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 13 {
            return Err(S::Error::custom("13 may not travel"));
        }
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u64::deserialize(d)? {
            7 => Err(D::Error::custom("7 is refused on arrival")),
            v => Ok(Item(v)),
        }
    }
}

/// A result that refuses to be encoded when it is 5 and to be decoded when
/// it is 9.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Answer(u64);

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 5 {
            return Err(S::Error::custom("5 may not travel"));
        }
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u64::deserialize(d)? {
            9 => Err(D::Error::custom("9 is refused on arrival")),
            v => Ok(Answer(v)),
        }
    }
}

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
