//! One virtual router's state machine.
