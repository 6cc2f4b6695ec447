//! All VRRP instances of one host.
