//! vigil-netns: the real Linux driver (`vigil run`) and the namespace lab.
//!
//! The driver arrives with the daemon issue; until then this crate only holds
//! its place in the workspace.
