//! `use corepool::prelude::*;` for rayon's entry points.

pub use crate::par::{
    IntoParallelIterator, IntoParallelRefIterator, IntoParallelRefMutIterator, ParallelSlice,
    ParallelSliceMut,
};
