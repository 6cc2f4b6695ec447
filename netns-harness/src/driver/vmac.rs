//! The VMACs of `use_vmac` instances, made as keepalived 2.2.7 makes them
//! (`vrrp_vmac.c`, `vrrp_if_config.c`): a macvlan in mode private on the
//! instance's interface with the virtual router MAC, address generation
//! off, up. The core's [`vmac`] plan says which, with what name and MAC,
//! and moves the instance onto it.
//!
//! For an IPv4 VMAC the kernel must neither answer ARP for the VMAC's
//! addresses on the base interface nor drop adverts arriving on the VMAC,
//! so, as keepalived: on the VMAC `arp_ignore` 1, `accept_local` 1,
//! `rp_filter` 0, `promote_secondaries` 1, IPv6 off; on the base
//! `arp_ignore` 1 and `arp_filter` 1; and since the effective `rp_filter`
//! is the larger of `all`'s and the interface's, a non-zero `all` is moved
//! onto `default` and every interface, then set to 0. An IPv6 VMAC gets the
//! instance's source address (the base's link-local) to send from, and
//! sends no router solicitations.
//!
//! What was changed is put back when the VMACs go: at exit (not with
//! `--dont-release-vrrp`, which keeps them and their addresses), or when a
//! reload leaves a VMAC without its instance.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use tracing::{error, info, warn};
use vigil_core::config::Config;
use vigil_core::vrrp::resolve::Resolved;
use vigil_core::vrrp::vmac::{self, Vmac};

use super::host::Interfaces;
use super::netlink::Netlink;
use super::nftables::{KeepalivedTables, VmacLink};
use super::sysctl;
use crate::error::{Error, Result};

/// A VMAC this daemon made or adopted.
struct Ours {
    index: u32,
    base: String,
    base_index: u32,
    instance: String,
    /// IPv4 VMACs are the ones that change their base's sysctls.
    ipv4: bool,
}

/// What clearing `net.ipv4.conf.all.rp_filter` changed, to put back.
struct RpFilter {
    all: u32,
    default: Option<u32>,
    raised: Vec<(String, u32)>,
}

#[derive(Default)]
pub struct Vmacs {
    ours: BTreeMap<String, Ours>,
    /// The names the running config uses; the others are retired.
    wanted: BTreeSet<String>,
    /// Base interfaces whose `arp_ignore` and `arp_filter` were set, with
    /// the values they had.
    bases: BTreeMap<String, [Option<u32>; 2]>,
    rp_filter: Option<RpFilter>,
}

impl Vmacs {
    /// Makes (or adopts) the VMAC of every `use_vmac` instance in
    /// `resolved` and moves the instance onto it; an instance whose VMAC
    /// cannot be made is left out, with an error. `host` is read again, so
    /// that it has the VMACs, and `firewall` moves their reports onto the
    /// bases before they come up. Returns the VMACs' names, for
    /// [`keep`](Self::keep) once the config runs.
    pub async fn prepare(
        &mut self,
        netlink: &Netlink,
        host: &mut Interfaces,
        config: &Config,
        resolved: &mut Resolved,
        firewall: &mut KeepalivedTables,
    ) -> BTreeSet<String> {
        let taken = |name: &str, base: &str| {
            host.link(name).is_some_and(|l| {
                let parent = l.macvlan.map(|m| m.parent);
                parent.is_none() || parent != host.link(base).map(|b| b.index)
            })
        };
        let plans: Vec<Vmac> = vmac::plan(config, &taken, &mut resolved.notes)
            .into_iter()
            .filter(|p| resolved.instances.iter().any(|i| i.name == p.instance))
            .collect();
        let mut made = Vec::new();
        for p in plans {
            match self.make(netlink, host, &p).await {
                Ok(()) => made.push(p),
                Err(e) => error!(
                    "({}) Unable to create VMAC interface {}: {e}",
                    p.instance, p.name
                ),
            }
        }
        match Interfaces::read(netlink).await {
            Ok(h) => *host = h,
            Err(e) => warn!("reading interfaces after making the VMACs: {e}"),
        }
        let mut names = BTreeSet::new();
        resolved.instances.retain_mut(|inst| {
            let Some(p) = made.iter().find(|p| p.instance == inst.name) else {
                // Not a use_vmac instance, or its VMAC could not be made.
                return !config
                    .instance(&inst.name)
                    .is_some_and(|c| c.use_vmac.is_some() && c.interface.is_some());
            };
            p.apply(inst);
            names.insert(p.name.clone());
            true
        });
        let mut recorded = Vec::new();
        for p in &made {
            match self.record(host, p) {
                Ok(index) => recorded.push((p, index)),
                Err(e) => error!("({}) VMAC {}: {e}", p.instance, p.name),
            }
        }
        // Into the firewall's maps before they come up and join groups.
        guard(firewall, &self.links()).await;
        for (p, index) in recorded {
            if let Err(e) = self.start(netlink, index, p, resolved).await {
                error!("({}) VMAC {}: {e}", p.instance, p.name);
            }
        }
        names
    }

    /// Counts the VMAC `p` as ours; its interface index.
    fn record(&mut self, host: &Interfaces, p: &Vmac) -> Result<u32> {
        let index_of = |name: &str| {
            host.link(name)
                .map(|l| l.index)
                .ok_or_else(|| Error::Config(format!("{name} did not appear")))
        };
        let index = index_of(&p.name)?;
        self.ours.insert(
            p.name.clone(),
            Ours {
                index,
                base: p.base.clone(),
                base_index: index_of(&p.base)?,
                instance: p.instance.clone(),
                ipv4: !p.ipv6,
            },
        );
        Ok(index)
    }

    /// Every VMAC as the firewall's maps hold it.
    pub fn links(&self) -> BTreeSet<VmacLink> {
        self.ours
            .values()
            .map(|o| (o.index, o.base_index, !o.ipv4))
            .collect()
    }

    /// The running config uses (only) these VMACs.
    pub fn keep(&mut self, names: BTreeSet<String>) {
        self.wanted = names;
    }

    /// Creates the macvlan, or adopts the one of that name on the same
    /// base (left by an earlier run), correcting its MAC and mode.
    async fn make(&mut self, netlink: &Netlink, host: &Interfaces, p: &Vmac) -> Result<()> {
        let base = host
            .link(&p.base)
            .ok_or_else(|| Error::Config(format!("no interface {}", p.base)))?;
        let existing = host.link(&p.name);
        let fits =
            existing.is_some_and(|l| l.mac == Some(p.mac) && l.macvlan.is_some_and(|m| m.private));
        if !fits {
            if existing.is_some() {
                info!(
                    "({}) Update old VMAC interface {} due to wrong MAC/mode",
                    p.instance, p.name
                );
            }
            netlink
                .macvlan(&p.name, base.index, p.mac, existing.map(|l| l.index))
                .await?;
            info!(
                "({}): Success creating VMAC interface {}",
                p.instance, p.name
            );
        }
        Ok(())
    }

    /// The sysctls, address generation off, up, and an IPv6 VMAC's source.
    async fn start(
        &mut self,
        netlink: &Netlink,
        index: u32,
        p: &Vmac,
        resolved: &Resolved,
    ) -> Result<()> {
        set(&sysctl::ipv6(&p.name, "disable_ipv6"), u32::from(!p.ipv6));
        if p.ipv6 {
            // A router solicitation would teach switches the virtual MAC on
            // a Backup's port; keepalived's VMACs send none (observed).
            set(&sysctl::ipv6(&p.name, "router_solicitations"), 0);
        }
        if !p.ipv6 {
            if self.rp_filter.is_none() {
                self.rp_filter = clear_rp_filter();
            }
            for (key, value) in [
                ("arp_ignore", 1),
                ("accept_local", 1),
                ("rp_filter", 0),
                ("promote_secondaries", 1),
            ] {
                set(&sysctl::ipv4(&p.name, key), value);
            }
            if !self.bases.contains_key(&p.base) {
                let keys = ["arp_ignore", "arp_filter"];
                let was = keys.map(|k| sysctl::read(&sysctl::ipv4(&p.base, k)));
                for k in keys {
                    set(&sysctl::ipv4(&p.base, k), 1);
                }
                self.bases.insert(p.base.clone(), was);
            }
        }
        netlink.addr_gen_none(index).await?;
        netlink.set_up(index).await?;
        let src = resolved
            .instances
            .iter()
            .find(|i| i.name == p.instance)
            .map(|i| i.src);
        if let (false, Some(IpAddr::V6(src))) = (p.xmit_base, src) {
            netlink.add_vmac_source(index, src).await?;
        }
        Ok(())
    }

    /// Deletes the VMACs the running config no longer uses (after a reload,
    /// once their instances sent priority 0 and dropped their addresses).
    pub async fn retire(&mut self, netlink: &Netlink) {
        let gone: Vec<String> = self
            .ours
            .keys()
            .filter(|n| !self.wanted.contains(*n))
            .cloned()
            .collect();
        for name in gone {
            let Some(o) = self.ours.remove(&name) else {
                continue;
            };
            match netlink.del_link(o.index).await {
                Ok(()) => info!("({}) Success removing VMAC interface {name}", o.instance),
                Err(e) => error!("({}) Error removing VMAC interface {name}: {e}", o.instance),
            }
        }
        let in_use: BTreeSet<&str> = self
            .ours
            .values()
            .filter(|o| o.ipv4)
            .map(|o| o.base.as_str())
            .collect();
        self.bases.retain(|base, was| {
            if in_use.contains(base.as_str()) {
                return true;
            }
            for (k, v) in ["arp_ignore", "arp_filter"].into_iter().zip(*was) {
                if let Some(v) = v {
                    set(&sysctl::ipv4(base, k), v);
                }
            }
            false
        });
    }

    /// At exit: every VMAC goes and the sysctls are put back.
    pub async fn remove_all(&mut self, netlink: &Netlink) {
        self.wanted.clear();
        self.retire(netlink).await;
        if let Some(r) = self.rp_filter.take() {
            restore_rp_filter(&r);
        }
    }
}

/// Makes the firewall's maps hold `links`, so that the IGMP and MLD
/// reports of those VMACs leave from their bases.
pub async fn guard(firewall: &mut KeepalivedTables, links: &BTreeSet<VmacLink>) {
    if let Err(e) = firewall.set_vmacs(links).await {
        error!("moving the VMACs' IGMP/MLD reports to their base interfaces: {e}");
    }
}

/// Writes a sysctl; a failure is logged (the VMAC works less well, but works).
fn set(path: &std::path::PathBuf, value: u32) {
    if let Err(e) = sysctl::write(path, value) {
        warn!("setting {} to {value}: {e}", path.display());
    }
}

/// keepalived's `clear_rp_filter`: a non-zero `all.rp_filter` would
/// override the VMAC's 0, so it moves onto `default` and every interface
/// that has less, then becomes 0. `None` when it was 0 already.
fn clear_rp_filter() -> Option<RpFilter> {
    let all_path = sysctl::ipv4("all", "rp_filter");
    let all = sysctl::read(&all_path).filter(|&a| a != 0)?;
    let default_path = sysctl::ipv4("default", "rp_filter");
    let default = sysctl::read(&default_path).filter(|&d| d < all);
    if let Some(d) = default {
        info!("NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from {d} to {all}");
        set(&default_path, all);
    }
    let mut raised = Vec::new();
    for iface in sysctl::ipv4_interfaces() {
        let path = sysctl::ipv4(&iface, "rp_filter");
        if let Some(v) = sysctl::read(&path).filter(|&v| v < all) {
            set(&path, all);
            raised.push((iface, v));
        }
    }
    info!("NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from {all} to 0");
    set(&all_path, 0);
    Some(RpFilter {
        all,
        default,
        raised,
    })
}

/// Puts back what [`clear_rp_filter`] changed, where nobody changed it since.
fn restore_rp_filter(r: &RpFilter) {
    let all_path = sysctl::ipv4("all", "rp_filter");
    if sysctl::read(&all_path) == Some(0) {
        info!(
            "NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to {}",
            r.all
        );
        set(&all_path, r.all);
    }
    let back = r
        .default
        .map(|d| ("default".to_string(), d))
        .into_iter()
        .chain(r.raised.iter().cloned());
    for (iface, v) in back {
        let path = sysctl::ipv4(&iface, "rp_filter");
        if sysctl::read(&path) == Some(r.all) {
            set(&path, v);
        }
    }
}
