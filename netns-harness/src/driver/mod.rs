//! The real Linux driver: the IO that the sans-IO core asks for.
pub mod ipvs;
pub mod probe;
