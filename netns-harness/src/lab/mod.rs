//! The namespace lab: hosts as network namespaces on bridges, for tests that
//! run vigil and keepalived against the kernel, and `vigil lab FILE`, which
//! runs a scenario there ([`run`]) as `vigil sim` runs it in simulated time.

mod daemon;
mod files;
pub mod inject;
mod netns;
mod nft;
mod probe;
mod real_servers;
mod record;
mod run;

pub use netns::{Lab, available};
pub use run::{Options, Report, TOLERANCE, run};
