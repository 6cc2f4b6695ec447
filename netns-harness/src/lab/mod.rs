//! The namespace lab: hosts as network namespaces on one bridge, for tests
//! (and later `vigil lab`) that run vigil and keepalived against the kernel.

mod netns;

pub use netns::{Lab, available};
