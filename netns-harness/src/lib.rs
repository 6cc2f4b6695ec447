//! vigil-netns: the real Linux driver (`vigil run`) and the namespace lab.

pub mod driver;
pub mod vm;
