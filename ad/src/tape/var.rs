//! The tape variable.

use core::fmt;

use super::{INDEX_BITS, INDEX_MASK};

/// Tag of a constant (no tape entry).
pub(crate) const CONST: u64 = u64::MAX;
/// Tag of a value computed from tape variables while no tape was active.
pub(crate) const ORPHAN: u64 = u64::MAX - 1;

/// A reverse-mode variable: its value and its *tag*, which names the recording that made it
/// (its generation, 36 bits) and its entry index on that recording (28 bits). `Copy`,
/// `'static`, 16 bytes.
///
/// `Var::from(c)` (or [`Scalar::cst`](crate::Scalar::cst)) is a constant: it needs no tape and
/// operations among constants are folded.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Var {
    pub(crate) value: f64,
    /// `generation << 28 | index` for a variable on a tape; [`CONST`] or [`ORPHAN`] otherwise.
    /// A recording with generation `g` owns the tags `g << 28 .. g << 28 + len`, so one
    /// subtraction and one comparison tell whether a variable is one of its entries (see
    /// `TapeData::index_of`).
    pub(crate) tag: u64,
}

const _: () = assert!(core::mem::size_of::<Var>() == 16);

impl Var {
    /// A constant.
    #[inline(always)]
    pub const fn constant(value: f64) -> Self {
        Self { value, tag: CONST }
    }

    /// The variable of entry `index` of the recording whose tags start at `base`
    /// (`generation << 28`).
    #[inline(always)]
    pub(crate) fn on_tape(value: f64, base: u64, index: u32) -> Self {
        Self {
            value,
            tag: base | u64::from(index),
        }
    }

    /// A value computed from tape variables with no tape active: it cannot be differentiated, and
    /// using it in a recording poisons that recording.
    #[inline(always)]
    pub(crate) fn orphan(value: f64) -> Self {
        Self { value, tag: ORPHAN }
    }

    /// `true` for a constant (not on any tape).
    #[inline(always)]
    pub fn is_const(&self) -> bool {
        self.tag == CONST
    }

    /// The primal value.
    #[inline(always)]
    pub fn val(&self) -> f64 {
        self.value
    }

    /// The variable's entry index on its tape (`None` for a constant or an orphan).
    pub fn tape_index(&self) -> Option<usize> {
        (self.tag < ORPHAN).then_some((self.tag & INDEX_MASK) as usize)
    }

    /// The entry index part of the tag (meaningful for a variable on a tape).
    #[inline(always)]
    pub(crate) fn index(&self) -> u32 {
        (self.tag & INDEX_MASK) as u32
    }

    /// The generation part of the tag (0 for a constant or an orphan).
    pub(crate) fn generation(&self) -> u64 {
        if self.tag >= ORPHAN {
            0
        } else {
            self.tag >> INDEX_BITS
        }
    }
}

impl Default for Var {
    #[inline(always)]
    fn default() -> Self {
        Self::constant(0.0)
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tag {
            CONST => write!(f, "Var({:?}, const)", self.value),
            ORPHAN => write!(f, "Var({:?}, orphan)", self.value),
            _ => write!(
                f,
                "Var({:?}, #{}@{})",
                self.value,
                self.index(),
                self.generation()
            ),
        }
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}

impl From<f64> for Var {
    #[inline(always)]
    fn from(v: f64) -> Self {
        Self::constant(v)
    }
}

impl PartialEq for Var {
    #[inline(always)]
    fn eq(&self, o: &Self) -> bool {
        self.value == o.value
    }
}
impl PartialOrd for Var {
    #[inline(always)]
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        self.value.partial_cmp(&o.value)
    }
}
impl PartialEq<f64> for Var {
    #[inline(always)]
    fn eq(&self, o: &f64) -> bool {
        self.value == *o
    }
}
impl PartialOrd<f64> for Var {
    #[inline(always)]
    fn partial_cmp(&self, o: &f64) -> Option<core::cmp::Ordering> {
        self.value.partial_cmp(o)
    }
}
