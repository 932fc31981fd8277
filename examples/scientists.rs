//! Immutable records mapped to name and age with `Pool::map`, printed as a
//! table.
//!
//! Mirrors Dan Bader's Real Python example ("Parallel computing in Python
//! in 60 seconds"): a tuple of `Scientist` namedtuples, a `process_item`
//! that returns the name and the age, and `multiprocessing.Pool().map`. The
//! tutorial computes ages for 2017; pass another year to change that.
//!
//! usage: `cargo run --release --example scientists -- [YEAR]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, secs, timed};

const USAGE: &str = "scientists [YEAR]   (ages in YEAR, default 2017 as in the tutorial)";

/// One immutable record, like the tutorial's `collections.namedtuple`.
#[derive(Debug, Clone, Copy)]
struct Scientist {
    name: &'static str,
    born: i32,
}

const SCIENTISTS: [Scientist; 7] = [
    Scientist {
        name: "Ada Lovelace",
        born: 1815,
    },
    Scientist {
        name: "Emmy Noether",
        born: 1882,
    },
    Scientist {
        name: "Marie Curie",
        born: 1867,
    },
    Scientist {
        name: "Tu Youyou",
        born: 1930,
    },
    Scientist {
        name: "Ada Yonath",
        born: 1939,
    },
    Scientist {
        name: "Vera Rubin",
        born: 1928,
    },
    Scientist {
        name: "Sally Ride",
        born: 1951,
    },
];

/// The tutorial's `process_item`: a record in, a new (name, age) out.
fn process_item(item: Scientist, year: i32) -> (&'static str, i32) {
    (item.name, year - item.born)
}

fn main() {
    let mut args = Args::parse(USAGE);
    let year: i32 = args.next_or("YEAR", 2017);
    args.check((1951..=9999).contains(&year), "YEAR must be in 1951..=9999");
    args.finish();

    let pool = common::pool();
    common::banner(&pool);
    // `map` keeps input order, like `multiprocessing.Pool.map`.
    let (rows, took) = timed(|| {
        pool.map(SCIENTISTS, move |s| process_item(s, year))
            .collect::<Vec<_>>()
    });

    println!("{:<14} {:>4}", "name", "age");
    println!("{:-<14} {:->4}", "", "");
    for (name, age) in &rows {
        println!("{name:<14} {age:>4}");
    }
    println!("{} records mapped in {}", rows.len(), secs(took));
}
