//! Checker IO against real peers started by each test on loopback (and,
//! for PING, in network namespaces the test makes).

mod support;

mod dns;
mod http;
mod misc;
mod ping;
mod smtp;
mod tcp;
mod udp;
