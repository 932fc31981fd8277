// rayon-demo/src/mergesort/mod.rs, rayon's code, copied from the
// rayon-rs/rayon repository at commit c4dac9f82ee03f61e855075b668229a9e4d759ad
// with only `rayon::` -> `backend::` changed. Included (`include!`, not a
// module of its own) into a module that says which library `backend` is: `use
// corepool as backend;` in tests/par_rayon_demos_port.rs, both `rayon` and
// `corepool` in bench/examples/demos_ratio.rs.
use std::mem::MaybeUninit;
use std::slice;

pub fn merge_sort<T: Ord + Send + Copy>(v: &mut [T]) {
    let n = v.len();
    let mut buf: Vec<MaybeUninit<T>> = Vec::with_capacity(n);
    // SAFETY: MaybeUninit can be uninitialized
    unsafe {
        buf.set_len(n);
    }
    rsort(v, &mut buf[..]);
}

// Values from manual tuning gigasort on one machine.
const SORT_CHUNK: usize = 32 * 1024;
const MERGE_CHUNK: usize = 64 * 1024;

fn as_uninit_slice<T: Copy>(slice: &[T]) -> &[MaybeUninit<T>] {
    let len = slice.len();
    // SAFETY: MaybeUninit is transparent to T, and we're only dealing with T: Copy
    unsafe { slice::from_raw_parts(slice.as_ptr().cast(), len) }
}

fn as_uninit_slice_mut<T: Copy>(slice: &mut [T]) -> &mut [MaybeUninit<T>] {
    let len = slice.len();
    // SAFETY: MaybeUninit is transparent to T, and we're only dealing with T: Copy
    unsafe { slice::from_raw_parts_mut(slice.as_mut_ptr().cast(), len) }
}

unsafe fn slice_assume_init_mut<T>(slice: &mut [MaybeUninit<T>]) -> &mut [T] {
    let len = slice.len();
    unsafe { slice::from_raw_parts_mut(slice.as_mut_ptr().cast(), len) }
}

// Sort src, possibly making use of identically sized buf.
fn rsort<T: Ord + Send + Copy>(src: &mut [T], buf: &mut [MaybeUninit<T>]) {
    if src.len() <= SORT_CHUNK {
        src.sort();
        return;
    }

    // Sort each half into half of the buffer.
    let mid = src.len() / 2;
    let (sa, sb) = src.split_at_mut(mid);
    let (bufa, bufb) = buf.split_at_mut(mid);
    let (sorta, sortb) = backend::join(|| rsort_into(sa, bufa), || rsort_into(sb, bufb));

    // Merge the buffer halves back into the original.
    rmerge(sorta, sortb, as_uninit_slice_mut(src));
}

// Sort src, putting the result into dest.
fn rsort_into<'dest, T: Ord + Send + Copy>(
    src: &mut [T],
    dest: &'dest mut [MaybeUninit<T>],
) -> &'dest mut [T] {
    let mid = src.len() / 2;
    let (s1, s2) = src.split_at_mut(mid);
    {
        // Sort each half.
        let (d1, d2) = dest.split_at_mut(mid);
        backend::join(|| rsort(s1, d1), || rsort(s2, d2));
    }

    // Merge the halves into dest.
    rmerge(s1, s2, dest);
    unsafe { slice_assume_init_mut(dest) }
}

// Merge sorted inputs a and b, putting result in dest.
//
// Note: `a` and `b` have type `&mut [T]` and not `&[T]` because we do
// not want to require a `T: Sync` bound. Using `&mut` references
// proves to the compiler that we are not sharing `a` and `b` across
// threads and thus we only need a `T: Send` bound.
fn rmerge<T: Ord + Send + Copy>(a: &mut [T], b: &mut [T], dest: &mut [MaybeUninit<T>]) {
    // Swap so a is always longer.
    let (a, b) = if a.len() > b.len() { (a, b) } else { (b, a) };
    if dest.len() <= MERGE_CHUNK {
        seq_merge(a, b, dest);
        return;
    }

    // Find the middle element of the longer list, and
    // use binary search to find its location in the shorter list.
    let ma = a.len() / 2;
    let mb = match b.binary_search(&a[ma]) {
        Ok(i) => i,
        Err(i) => i,
    };

    let (a1, a2) = a.split_at_mut(ma);
    let (b1, b2) = b.split_at_mut(mb);
    let (d1, d2) = dest.split_at_mut(ma + mb);
    backend::join(|| rmerge(a1, b1, d1), || rmerge(a2, b2, d2));
}

// Merges sorted a and b into sorted dest.
#[inline(never)]
fn seq_merge<T: Ord + Copy>(a: &[T], b: &[T], dest: &mut [MaybeUninit<T>]) {
    if b.is_empty() {
        dest.copy_from_slice(as_uninit_slice(a));
        return;
    }
    let biggest = Ord::max(*a.last().unwrap(), *b.last().unwrap());
    let mut ai = a.iter();
    let mut an = *ai.next().unwrap();
    let mut bi = b.iter();
    let mut bn = *bi.next().unwrap();
    for d in dest.iter_mut() {
        if an < bn {
            *d = MaybeUninit::new(an);
            an = match ai.next() {
                Some(x) => *x,
                None => biggest,
            }
        } else {
            *d = MaybeUninit::new(bn);
            bn = match bi.next() {
                Some(x) => *x,
                None => biggest,
            }
        }
    }
}

pub fn seq_merge_sort<T: Ord + Copy>(v: &mut [T]) {
    let n = v.len();
    let mut buf: Vec<MaybeUninit<T>> = Vec::with_capacity(n);
    // SAFETY: MaybeUninit can be uninitialized
    unsafe {
        buf.set_len(n);
    }
    seq_sort(v, &mut buf[..]);
}

// Sort src, possibly making use of identically sized buf.
fn seq_sort<T: Ord + Copy>(src: &mut [T], buf: &mut [MaybeUninit<T>]) {
    if src.len() <= SORT_CHUNK {
        src.sort();
        return;
    }

    // Sort each half into half of the buffer.
    let mid = src.len() / 2;
    let (sa, sb) = src.split_at_mut(mid);
    let (bufa, bufb) = buf.split_at_mut(mid);
    let (sorta, sortb) = (seq_sort_into(sa, bufa), seq_sort_into(sb, bufb));

    // Merge the buffer halves back into the original.
    seq_merge(sorta, sortb, as_uninit_slice_mut(src));
}

// Sort src, putting the result into dest.
fn seq_sort_into<'dest, T: Ord + Copy>(
    src: &mut [T],
    dest: &'dest mut [MaybeUninit<T>],
) -> &'dest mut [T] {
    let mid = src.len() / 2;
    let (s1, s2) = src.split_at_mut(mid);
    {
        // Sort each half.
        let (d1, d2) = dest.split_at_mut(mid);
        seq_sort(s1, d1);
        seq_sort(s2, d2);
    }

    // Merge the halves into dest.
    seq_merge(s1, s2, dest);
    unsafe { slice_assume_init_mut(dest) }
}

pub fn is_sorted<T: Send + Ord>(v: &mut [T]) -> bool {
    let n = v.len();
    if n <= SORT_CHUNK {
        for i in 1..n {
            if v[i - 1] > v[i] {
                return false;
            }
        }
        return true;
    }

    let mid = n / 2;
    if v[mid - 1] > v[mid] {
        return false;
    }
    let (a, b) = v.split_at_mut(mid);
    let (left, right) = backend::join(|| is_sorted(a), || is_sorted(b));
    left && right
}
