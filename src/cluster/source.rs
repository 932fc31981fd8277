//! What a cluster map reads, [`Items`] that travel as data or [`Indices`] of
//! which only the bounds travel, and how one part of a chunk runs on a
//! rank's pool.

use std::ops::Range;
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ClusterError, Payload, panic_text};
use super::wire::{self, Frames};

/// The input of a cluster map: [`Items`] (from [`Cluster::map`]) or
/// [`Indices`] (from [`Cluster::map_range`]). Sealed: only these two exist.
///
/// ```
/// fn takes_any<S: corepool::cluster::Source>() {}
/// takes_any::<corepool::cluster::Indices>();
/// takes_any::<corepool::cluster::Items<std::vec::IntoIter<String>>>();
/// ```
///
/// [`Cluster::map`]: super::Cluster::map
/// [`Cluster::map_range`]: super::Cluster::map_range
pub trait Source: sealed::Sealed {}

impl<S: sealed::Sealed> Source for S {}

#[allow(unreachable_pub)]
pub(crate) mod sealed {
    use super::Batch;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// The root reads batches; ranks turn values back into items.
    pub trait Sealed {
        /// What the closure takes.
        type Item: Serialize + DeserializeOwned + Send + 'static;
        /// Up to `n` more items; `None` at the end.
        fn take(&mut self, n: usize) -> Option<Batch<Self::Item>>;
        /// Items left, as `Iterator::size_hint`.
        fn remaining(&self) -> (usize, Option<usize>);
        /// The item of an index range's value; `None` when this source
        /// never sends ranges.
        fn from_value(value: u64) -> Option<Self::Item>;
        /// What the source sends, for the map's signature and messages:
        /// a map of items and a map of an index range carry different
        /// chunk bodies, so ranks must not mix them.
        const KIND: &'static str;
    }
}

/// Items from any iterator, read on the root only and sent to the ranks as
/// postcard encodings. Made by [`Cluster::map`](super::Cluster::map).
///
/// ```
/// let source = corepool::cluster::Items::new(vec![1u8, 2, 3]);
/// assert!(format!("{source:?}").starts_with("Items"));
/// ```
#[derive(Debug)]
pub struct Items<I> {
    iter: std::iter::Fuse<I>,
}

impl<I: Iterator> Items<I> {
    /// Wraps an input.
    ///
    /// ```
    /// let source = corepool::cluster::Items::new(["a", "b"].map(String::from));
    /// assert!(format!("{source:?}").starts_with("Items"));
    /// ```
    pub fn new(items: impl IntoIterator<IntoIter = I>) -> Items<I> {
        Items {
            iter: items.into_iter().fuse(),
        }
    }
}

impl<I> sealed::Sealed for Items<I>
where
    I: Iterator,
    I::Item: Serialize + DeserializeOwned + Send + 'static,
{
    const KIND: &'static str = "items";
    type Item = I::Item;

    fn take(&mut self, n: usize) -> Option<Batch<I::Item>> {
        let items: Vec<I::Item> = self.iter.by_ref().take(n).collect();
        (!items.is_empty()).then_some(Batch::Items(items))
    }

    fn remaining(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }

    fn from_value(_: u64) -> Option<I::Item> {
        None
    }
}

/// A range of `u64` values that every rank knows: only the bounds of each
/// chunk travel. Made by [`Cluster::map_range`](super::Cluster::map_range).
///
/// ```
/// let source = corepool::cluster::Indices::new(0..10);
/// assert_eq!(source.len(), 10);
/// ```
#[derive(Debug, Clone)]
pub struct Indices {
    next: u64,
    end: u64,
}

impl Indices {
    /// The values of `range`.
    ///
    /// ```
    /// let source = corepool::cluster::Indices::new(10..15);
    /// assert_eq!(source.len(), 5);
    /// ```
    pub fn new(range: Range<u64>) -> Indices {
        Indices {
            next: range.start,
            end: range.end.max(range.start),
        }
    }

    /// How many values are left.
    ///
    /// ```
    /// assert_eq!(corepool::cluster::Indices::new(5..3).len(), 0);
    /// ```
    pub fn len(&self) -> u64 {
        self.end - self.next
    }

    /// Whether no value is left.
    ///
    /// ```
    /// assert!(corepool::cluster::Indices::new(3..3).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl sealed::Sealed for Indices {
    const KIND: &'static str = "index range";
    type Item = u64;

    fn take(&mut self, n: usize) -> Option<Batch<u64>> {
        let len = (n as u64).min(self.len());
        if len == 0 {
            return None;
        }
        let first = self.next;
        self.next += len;
        Some(Batch::Range(first..first + len))
    }

    fn remaining(&self) -> (usize, Option<usize>) {
        match usize::try_from(self.len()) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }

    fn from_value(value: u64) -> Option<u64> {
        Some(value)
    }
}

/// A chunk of input on the root.
#[derive(Debug)]
#[allow(unreachable_pub)]
pub enum Batch<X> {
    /// Items in memory.
    Items(Vec<X>),
    /// Values of an index range.
    Range(Range<u64>),
}

impl<X> Batch<X> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Batch::Items(items) => items.len(),
            Batch::Range(r) => (r.end - r.start) as usize,
        }
    }

    /// Cuts the batch into `parts` contiguous parts of near-equal length
    /// (fewer if it is shorter), for the root's own pool.
    pub(crate) fn split(self, parts: usize) -> Vec<PartInput<X>> {
        let len = self.len();
        let parts = parts.clamp(1, len.max(1));
        let bounds = |p: usize| part_bound(len, p, parts);
        match self {
            Batch::Range(r) => (0..parts)
                .map(|p| {
                    PartInput::Range(r.start + bounds(p) as u64..r.start + bounds(p + 1) as u64)
                })
                .collect(),
            Batch::Items(mut items) => {
                let mut out = Vec::with_capacity(parts);
                for p in (0..parts).rev() {
                    out.push(PartInput::Local(items.split_off(bounds(p))));
                }
                out.reverse();
                out
            }
        }
    }

    /// Bytes to reserve for the body of its `CHUNK` message: the first
    /// value of a range, a guess of 8 per item otherwise (the vector grows
    /// past it if need be).
    pub(crate) fn body_hint(&self) -> usize {
        match self {
            Batch::Range(_) => 8,
            Batch::Items(items) => items.len().saturating_mul(8),
        }
    }

    /// The body of a `CHUNK` message: item frames, or the first value.
    pub(crate) fn encode(&self, out: &mut Vec<u8>)
    where
        X: Serialize,
    {
        match self {
            Batch::Range(r) => out.extend_from_slice(&r.start.to_le_bytes()),
            Batch::Items(items) => {
                let mut scratch = Vec::new();
                for item in items {
                    wire::put_value(out, &mut scratch, item, wire::ITEM_ENCODE);
                }
            }
        }
    }
}

/// Where part `p` of `parts` of `len` items starts: `len * p / parts`,
/// without overflow for any length.
fn part_bound(len: usize, p: usize, parts: usize) -> usize {
    (len as u128 * p as u128 / parts as u128) as usize
}

/// The items of one part of a chunk.
#[derive(Debug)]
pub(crate) enum PartInput<X> {
    /// Items in memory (the root's own parts).
    Local(Vec<X>),
    /// Values of an index range.
    Range(Range<u64>),
    /// `count` item frames as they arrived (a rank's parts).
    Frames { bytes: Vec<u8>, count: usize },
}

impl<X> PartInput<X> {
    /// Cuts the body of a `CHUNK` message of `len` items into up to `parts`
    /// parts. `is_range` says whether the map's items are index values.
    pub(crate) fn split_message(
        body: &[u8],
        len: usize,
        parts: usize,
        is_range: bool,
    ) -> Vec<Self> {
        let parts = parts.clamp(1, len.max(1));
        let bounds = |p: usize| part_bound(len, p, parts);
        if is_range {
            let first = body
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map_or(u64::MAX - len as u64, u64::from_le_bytes);
            return (0..parts)
                .map(|p| PartInput::Range(first + bounds(p) as u64..first + bounds(p + 1) as u64))
                .collect();
        }
        let mut frames = Frames::new(body);
        let mut out = Vec::with_capacity(parts);
        for p in 0..parts {
            let count = bounds(p + 1) - bounds(p);
            let from = frames.position();
            for _ in 0..count {
                if frames.next().is_none() {
                    break;
                }
            }
            out.push(PartInput::Frames {
                bytes: body[from..frames.position()].to_vec(),
                count,
            });
        }
        out
    }

    fn len(&self) -> usize {
        match self {
            PartInput::Local(items) => items.len(),
            PartInput::Range(r) => (r.end - r.start) as usize,
            PartInput::Frames { count, .. } => *count,
        }
    }
}

/// Why an item never reached the closure: a frame status and a message.
type ItemFail = (u8, String);

/// The items of a part, decoded one at a time.
fn part_items<S: sealed::Sealed>(
    input: PartInput<S::Item>,
) -> impl Iterator<Item = Result<S::Item, ItemFail>> {
    enum It<X> {
        Local(std::vec::IntoIter<X>),
        Range(Range<u64>),
        Frames {
            bytes: Vec<u8>,
            pos: usize,
            left: usize,
        },
    }
    let mut it = match input {
        PartInput::Local(items) => It::Local(items.into_iter()),
        PartInput::Range(r) => It::Range(r),
        PartInput::Frames { bytes, count } => It::Frames {
            bytes,
            pos: 0,
            left: count,
        },
    };
    std::iter::from_fn(move || match &mut it {
        It::Local(items) => items.next().map(Ok),
        It::Range(r) => r.next().map(|v| {
            S::from_value(v).ok_or_else(|| {
                (
                    wire::ITEM_DECODE,
                    "an index range arrived for a map whose items travel as data".to_owned(),
                )
            })
        }),
        It::Frames { bytes, pos, left } => {
            if *left == 0 {
                return None;
            }
            *left -= 1;
            let mut frames = Frames::new(&bytes[*pos..]);
            let frame = frames.next();
            *pos += frames.position();
            Some(match frame {
                Some(Ok((wire::OK, body))) => match contained(|| postcard::from_bytes(body)) {
                    Ok(item) => item.map_err(|err| (wire::ITEM_DECODE, err.to_string())),
                    Err(message) => Err((
                        wire::ITEM_DECODE,
                        format!("the item's Deserialize panicked: {message}"),
                    )),
                },
                Some(Ok((wire::ITEM_ENCODE, body))) => Err((
                    wire::ITEM_ENCODE,
                    String::from_utf8_lossy(body).into_owned(),
                )),
                Some(Ok((status, _))) => Err((
                    wire::ITEM_DECODE,
                    format!("unknown item frame status {status}"),
                )),
                Some(Err(())) | None => Err((
                    wire::ITEM_DECODE,
                    "the chunk message was cut short".to_owned(),
                )),
            })
        }
    })
}

/// Calls `f` on `item`, turning a panic into its message. The payload is
/// dropped inside `catch_unwind` too: its destructor may panic, and then the
/// second payload is leaked, never dropped (its destructor could panic
/// again), as `crate::unwind::drop_payload` does in the core.
fn call<X, T>(f: &impl Fn(X) -> T, item: X) -> Result<T, String> {
    contained(|| f(item))
}

/// Runs `f`, turning a panic into its message, the payload dropped as in
/// [`call`]: for the user's code a rank runs outside the closure (the
/// item's `Deserialize`, the result's `Serialize` and `Drop`), where a
/// panic would end the part's task without its frames and leave the chunk,
/// and the job, waiting forever.
fn contained<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    crate::unwind::halt_unwinding(f).map_err(|payload| {
        let message = panic_text(payload.as_ref());
        crate::unwind::drop_payload(payload);
        message
    })
}

/// What a rank's part hands its communication thread: the result frames of
/// `count` items and the time they took.
#[derive(Debug)]
pub(crate) struct EncodedPart {
    pub(crate) frames: Vec<u8>,
    pub(crate) busy_ns: u64,
}

/// Runs one part on a rank: every item through `f`, each outcome as a frame.
pub(crate) fn run_encoded<S, F, T>(f: &F, input: PartInput<S::Item>) -> EncodedPart
where
    S: sealed::Sealed,
    F: Fn(S::Item) -> T,
    T: Serialize,
{
    let start = Instant::now();
    let mut frames = Vec::with_capacity(input.len() * 8);
    let mut scratch = Vec::new();
    for item in part_items::<S>(input) {
        match item {
            Ok(item) => match call(f, item) {
                Ok(value) => {
                    match contained(|| wire::encode_into(&value, &mut scratch)) {
                        Ok(Ok(())) => wire::put_frame(&mut frames, wire::OK, &scratch),
                        Ok(Err(err)) => wire::put_frame(
                            &mut frames,
                            wire::RESULT_ENCODE,
                            err.to_string().as_bytes(),
                        ),
                        Err(message) => wire::put_frame(
                            &mut frames,
                            wire::RESULT_ENCODE,
                            format!("the result's Serialize panicked: {message}").as_bytes(),
                        ),
                    }
                    // The result has its frame: a panic in its Drop is
                    // contained and otherwise ignored.
                    crate::unwind::drop_contained(value);
                }
                Err(message) => wire::put_frame(&mut frames, wire::PANICKED, message.as_bytes()),
            },
            Err((status, message)) => wire::put_frame(&mut frames, status, message.as_bytes()),
        }
    }
    EncodedPart {
        frames,
        busy_ns: start.elapsed().as_nanos() as u64,
    }
}

/// What the root's own part hands back: one outcome per item.
#[derive(Debug)]
pub(crate) struct LocalPart<T> {
    pub(crate) outcomes: Vec<Result<T, ClusterError>>,
    pub(crate) busy_ns: u64,
}

/// Runs one part on the root's pool; `first` is the index of its first item.
pub(crate) fn run_local<S, F, T>(f: &F, input: PartInput<S::Item>, first: u64) -> LocalPart<T>
where
    S: sealed::Sealed,
    F: Fn(S::Item) -> T,
{
    let start = Instant::now();
    let mut outcomes = Vec::with_capacity(input.len());
    for (i, item) in part_items::<S>(input).enumerate() {
        let index = first + i as u64;
        outcomes.push(match item {
            Ok(item) => call(f, item).map_err(|message| ClusterError::Panicked {
                index,
                rank: 0,
                message,
            }),
            Err((status, message)) => Err(frame_error(status, message, index, 0)),
        });
    }
    LocalPart {
        outcomes,
        busy_ns: start.elapsed().as_nanos() as u64,
    }
}

/// The error a failure frame stands for.
pub(crate) fn frame_error(status: u8, message: String, index: u64, rank: usize) -> ClusterError {
    match status {
        wire::PANICKED => ClusterError::Panicked {
            index,
            rank,
            message,
        },
        wire::RESULT_ENCODE => ClusterError::Encode {
            what: Payload::Result,
            index,
            rank,
            message,
        },
        // The root encodes items; the error is the root's.
        wire::ITEM_ENCODE => ClusterError::Encode {
            what: Payload::Item,
            index,
            rank: 0,
            message,
        },
        wire::ITEM_DECODE => ClusterError::Decode {
            what: Payload::Item,
            index,
            rank,
            message,
        },
        other => ClusterError::Decode {
            what: Payload::Result,
            index,
            rank,
            message: format!("unknown result frame status {other}: {message}"),
        },
    }
}

/// Decodes the result frame of item `index` from `rank`.
pub(crate) fn decode_result<T: DeserializeOwned>(
    frame: Option<Result<(u8, &[u8]), ()>>,
    index: u64,
    rank: usize,
) -> Result<T, ClusterError> {
    match frame {
        Some(Ok((wire::OK, body))) => {
            postcard::from_bytes(body).map_err(|err| ClusterError::Decode {
                what: Payload::Result,
                index,
                rank,
                message: err.to_string(),
            })
        }
        Some(Ok((status, body))) => Err(frame_error(
            status,
            String::from_utf8_lossy(body).into_owned(),
            index,
            rank,
        )),
        Some(Err(())) | None => Err(ClusterError::Decode {
            what: Payload::Result,
            index,
            rank,
            message: "the result message was cut short".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::Sealed;
    use super::*;

    #[test]
    fn a_range_batch_splits_into_contiguous_parts() {
        let mut source = Indices::new(10..17);
        let batch = source.take(100).unwrap();
        let parts = batch.split(3);
        let ranges: Vec<_> = parts
            .into_iter()
            .map(|p| match p {
                PartInput::Range(r) => r,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ranges, vec![10..12, 12..14, 14..17]);
        assert!(source.take(1).is_none());
    }

    #[test]
    fn encoded_items_round_trip_through_a_rank_part() {
        let mut source = Items::new(vec![3u32, 4, 5, 6, 7]);
        let batch = source.take(5).unwrap();
        let mut body = Vec::new();
        batch.encode(&mut body);
        let parts = PartInput::<u32>::split_message(&body, 5, 2, false);
        assert_eq!(parts.len(), 2);
        let square = |x: u32| {
            assert!(x != 6, "six");
            u64::from(x * x)
        };
        let mut results = Vec::new();
        let mut index = 0;
        for part in parts {
            let out = run_encoded::<Items<std::vec::IntoIter<u32>>, _, _>(&square, part);
            let mut frames = Frames::new(&out.frames);
            loop {
                let frame = frames.next();
                if frame.is_none() {
                    break;
                }
                results.push(decode_result::<u64>(frame, index, 1));
                index += 1;
            }
        }
        assert_eq!(results.len(), 5);
        assert_eq!(results[0].as_ref().unwrap(), &9);
        assert_eq!(results[4].as_ref().unwrap(), &49);
        let err = results[3].as_ref().unwrap_err();
        assert_eq!(
            (err.index(), err.rank(), err.panic_message()),
            (Some(3), Some(1), Some("six"))
        );
    }

    #[test]
    fn a_cut_chunk_is_an_item_decode_error_per_missing_item() {
        let mut body = Vec::new();
        Batch::Items(vec![1u8, 2]).encode(&mut body);
        let parts = PartInput::<u8>::split_message(&body[..body.len() - 1], 2, 1, false);
        let out = run_encoded::<Items<std::vec::IntoIter<u8>>, _, _>(
            &|x: u8| x,
            parts.into_iter().next().unwrap(),
        );
        let frames: Vec<_> = Frames::new(&out.frames).map(|f| f.unwrap().0).collect();
        assert_eq!(frames, vec![wire::OK, wire::ITEM_DECODE]);
    }
}
