//! tangent facade
pub use tangent_ad as ad;
