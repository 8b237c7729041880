//! Per-slot storage that grows with the slots actually used: `--jobs` may be
//! far larger than the slots a run ever starts, so nothing is allocated per
//! slot up front.

use std::ops::Index;
use std::sync::OnceLock;

/// Entries indexed by slot, each created (as `T::default()`) on first use.
/// Storage comes in segments of doubling size, so an entry never moves and
/// a lookup takes no lock. Every segment below the highest one used is
/// created too, so the entries that exist are always `0..len`.
pub struct SlotTable<T> {
    /// Segment k holds entries `2^k - 1 .. 2^(k+1) - 1`.
    segments: Vec<OnceLock<Box<[T]>>>,
}

impl<T: Default> SlotTable<T> {
    pub fn new() -> SlotTable<T> {
        SlotTable {
            segments: (0..usize::BITS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The entry for `index`, created with those below it if need be.
    pub fn get(&self, index: usize) -> &T {
        // usize::MAX has no segment; no run has that many slots.
        let position = index.saturating_add(1);
        let k = (usize::BITS - 1 - position.leading_zeros()) as usize;
        for (j, segment) in self.segments[..k].iter().enumerate() {
            segment.get_or_init(|| Self::fresh(j));
        }
        let segment = self.segments[k].get_or_init(|| Self::fresh(k));
        &segment[position - (1 << k)]
    }

    fn fresh(k: usize) -> Box<[T]> {
        (0..1usize << k).map(|_| T::default()).collect()
    }

    /// Every entry created so far, from index 0.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.segments.iter().map_while(OnceLock::get).flat_map(|s| s.iter())
    }
}

impl<T: Default> Default for SlotTable<T> {
    fn default() -> Self {
        SlotTable::new()
    }
}

impl<T: Default> Index<usize> for SlotTable<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        self.get(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn entries_are_created_on_demand_and_stay_put() {
        let table: SlotTable<AtomicUsize> = SlotTable::new();
        assert_eq!(table.iter().count(), 0);
        table[5].store(55, Ordering::SeqCst);
        // Index 5 is in the segment 3..7; the ones below exist too.
        assert_eq!(table.iter().count(), 7);
        let first: *const AtomicUsize = &table[0];
        table[100].store(1, Ordering::SeqCst);
        assert_eq!(table.iter().count(), 127);
        assert!(std::ptr::eq(first, &table[0]));
        assert_eq!(table[5].load(Ordering::SeqCst), 55);
        let values: Vec<usize> = table.iter().map(|v| v.load(Ordering::SeqCst)).collect();
        assert_eq!(values[5], 55);
        assert_eq!(values[100], 1);
    }

    #[test]
    fn storage_is_at_most_twice_the_highest_index() {
        let table: SlotTable<u8> = SlotTable::new();
        assert_eq!(table[1 << 16], 0);
        assert_eq!(table.iter().count(), (1 << 17) - 1);
    }
}
