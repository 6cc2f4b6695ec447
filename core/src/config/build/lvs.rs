//! `virtual_server`, `virtual_server_group`, `real_server`.

use super::Builder;
use crate::config::parser::Node;

pub(crate) fn virtual_server(b: &mut Builder, n: &Node) {
    b.cfg.unmodelled.push(super::raw(n));
}

pub(crate) fn virtual_server_group(b: &mut Builder, n: &Node) {
    b.cfg.unmodelled.push(super::raw(n));
}

pub(crate) fn finish(_b: &mut Builder) {}
