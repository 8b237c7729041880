//! Searching bytes for one byte.
//!
//! memchr's first search on x86-64 asks the CPU which vector instructions
//! it has (std's feature detection: a dozen `cpuid` instructions, each a
//! trap to the hypervisor on a virtual machine, 30–50 µs in all here, 2%
//! of a one-task run). What a short run searches (a record, a command's
//! words, a few bytes of input or output) is short, and a plain loop finds
//! a byte there as fast; memchr takes what is longer, and asks once.

/// Haystacks shorter than this are searched by a loop.
const SHORT: usize = 64;

/// The first `needle` in `hay`.
pub(crate) fn find(needle: u8, hay: &[u8]) -> Option<usize> {
    if hay.len() < SHORT {
        hay.iter().position(|&b| b == needle)
    } else {
        memchr::memchr(needle, hay)
    }
}

/// Calls `f` with the position of each `needle` in `hay`, in order.
pub(crate) fn each(needle: u8, hay: &[u8], mut f: impl FnMut(usize)) {
    if hay.len() < SHORT {
        hay.iter()
            .enumerate()
            .filter(|&(_, &b)| b == needle)
            .for_each(|(at, _)| f(at));
    } else {
        memchr::memchr_iter(needle, hay).for_each(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways give memchr's answers, on either side of the threshold.
    #[test]
    fn short_and_long_haystacks_give_memchrs_answers() {
        for len in [0, 1, 2, SHORT - 1, SHORT, SHORT + 1, 1000] {
            let hay: Vec<u8> = (0..len)
                .map(|i| if i % 7 == 3 { b'\n' } else { b'a' + (i % 5) as u8 })
                .collect();
            for needle in [b'\n', b'a', b'e', b'z'] {
                assert_eq!(
                    find(needle, &hay),
                    memchr::memchr(needle, &hay),
                    "len {len} needle {needle}"
                );
                let mut found = Vec::new();
                each(needle, &hay, |at| found.push(at));
                let expected: Vec<usize> = memchr::memchr_iter(needle, &hay).collect();
                assert_eq!(found, expected, "len {len} needle {needle}");
            }
        }
    }
}
