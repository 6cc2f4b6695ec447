//! Checkers inside a `real_server`.
