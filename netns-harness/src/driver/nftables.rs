//! keepalived's firewall. For instances without accept mode (`no_accept`,
//! the default with `vrrp_strict`): while Master, traffic to and from the
//! virtual addresses is dropped, as RFC 5798 §6.4.3 asks of a non-owner.
//! For VMACs (`use_vmac`): the IGMP and MLD reports a VMAC's multicast
//! joins make leave from its base interface instead, so that a switch never
//! learns the virtual MAC on a Backup's port from them.
//!
//! The tables have `vrrp_nftables.c`'s shape — `table ip keepalived` and
//! `table ip6 keepalived`, each with a set `vips` and chains `in`/`out`
//! (filter, priority -1) dropping `daddr @vips`/`saddr @vips`; the IPv6 one
//! lets neighbour solicitations and adverts through so the Master still
//! resolves. With VMACs, each also gets a map `vmac_map` from a VMAC to its
//! base, and `out` duplicates a report leaving a VMAC onto the base and
//! drops the original (the IPv6 one also drops a VMAC's router
//! solicitations). They are made through the `nft` binary inside the daemon's own
//! namespace: its scripts are atomic, and it keeps libnftnl out of vigil.
//! IPv6 link-local VIPs go into `vips` as well (keepalived keys them by
//! interface in a set of their own).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::error::{Error, Result};

/// The tables made so far, so that exit removes only what vigil made, and
/// the VMACs in their maps.
#[derive(Debug, Default)]
pub struct KeepalivedTables {
    /// Whether each family's table (IPv4, IPv6) is made, and whether it
    /// has [`vmac_parts`].
    made: [bool; 2],
    vmac_parts: [bool; 2],
    vmacs: BTreeSet<VmacLink>,
}

/// A VMAC's interface index, its base's, and whether it is IPv6's.
pub type VmacLink = (u32, u32, bool);

impl KeepalivedTables {
    /// Drops (`block`) or again accepts traffic to `addrs`, making the
    /// family's table on first use (replacing one an earlier run left, as
    /// keepalived does).
    pub async fn apply(&mut self, addrs: &[IpAddr], block: bool) -> Result<()> {
        let mut script = String::new();
        for v6 in [false, true] {
            let mine: Vec<String> = addrs
                .iter()
                .filter(|a| a.is_ipv6() == v6)
                .map(IpAddr::to_string)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let made = &mut self.made[usize::from(v6)];
            if block && !*made {
                script.push_str(&table(v6));
            }
            // An address can only be released after it was blocked.
            if !block && !*made {
                continue;
            }
            *made = true;
            let verb = if block { "add" } else { "delete" };
            script.push_str(&format!(
                "{verb} element {} keepalived vips {{ {} }}\n",
                family(v6),
                mine.join(", ")
            ));
        }
        run(&script).await
    }

    /// Makes the maps hold exactly `links`, making a family's table on
    /// first use.
    pub async fn set_vmacs(&mut self, links: &BTreeSet<VmacLink>) -> Result<()> {
        let mut script = String::new();
        for v6 in [false, true] {
            let f = family(v6);
            let gone: Vec<String> = (self.vmacs.difference(links))
                .filter(|l| l.2 == v6)
                .map(|l| l.0.to_string())
                .collect();
            let new: Vec<&VmacLink> = links
                .difference(&self.vmacs)
                .filter(|l| l.2 == v6)
                .collect();
            if !gone.is_empty() {
                let gone = gone.join(", ");
                script.push_str(&format!(
                    "delete element {f} keepalived vmac_map {{ {gone} }}\n"
                ));
                if v6 {
                    script.push_str(&format!(
                        "delete element ip6 keepalived vmac_set {{ {gone} }}\n"
                    ));
                }
            }
            if new.is_empty() {
                continue;
            }
            let made = &mut self.made[usize::from(v6)];
            if !std::mem::replace(made, true) {
                script.push_str(&table(v6));
            }
            if !std::mem::replace(&mut self.vmac_parts[usize::from(v6)], true) {
                script.push_str(&vmac_parts(v6));
            }
            let pairs: Vec<String> = new.iter().map(|l| format!("{} : {}", l.0, l.1)).collect();
            script.push_str(&format!(
                "add element {f} keepalived vmac_map {{ {} }}\n",
                pairs.join(", ")
            ));
            if v6 {
                let vmacs: Vec<String> = new.iter().map(|l| l.0.to_string()).collect();
                script.push_str(&format!(
                    "add element ip6 keepalived vmac_set {{ {} }}\n",
                    vmacs.join(", ")
                ));
            }
        }
        self.vmacs = links.clone();
        run(&script).await
    }

    /// Deletes the tables vigil made (at exit).
    pub async fn remove(&mut self) -> Result<()> {
        let mut script = String::new();
        for v6 in [false, true] {
            if std::mem::take(&mut self.made[usize::from(v6)]) {
                script.push_str(&format!("delete table {} keepalived\n", family(v6)));
            }
        }
        self.vmacs.clear();
        self.vmac_parts = [false; 2];
        run(&script).await
    }
}

fn family(v6: bool) -> &'static str {
    if v6 { "ip6" } else { "ip" }
}

/// The family's table, empty; `table` before `delete table` makes the
/// delete succeed whether or not an old one exists.
fn table(v6: bool) -> String {
    let (f, ty) = (family(v6), if v6 { "ipv6_addr" } else { "ipv4_addr" });
    let (nd_set, nd_rule) = if v6 {
        (
            "  set neighbor-discovery { type icmpv6_type; flags constant; \
             elements = { nd-neighbor-solicit, nd-neighbor-advert } }\n",
            "icmpv6 type @neighbor-discovery accept; ",
        )
    } else {
        ("", "")
    };
    format!(
        "table {f} keepalived\ndelete table {f} keepalived\ntable {f} keepalived {{
  set vips {{ type {ty}; }}
{nd_set}  chain in {{ type filter hook input priority -1; policy accept; {nd_rule}{f} daddr @vips drop; }}
  chain out {{ type filter hook output priority -1; policy accept; {nd_rule}{f} saddr @vips drop; }}
}}\n"
    )
}

/// The VMAC map and the rules that move reports onto the base, added to
/// the table only when there are VMACs (`meta oifkind` needs Linux 5.1),
/// and inserted first, so that no_accept's drop of a VIP source (a VMAC's
/// reports may come from a VIP) does not stop them.
fn vmac_parts(v6: bool) -> String {
    let f = family(v6);
    let map = format!("add map {f} keepalived vmac_map {{ type iface_index : iface_index; }}\n");
    let moved = |report: &str| {
        format!(
            "insert rule {f} keepalived out {report} meta oifkind \"macvlan\" dup to {f} daddr device oif map @vmac_map drop\n"
        )
    };
    if v6 {
        format!(
            "{map}add set ip6 keepalived vmac_set {{ type iface_index; }}\n\
             insert rule ip6 keepalived out icmpv6 type nd-router-solicit meta oifkind \"macvlan\" oif @vmac_set drop\n{}",
            moved("icmpv6 type mld2-listener-report")
        )
    } else {
        format!("{map}{}", moved("ip protocol igmp"))
    }
}

/// `nft -f -` with `script` on stdin; nothing to do for an empty one.
async fn run(script: &str) -> Result<()> {
    if script.is_empty() {
        return Ok(());
    }
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Error::io("running nft"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .await
            .map_err(Error::io("writing to nft"))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(Error::io("waiting for nft"))?;
    Error::check_exit("nft", &out)
}
