//! Scenarios: the file format both drivers run (SCENARIOS.md), the timeline
//! they print, and the checks of expectations and invariants over it. Pure
//! code, so the simulator and the namespace lab judge runs the same way.

pub mod duration;
pub mod expect;
pub mod format;
pub mod svg;
pub mod timeline;
pub mod topology;

pub use duration::Dur;
pub use format::{Scenario, ScenarioError};
pub use timeline::{Event, What};
