//! vigil-sim: replays scenario files on turmoil in simulated time.
//!
//! The turmoil driver arrives with the simulator issue; until then this crate
//! only holds its place in the workspace so that the dependency arrows
//! (CLI → drivers → core) are fixed from the start.
