//! The tape variable.

use core::fmt;

/// Index marking a constant (no tape entry).
pub(crate) const CONST: u32 = u32::MAX;
/// Index marking a value computed from tape variables while no tape was active.
pub(crate) const ORPHAN: u32 = u32::MAX - 1;

/// A reverse-mode variable: its value, its index on the active [`Tape`](crate::Tape) and the
/// generation of the recording that made it. `Copy`, `'static`, 16 bytes.
///
/// `Var::from(c)` (or [`Scalar::cst`](crate::Scalar::cst)) is a constant: it needs no tape and
/// operations among constants are folded.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Var {
    pub(crate) value: f64,
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

const _: () = assert!(core::mem::size_of::<Var>() == 16);

impl Var {
    /// A constant.
    #[inline(always)]
    pub const fn constant(value: f64) -> Self {
        Self {
            value,
            index: CONST,
            generation: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn on_tape(value: f64, index: u32, generation: u32) -> Self {
        Self {
            value,
            index,
            generation,
        }
    }

    /// A value computed from tape variables with no tape active: it cannot be differentiated, and
    /// using it in a recording poisons that recording.
    #[inline(always)]
    pub(crate) fn orphan(value: f64) -> Self {
        Self {
            value,
            index: ORPHAN,
            generation: 0,
        }
    }

    /// `true` for a constant (not on any tape).
    #[inline(always)]
    pub fn is_const(&self) -> bool {
        self.index == CONST
    }

    /// The primal value.
    #[inline(always)]
    pub fn val(&self) -> f64 {
        self.value
    }

    /// The variable's entry index on its tape (`None` for a constant or an orphan).
    pub fn tape_index(&self) -> Option<usize> {
        (self.index < ORPHAN).then_some(self.index as usize)
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
        match self.index {
            CONST => write!(f, "Var({:?}, const)", self.value),
            ORPHAN => write!(f, "Var({:?}, orphan)", self.value),
            i => write!(f, "Var({:?}, #{i}@{})", self.value, self.generation),
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
