//! Whether two sets of argument comparisons can match the same call (precedence rule 5).
//! Exact for EQ/NE/LT/LE/GT/GE; MASKED_EQ is decided where it is simple and otherwise
//! assumed to overlap, so a doubt gives an error, never a silent choice.

use super::types::{ArgCond, CmpOp};

/// Whether some call satisfies both `a` (ANDed) and `b` (ANDed).
pub(crate) fn may_overlap(a: &[ArgCond], b: &[ArgCond]) -> bool {
    (0..=5u8).all(|index| {
        let on_index: Vec<ArgCond> = (a.iter().chain(b))
            .filter(|c| c.index == index)
            .copied()
            .collect();
        satisfiable(&on_index)
    })
}

/// Whether one 64-bit value satisfies every comparison (all on the same argument).
pub(crate) fn satisfiable(conds: &[ArgCond]) -> bool {
    let (mut lo, mut hi) = (0u64, u64::MAX);
    let mut not_equal = Vec::new();
    let mut masked = Vec::new();
    for c in conds {
        let v = c.value;
        match c.op {
            CmpOp::Eq => (lo, hi) = (lo.max(v), hi.min(v)),
            CmpOp::Le => hi = hi.min(v),
            CmpOp::Ge => lo = lo.max(v),
            CmpOp::Lt => match v.checked_sub(1) {
                Some(below) => hi = hi.min(below),
                None => return false,
            },
            CmpOp::Gt => match v.checked_add(1) {
                Some(above) => lo = lo.max(above),
                None => return false,
            },
            CmpOp::Ne => not_equal.push(v),
            CmpOp::MaskedEq => masked.push((c.value, c.value_two)),
        }
    }
    if lo > hi {
        return false;
    }
    // (x & mask) == datum never holds when datum has bits outside the mask.
    if masked.iter().any(|&(mask, datum)| datum & !mask != 0) {
        return false;
    }
    for (i, &(m1, d1)) in masked.iter().enumerate() {
        if masked[..i].iter().any(|&(m2, d2)| d1 & m2 != d2 & m1) {
            return false;
        }
    }
    if lo == hi {
        return !not_equal.contains(&lo) && masked.iter().all(|&(m, d)| lo & m == d);
    }
    if !masked.is_empty() {
        return true; // a range and a mask: assume they meet
    }
    not_equal.sort_unstable();
    not_equal.dedup();
    let excluded = not_equal.iter().filter(|&&v| lo <= v && v <= hi).count() as u128;
    excluded < u128::from(hi - lo) + 1
}
