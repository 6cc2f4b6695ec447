//! How the VRRP loop follows the host: interfaces that appear, go down and
//! up, are deleted and made again; addresses deleted behind vigil's back;
//! announcements the kernel could not deliver.

use tracing::{error, info, warn};
use vigil_core::vrrp::resolve;
use vigil_core::vrrp::track::{TrackKind, TrackState};
use vigil_core::vrrp::{Command, Instance, InstanceConfig, State, Vip};

use super::Vrrp;
use crate::driver::host::Interfaces;
use crate::driver::netlink::{Event, Link};

impl Vrrp {
    /// Tells the router about tracked interfaces that are down now (it
    /// assumes up until told).
    pub(super) fn report_links_down(&mut self) {
        let tracked: Vec<String> = self
            .router
            .instances()
            .iter()
            .flat_map(|i| i.config().tracks.iter())
            .filter(|t| t.kind == TrackKind::Interface)
            .map(|t| t.name.clone())
            .collect();
        for name in tracked {
            if !self.host.link(&name).is_some_and(|l| l.up) {
                self.track_link(name, false);
            }
        }
    }

    fn track_link(&mut self, name: String, up: bool) {
        let state = if up { TrackState::Up } else { TrackState::Down };
        let cmd = Command::Track {
            kind: TrackKind::Interface,
            name,
            state,
        };
        self.router.handle_command(self.clock.now(), &cmd);
    }

    pub(super) async fn netlink_event(&mut self, event: Event) {
        match event {
            Event::Link(link) => {
                self.link_changed(link);
                // A static address on an interface re-created or back up.
                self.restore_addresses().await;
            }
            Event::LinkGone(link) => self.link_gone(&link),
            Event::Address(a) => {
                self.host.address_added(a);
                self.follow_sources().await;
            }
            Event::AddressGone(a) => {
                self.host.address_removed(&a);
                self.restore_addresses().await;
            }
            Event::Lost => self.resync().await,
        }
    }

    fn link_changed(&mut self, link: Link) {
        let before = self.host.link(&link.name).map(|l| (l.index, l.up));
        self.host.update(link.clone());
        // New, or re-created under the same name.
        if before.is_none_or(|(index, _)| index != link.index) {
            self.reopen_sockets();
        }
        // An interface not known here is down for the router already: it
        // was told so when the config started (report_links_down) or when
        // the interface went away.
        let was_up = before.is_some_and(|(_, up)| up);
        if before.is_none() {
            info!("Netlink reports {} added", link.name);
        }
        if was_up == link.up {
            return;
        }
        info!(
            "Netlink reports {} {}",
            link.name,
            if link.up { "up" } else { "down" }
        );
        self.track_link(link.name, link.up);
    }

    /// An interface was deleted: its sockets close (a new interface of that
    /// name gets new ones), and the instances tracking it see it down.
    fn link_gone(&mut self, link: &Link) {
        let Some(known) = self.host.link(&link.name).filter(|l| l.index == link.index) else {
            return;
        };
        let was_up = known.up;
        self.host.remove(link.index);
        self.sockets.retain(|_, s| s.index() != link.index);
        info!("Netlink reports {} removed", link.name);
        if was_up {
            self.track_link(link.name.clone(), false);
        }
    }

    /// When an instance sends from an address no interface has any more
    /// (its interface was re-created, with another link-local or primary
    /// address) and the host now offers another, the config is applied
    /// again, as a reload would, so that the instances send from the new
    /// one and keep their states; keepalived follows the interface's
    /// address too. Nothing happens while the new address is not there yet.
    async fn follow_sources(&mut self) {
        let lost = |src| !self.host.addresses().iter().any(|a| a.addr == src);
        if !self.router.instances().iter().any(|i| lost(i.config().src)) {
            return;
        }
        let resolved = resolve::resolve(&self.config, &self.resolution_host());
        let same = |i: &Instance| {
            resolved
                .instances
                .iter()
                .find(|r| r.name == i.name())
                .map(|r| r.src == i.config().src)
        };
        let states: Vec<Option<bool>> = self.router.instances().iter().map(same).collect();
        // Every instance still resolves, and one sends from elsewhere now.
        if states.iter().all(Option::is_some) && states.contains(&Some(false)) {
            info!("the address an instance sends from is gone: applying the config again");
            self.reload(self.config.clone()).await;
        }
    }

    /// Opens the sockets the running instances lack, after an interface
    /// appeared or was re-created; a failure is logged and tried again at
    /// the next change.
    fn reopen_sockets(&mut self) {
        let configs: Vec<InstanceConfig> = self
            .router
            .instances()
            .iter()
            .map(|i| i.config().clone())
            .collect();
        if let Err(e) = self.open_sockets(&configs) {
            error!("{e}");
        }
    }

    /// Puts back the addresses that must be on the interfaces and are not:
    /// every Master's virtual addresses and the static addresses, except
    /// those marked `no_track`; on an interface that is down (or going
    /// away), once it is up. keepalived 2.2.7 reinstates a deleted static
    /// address too, but answers a deleted VIP by leaving Master for a
    /// Skew_Time; here the Master stays and its address comes back at once.
    async fn restore_addresses(&mut self) {
        let mut missing: Vec<(String, Vip)> = Vec::new();
        for inst in self.router.instances() {
            if inst.state() != State::Master {
                continue;
            }
            let config = inst.config();
            for vip in config.vips.iter().chain(&config.excluded_vips) {
                if !self.host.has(vip) && self.followed(inst.name(), vip) {
                    missing.push((format!("({})", inst.name()), vip.clone()));
                }
            }
        }
        for vip in self.statics.tracked_addresses() {
            if !self.host.has(&vip) {
                missing.push(("static_ipaddress".into(), vip));
            }
        }
        for (owner, vip) in missing {
            let Some(index) = self.host.link(&vip.iface).filter(|l| l.up).map(|l| l.index) else {
                continue;
            };
            match self.netlink.add(index, &vip).await {
                Ok(true) => {
                    warn!(
                        "{owner} {}/{} was missing from {}: added it again",
                        vip.addr, vip.prefix_len, vip.iface
                    );
                    self.vip_moved(vip.addr, true);
                }
                // Put back meanwhile (our own news was still on its way).
                Ok(false) => {}
                Err(e) => error!("{owner} cannot put {} back on {}: {e}", vip.addr, vip.iface),
            }
        }
    }

    /// Whether a virtual address of `instance` is followed (not `no_track`).
    fn followed(&self, instance: &str, vip: &Vip) -> bool {
        let Some(inst) = self.config.instance(instance) else {
            return true;
        };
        !inst
            .virtual_ipaddress
            .iter()
            .chain(&inst.virtual_ipaddress_excluded)
            .any(|a| a.addr == vip.addr && a.prefix == vip.prefix_len && a.no_track)
    }

    /// Announcements were lost: read every interface and address again
    /// and act on what changed as if it had been announced.
    async fn resync(&mut self) {
        warn!(
            "Netlink: announcements lost (receive buffer overrun or socket error); reading interfaces and addresses again"
        );
        let fresh = match Interfaces::read(&self.netlink).await {
            Ok(h) => h,
            Err(e) => {
                error!("Netlink: reading interfaces again: {e}");
                return;
            }
        };
        let gone: Vec<Link> = self
            .host
            .links()
            .iter()
            .filter(|l| !fresh.links().iter().any(|f| f.index == l.index))
            .cloned()
            .collect();
        for link in &gone {
            self.link_gone(link);
        }
        for link in fresh.links() {
            self.link_changed(link.clone());
        }
        self.host.set_addresses(fresh.addresses().to_vec());
        self.restore_addresses().await;
        self.follow_sources().await;
    }
}
