//! Sync groups.
