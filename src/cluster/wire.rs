//! Bytes on the wire: the eight messages of the map protocol, the frames that
//! carry items and results, and [`Link`], which sends without ever blocking
//! and waits without spinning a core.
//!
//! # Messages
//!
//! Every message travels on the cluster's own duplicate of `MPI_COMM_WORLD`
//! with one tag, [`TAG`], as a byte buffer whose first byte says its kind.
//! Integers are little-endian and fixed-width in headers (they are few);
//! inside frames, lengths are LEB128 varints (they are many).
//!
//! | kind | direction | body |
//! |---|---|---|
//! | `READY` | rank → root | map sequence number `u64`, signature `u64`, workers `u32`, the map's description: call site file (string), line `u32`, column `u32`, the source's kind (`items` or `index range`), item, result and closure type names (strings) |
//! | `DONE` | rank → root | chunk id `u64`, busy nanoseconds `u64`, result frames |
//! | `GROUP_DONE` | leader → root | chunk id `u64`, busy nanoseconds `u64`, run count `u32`, runs (rank `u32`, items `u32`), result frames: the items of each run in turn ran on that rank (`tree.rs`) |
//! | `STOP_ACK` | rank → root | nothing |
//! | `BYE` | rank → root | maps this rank made `u64` (its `Cluster` is being dropped) |
//! | `CHUNK` | root → rank | chunk id `u64`, first index `u64`, length `u32`, item frames (or the first value `u64` for an index range) |
//! | `STOP` | root → rank | nothing |
//! | `FIN` | root → rank | nothing (every rank said `BYE`: finalise) |
//!
//! A string in a header is a varint length and that many UTF-8 bytes.
//!
//! A frame is one status byte, a varint length and that many bytes: a
//! postcard encoding when the status is [`OK`], otherwise a UTF-8 message.
//!
//! # Sending and waiting
//!
//! A blocking `MPI_Send` of a large buffer waits until the receiver posts a
//! matching receive; two ranks sending large buffers to each other would
//! deadlock. So every send is an `MPI_Isend` whose buffer [`Link`] keeps
//! until `MPI_Test` says it has gone, and every wait polls: a non-blocking
//! matched probe and the local channel, then [`Link::wait`]: a short spin,
//! then parking for an eighth of the time since the last event (at most
//! [`LONGEST_PAUSE`]). Blocking MPI receives busy-poll a core in Open MPI
//! and MPICH; this loop sleeps instead, and a part finishing on the pool
//! unparks it at once.

use std::ffi::{c_int, c_void};
use std::time::{Duration, Instant};

use mpi::ffi;
use mpi::point_to_point::{MatchedReceiveVec as _, Source as _};
use mpi::raw::AsRaw;
use mpi::topology::{Communicator, SimpleCommunicator};

/// The one tag every protocol message carries.
pub(crate) const TAG: i32 = 0x6370;

pub(crate) const READY: u8 = 1;
pub(crate) const DONE: u8 = 2;
pub(crate) const STOP_ACK: u8 = 3;
pub(crate) const BYE: u8 = 4;
pub(crate) const GROUP_DONE: u8 = 5;
pub(crate) const CHUNK: u8 = 10;
pub(crate) const STOP: u8 = 11;
pub(crate) const FIN: u8 = 12;

/// Frame status: the body is a postcard encoding.
pub(crate) const OK: u8 = 0;
/// Result frame: the closure panicked; the body is the message.
pub(crate) const PANICKED: u8 = 1;
/// Result frame: the result could not be encoded; the body is the message.
pub(crate) const RESULT_ENCODE: u8 = 2;
/// Result frame: the item could not be decoded on the rank.
pub(crate) const ITEM_DECODE: u8 = 3;
/// Item frame (and its echo as a result frame): the root could not encode
/// the item; the body is the message.
pub(crate) const ITEM_ENCODE: u8 = 4;

/// How long after an event waiting only spins.
pub(crate) const SPIN: Duration = Duration::from_micros(20);
/// The shortest park.
pub(crate) const FIRST_PAUSE: Duration = Duration::from_micros(5);
/// The longest park. Each wake of a parked thread costs 15 to 45 µs of CPU
/// on the 2-core VM this was measured on (a timer wake-up, one
/// `MPI_Iprobe`): 20 wakes a second keep an idle rank under 1 ms of CPU
/// per second, and an idle rank answers within 50 ms.
pub(crate) const LONGEST_PAUSE: Duration = Duration::from_millis(50);

/// Appends `v` as a LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 varint at `*pos`, advancing it.
pub(crate) fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Appends one frame.
pub(crate) fn put_frame(out: &mut Vec<u8>, status: u8, body: &[u8]) {
    out.push(status);
    put_varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// Encodes `value` with postcard into `scratch` (cleared first).
pub(crate) fn encode_into<T: serde::Serialize>(
    value: &T,
    scratch: &mut Vec<u8>,
) -> Result<(), postcard::Error> {
    /// Lets postcard append to a borrowed vector.
    struct Append<'a>(&'a mut Vec<u8>);
    impl Extend<u8> for Append<'_> {
        fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
            self.0.extend(iter);
        }
    }
    scratch.clear();
    postcard::to_extend(value, Append(scratch)).map(|_| ())
}

/// Appends a frame holding `value`, or a frame with `fail_status` and the
/// codec's message when it cannot be encoded.
pub(crate) fn put_value<T: serde::Serialize>(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    value: &T,
    fail_status: u8,
) {
    match encode_into(value, scratch) {
        Ok(()) => put_frame(out, OK, scratch),
        Err(err) => put_frame(out, fail_status, err.to_string().as_bytes()),
    }
}

/// Reads the frames of a buffer one at a time; `None` at the end, `Some(Err)`
/// once if the buffer is cut short (then `None`).
#[derive(Debug)]
pub(crate) struct Frames<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Frames<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Frames<'a> {
        Frames { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<(u8, &'a [u8]), ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let status = self.buf[self.pos];
        let mut pos = self.pos + 1;
        let frame = get_varint(self.buf, &mut pos)
            .and_then(|len| usize::try_from(len).ok())
            .and_then(|len| Some((len, pos.checked_add(len)?)))
            .filter(|&(_, end)| end <= self.buf.len());
        match frame {
            Some((_, end)) => {
                self.pos = end;
                Some(Ok((status, &self.buf[pos..end])))
            }
            None => {
                self.pos = self.buf.len();
                Some(Err(()))
            }
        }
    }
}

/// Reads fixed-width little-endian header fields.
#[derive(Debug)]
pub(crate) struct Header<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Header<'a> {
    /// A reader past the kind byte.
    pub(crate) fn new(buf: &'a [u8]) -> Header<'a> {
        Header { buf, pos: 1 }
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        let bytes = self.buf.get(self.pos..self.pos + 8)?;
        self.pos += 8;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        let bytes = self.buf.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    }

    /// A string: a varint length and that many bytes (UTF-8, lossily).
    pub(crate) fn str(&mut self) -> Option<String> {
        let mut pos = self.pos;
        let len = usize::try_from(get_varint(self.buf, &mut pos)?).ok()?;
        let bytes = self.buf.get(pos..pos.checked_add(len)?)?;
        self.pos = pos + len;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    /// Everything after the fields read so far.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos.min(self.buf.len())..]
    }
}

/// Appends a header string: a varint length and the bytes.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A `READY` message; the map's description is appended to it.
pub(crate) fn ready(seq: u64, sig: u64, workers: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(128);
    m.push(READY);
    m.extend_from_slice(&seq.to_le_bytes());
    m.extend_from_slice(&sig.to_le_bytes());
    m.extend_from_slice(&workers.to_le_bytes());
    m
}

/// A `BYE` message: this rank made `maps` maps and is finishing.
pub(crate) fn bye(maps: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(9);
    m.push(BYE);
    m.extend_from_slice(&maps.to_le_bytes());
    m
}

/// The header of a `DONE` message; result frames are appended to it.
pub(crate) fn done_header(chunk: u64, busy_ns: u64, capacity: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(17 + capacity);
    m.push(DONE);
    m.extend_from_slice(&chunk.to_le_bytes());
    m.extend_from_slice(&busy_ns.to_le_bytes());
    m
}

/// The header of a `GROUP_DONE` message: a `DONE` for a group's chunk,
/// with the runs of items (rank, count) its members ran, in order; result
/// frames are appended to it.
pub(crate) fn group_done_header(
    chunk: u64,
    busy_ns: u64,
    runs: &[(usize, usize)],
    capacity: usize,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(21 + 8 * runs.len() + capacity);
    m.push(GROUP_DONE);
    m.extend_from_slice(&chunk.to_le_bytes());
    m.extend_from_slice(&busy_ns.to_le_bytes());
    m.extend_from_slice(&(runs.len() as u32).to_le_bytes());
    for &(rank, count) in runs {
        m.extend_from_slice(&(rank as u32).to_le_bytes());
        m.extend_from_slice(&(count as u32).to_le_bytes());
    }
    m
}

/// The header of a `CHUNK` message; item frames (or the first value) are
/// appended to it.
pub(crate) fn chunk_header(chunk: u64, start: u64, len: u32, capacity: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(21 + capacity);
    m.push(CHUNK);
    m.extend_from_slice(&chunk.to_le_bytes());
    m.extend_from_slice(&start.to_le_bytes());
    m.extend_from_slice(&len.to_le_bytes());
    m
}

/// What this rank's communication thread has done since the cluster
/// started; read it with [`Cluster::stats`](super::Cluster::stats).
///
/// ```
/// let stats = corepool::cluster::ClusterStats::default();
/// assert_eq!(stats.messages_sent + stats.parks, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterStats {
    /// Protocol messages sent.
    pub messages_sent: u64,
    /// Protocol messages received.
    pub messages_received: u64,
    /// Bytes in the messages sent.
    pub bytes_sent: u64,
    /// Bytes in the messages received.
    pub bytes_received: u64,
    /// Times the thread parked while it waited (each park is a wake-up
    /// later: what an idle rank costs).
    pub parks: u64,
    /// Time spent in rounds of the protocol that found something to do
    /// (messages, chunks, results), not waiting: on the root, divided by
    /// the chunks, what one chunk costs it.
    pub busy: Duration,
}

/// A send in flight: MPI reads `buf` until `MPI_Test` says it is done.
struct InFlight {
    request: ffi::MPI_Request,
    /// Never touched while the request is pending: MPI reads it.
    buf: Vec<u8>,
}

/// One rank's end of the protocol: its communicator, the sends still in
/// flight, and the pause between polls.
pub(crate) struct Link {
    comm: SimpleCommunicator,
    in_flight: Vec<InFlight>,
    pub(crate) stats: ClusterStats,
    last_event: Instant,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("rank", &self.comm.rank())
            .field("sends_in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl Link {
    pub(crate) fn new(comm: SimpleCommunicator) -> Link {
        Link {
            comm,
            in_flight: Vec::new(),
            stats: ClusterStats::default(),
            last_event: Instant::now(),
        }
    }

    pub(crate) fn comm(&self) -> &SimpleCommunicator {
        &self.comm
    }

    /// Starts sending `buf` to `dest`; it never blocks.
    ///
    /// # Panics
    ///
    /// If `buf` is longer than `i32::MAX` bytes (MPI counts in `int`); the
    /// panic on the cluster's thread aborts the job with that message.
    pub(crate) fn send(&mut self, dest: usize, buf: Vec<u8>) {
        let count = c_int::try_from(buf.len()).unwrap_or_else(|_| {
            panic!(
                "corepool cluster: a message of {} bytes exceeds MPI's limit of 2 GiB; use smaller chunks",
                buf.len()
            )
        });
        let mut flight = InFlight {
            // SAFETY: reading a constant the MPI library exports.
            request: unsafe { ffi::RSMPI_REQUEST_NULL },
            buf,
        };
        // SAFETY: `flight.buf` holds `count` initialised bytes and is kept,
        // unmoved on the heap and unmodified, in `self.in_flight` until
        // MPI_Test reports the request complete (`progress`), or until
        // `Drop` has waited for it. `RSMPI_UINT8_T` matches `u8`. The
        // communicator is valid while `self` lives.
        let rc = unsafe {
            ffi::MPI_Isend(
                flight.buf.as_ptr().cast::<c_void>(),
                count,
                ffi::RSMPI_UINT8_T,
                dest as c_int,
                TAG,
                self.comm.as_raw(),
                &mut flight.request,
            )
        };
        // With MPI_ERRORS_ARE_FATAL (the default) a failed send has already
        // aborted the job; this catches an errhandler someone changed.
        assert_eq!(rc, 0, "corepool cluster: MPI_Isend failed with code {rc}");
        self.stats.messages_sent += 1;
        self.stats.bytes_sent += count as u64;
        self.in_flight.push(flight);
    }

    /// Lets finished sends go; true if any did.
    pub(crate) fn progress(&mut self) -> bool {
        let before = self.in_flight.len();
        self.in_flight.retain_mut(|flight| {
            let mut done: c_int = 0;
            // SAFETY: `flight.request` is a live request from MPI_Isend
            // (completed ones were removed); the status is ignored.
            unsafe {
                ffi::MPI_Test(&mut flight.request, &mut done, ffi::RSMPI_STATUS_IGNORE);
            }
            done == 0
        });
        self.in_flight.len() != before
    }

    /// Whether every send has gone.
    pub(crate) fn all_sent(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// The next message for this rank, if one has arrived: its source and
    /// bytes.
    pub(crate) fn try_recv(&mut self) -> Option<(usize, Vec<u8>)> {
        let matched = self
            .comm
            .any_process()
            .immediate_matched_probe_with_tag(TAG)?;
        let (bytes, status) = matched.matched_receive_vec::<u8>();
        self.stats.messages_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        Some((status.source_rank() as usize, bytes))
    }

    /// Polls until every send has gone.
    pub(crate) fn flush(&mut self) {
        while !self.all_sent() {
            if self.progress() {
                self.event();
            } else {
                self.wait();
            }
        }
    }

    /// Records that something happened: the next waits are short again.
    pub(crate) fn event(&mut self) {
        self.last_event = Instant::now();
    }

    /// Waits a little before the caller polls again; called when a poll
    /// found nothing. For [`SPIN`] after the last event it only spins (a
    /// reply on shared memory takes microseconds); then it parks the thread
    /// for an eighth of the time since the last event, between
    /// [`FIRST_PAUSE`] and [`LONGEST_PAUSE`]: a reply waits at most an
    /// eighth longer than it took, and a thread idle for a while wakes 20
    /// times a second. Work finishing on the pool unparks it at once.
    pub(crate) fn wait(&mut self) {
        let idle = self.last_event.elapsed();
        if idle < SPIN {
            std::hint::spin_loop();
            return;
        }
        self.stats.parks += 1;
        std::thread::park_timeout((idle / 8).clamp(FIRST_PAUSE, LONGEST_PAUSE));
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // A send still in flight owns a buffer MPI reads: wait for each.
        for flight in &mut self.in_flight {
            // SAFETY: as in `progress`; MPI_Wait returns once the buffer is
            // no longer read, before it is freed below.
            unsafe {
                ffi::MPI_Wait(&mut flight.request, ffi::RSMPI_STATUS_IGNORE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            let mut pos = 0;
            assert_eq!(get_varint(&buf, &mut pos), Some(v));
            assert_eq!(pos, buf.len());
        }
        assert_eq!(get_varint(&[0x80], &mut 0), None);
    }

    #[test]
    fn frames_round_trip_and_report_a_cut() {
        let mut buf = Vec::new();
        let mut scratch = Vec::new();
        put_value(&mut buf, &mut scratch, &vec![1u64, 2, 3], RESULT_ENCODE);
        put_frame(&mut buf, PANICKED, b"boom");
        let frames: Vec<_> = Frames::new(&buf).collect();
        assert_eq!(frames.len(), 2);
        let (status, body) = frames[0].unwrap();
        assert_eq!(status, OK);
        assert_eq!(
            postcard::from_bytes::<Vec<u64>>(body).unwrap(),
            vec![1, 2, 3]
        );
        assert_eq!(frames[1], Ok((PANICKED, &b"boom"[..])));
        let cut: Vec<_> = Frames::new(&buf[..buf.len() - 1]).collect();
        assert_eq!(cut.last(), Some(&Err(())));
    }

    #[test]
    fn headers_read_back() {
        let mut m = chunk_header(7, 1 << 40, 9, 0);
        m.extend_from_slice(b"xy");
        let mut h = Header::new(&m);
        assert_eq!(
            (h.u64(), h.u64(), h.u32()),
            (Some(7), Some(1 << 40), Some(9))
        );
        assert_eq!(h.rest(), b"xy");
        assert_eq!(h.u64(), None);
    }

    #[test]
    fn header_strings_read_back_and_a_cut_one_is_none() {
        let mut m = ready(1, 2, 3);
        put_str(&mut m, "src/main.rs");
        put_str(&mut m, "");
        let mut h = Header::new(&m);
        assert_eq!((h.u64(), h.u64(), h.u32()), (Some(1), Some(2), Some(3)));
        assert_eq!(h.str().as_deref(), Some("src/main.rs"));
        assert_eq!(h.str().as_deref(), Some(""));
        assert_eq!(h.str(), None);
        let cut = &m[..m.len() - 3];
        let mut h = Header::new(cut);
        let _ = (h.u64(), h.u64(), h.u32());
        assert_eq!(h.str(), None);
    }
}
