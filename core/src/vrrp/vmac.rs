//! keepalived's `use_vmac`: an instance gets a macvlan of its own on its
//! interface, with the virtual router MAC of RFC 5798 §7.3, that holds its
//! addresses and sends its adverts and gratuitous ARPs, so that the MAC
//! moves with the Master and no neighbour cache has to follow.
//!
//! This module decides names, MACs and what moves onto each VMAC, as
//! keepalived 2.2.7 does (`vrrp_complete_instance`, `create_vmac_name`);
//! making the interface is the driver's.

use crate::config::model::Config;
use crate::config::model::vrrp::{Family, VrrpInstance};
use crate::config::value;
use crate::frame::Mac;

use super::InstanceConfig;

/// The VMAC of one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vmac {
    pub instance: String,
    /// The configured name, else `vrrp.VRID` (or the next free one).
    pub name: String,
    /// The instance's `interface`, which the macvlan sits on.
    pub base: String,
    /// 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6) unless
    /// the config gives one.
    pub mac: Mac,
    pub ipv6: bool,
    /// `vmac_xmit_base`: adverts leave from the base interface.
    pub xmit_base: bool,
}

/// The VMAC of every `use_vmac` instance with an interface. `taken(name,
/// base)` says the host has an interface `name` that cannot be this VMAC
/// (anything but a macvlan on `base`); such names are passed over, and
/// `notes` says why.
pub fn plan(
    config: &Config,
    taken: &dyn Fn(&str, &str) -> bool,
    notes: &mut Vec<String>,
) -> Vec<Vmac> {
    let mut used: Vec<String> = config
        .instances
        .iter()
        .filter_map(|i| i.use_vmac.as_ref()?.interface.clone())
        .collect();
    let mut out = Vec::new();
    for inst in &config.instances {
        let (Some(vm), Some(base)) = (&inst.use_vmac, &inst.interface) else {
            continue;
        };
        if inst.use_vmac_addr || inst.virtual_ipaddress.iter().any(|a| a.use_vmac) {
            notes.push(format!(
                "({}) VMACs for addresses on other interfaces (use_vmac_addr, an address's use_vmac) are not supported: those addresses stay on their interfaces",
                inst.name
            ));
        }
        let ipv6 = inst.family == Family::Inet6;
        let name = match &vm.interface {
            Some(n) if !taken(n, base) => n.clone(),
            configured => {
                if let Some(n) = configured {
                    notes.push(format!(
                        "({}) interface {n} already exists and is not a private macvlan; ignoring vmac if_name",
                        inst.name
                    ));
                }
                let prefix = config.global.vmac_prefix.as_deref().unwrap_or("vrrp");
                let name = free_name(prefix, inst.virtual_router_id, ipv6, |n| {
                    used.iter().any(|u| u == n) || taken(n, base)
                });
                used.push(name.clone());
                name
            }
        };
        out.push(Vmac {
            instance: inst.name.clone(),
            name,
            base: base.clone(),
            mac: mac(inst, ipv6),
            ipv6,
            xmit_base: inst.vmac_xmit_base,
        });
    }
    out
}

/// `PREFIX.VRID`, then `PREFIXN.VRID` (IPv6 tries N = 6 first) until one
/// is free; `prefix` is `vrrp` unless `vmac_prefix` says otherwise.
fn free_name(prefix: &str, vrid: u8, ipv6: bool, in_use: impl Fn(&str) -> bool) -> String {
    let first = fit(prefix, &format!(".{vrid}"));
    if !in_use(&first) {
        return first;
    }
    let numbers = ipv6
        .then_some(6)
        .into_iter()
        .chain((1u32..).filter(move |&n| !ipv6 || n != 6));
    numbers
        .map(|n| fit(prefix, &format!("{n}.{vrid}")))
        .find(|n| !in_use(n))
        .unwrap_or(first)
}

/// `prefix` then `suffix`, the prefix cut as keepalived cuts it so that
/// the name fits an interface name (15 bytes).
fn fit(prefix: &str, suffix: &str) -> String {
    let room = 15usize.saturating_sub(suffix.len());
    let mut end = prefix.len().min(room);
    while !prefix.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &prefix[..end])
}

/// The configured MAC (five octets take the VRID as the sixth), else the
/// RFC's for the family.
fn mac(inst: &VrrpInstance, ipv6: bool) -> Mac {
    let vrid = inst.virtual_router_id;
    let configured = inst
        .use_vmac
        .as_ref()
        .and_then(|vm| value::parse_vmac_mac(vm.mac.as_deref()?));
    match configured.as_deref() {
        Some(&[a, b, c, d, e, f]) => [a, b, c, d, e, f],
        Some(&[a, b, c, d, e]) => [a, b, c, d, e, vrid],
        _ => [0, 0, 0x5e, 0, if ipv6 { 2 } else { 1 }, vrid],
    }
}

impl Vmac {
    /// Moves the instance onto its VMAC: the addresses of its family that
    /// would be on the base interface, and its adverts unless
    /// `vmac_xmit_base` (keepalived keeps addresses of the other family and
    /// of other interfaces where they are).
    pub fn apply(&self, c: &mut InstanceConfig) {
        for vip in c.vips.iter_mut().chain(&mut c.excluded_vips) {
            if vip.iface == self.base && vip.addr.is_ipv6() == self.ipv6 {
                vip.iface.clone_from(&self.name);
            }
        }
        if !self.xmit_base {
            c.iface.clone_from(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;
    use crate::vrrp::resolve::{self, Host};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn config(instances: &str) -> Config {
        let p = parse_str(instances);
        assert!(
            p.diagnostics
                .iter()
                .all(|d| d.severity != crate::config::Severity::Error),
            "{:#?}",
            p.diagnostics
        );
        p.model
    }

    fn instance(name: &str, vrid: u8, vip: &str, extra: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n use_vmac {extra}\n virtual_ipaddress {{\n  {vip}\n }}\n}}\n"
        )
    }

    fn names(c: &Config, taken: &dyn Fn(&str, &str) -> bool) -> Vec<(String, Mac)> {
        plan(c, taken, &mut Vec::new())
            .into_iter()
            .map(|v| (v.name, v.mac))
            .collect()
    }

    #[test]
    fn default_names_and_the_rfc_macs_per_family() {
        let c = config(&format!(
            "{}{}{}",
            instance("a", 51, "10.0.0.100", ""),
            instance("b", 51, "fd00::100", ""),
            instance("c", 51, "10.0.1.100", "").replace("eth0", "eth1")
        ));
        let none = |_: &str, _: &str| false;
        assert_eq!(
            names(&c, &none),
            vec![
                ("vrrp.51".into(), [0, 0, 0x5e, 0, 1, 51]),
                ("vrrp6.51".into(), [0, 0, 0x5e, 0, 2, 51]),
                ("vrrp1.51".into(), [0, 0, 0x5e, 0, 1, 51]),
            ]
        );
    }

    #[test]
    fn vmac_prefix_names_them_and_is_cut_to_fit() {
        let c = config(&format!(
            "global_defs {{\n vmac_prefix vm\n}}\n{}{}",
            instance("a", 51, "10.0.0.100", ""),
            instance("b", 51, "fd00::100", ""),
        ));
        let none = |_: &str, _: &str| false;
        let got: Vec<String> = names(&c, &none).into_iter().map(|n| n.0).collect();
        assert_eq!(got, ["vm.51", "vm6.51"]);
        // 15 bytes at most: the prefix gives way, the VRID does not.
        assert_eq!(
            free_name("averylongprefix", 255, false, |_| false),
            "averylongpr.255"
        );
        assert_eq!(
            free_name("averylongprefix", 255, true, |n| n.ends_with("x.255")
                || n.ends_with("r.255")),
            "averylongp6.255"
        );
    }

    #[test]
    fn a_configured_name_is_kept_unless_another_interface_has_it() {
        let c = config(&instance("a", 7, "10.0.0.100", "vmx7 02:00:00:00:01"));
        let none = |_: &str, _: &str| false;
        assert_eq!(names(&c, &none), vec![("vmx7".into(), [2, 0, 0, 0, 1, 7])]);
        let vmx7_is_a_nic = |n: &str, _: &str| n == "vmx7";
        let mut notes = Vec::new();
        let p = plan(&c, &vmx7_is_a_nic, &mut notes);
        assert_eq!(p[0].name, "vrrp.7");
        assert!(notes[0].contains("vmx7 already exists"), "{notes:?}");
    }

    struct Eth0;
    impl Host for Eth0 {
        fn ipv4(&self, _: &str) -> Option<Ipv4Addr> {
            Some(Ipv4Addr::new(10, 0, 0, 1))
        }
        fn ipv6_link_local(&self, _: &str) -> Option<Ipv6Addr> {
            None
        }
    }

    #[test]
    fn the_vmac_takes_the_adverts_and_the_addresses_of_its_family_on_the_base() {
        let text = "vrrp_instance a {\n interface eth0\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n  10.0.0.100/24\n  10.0.0.101/24 dev eth0\n  10.1.0.100/24 dev eth1\n }\n virtual_ipaddress_excluded {\n  fd00::100/64\n }\n}\n";
        let c = config(text);
        let mut r = resolve::resolve(&c, &Eth0);
        let v = &plan(&c, &|_, _| false, &mut Vec::new())[0];
        let inst = &mut r.instances[0];
        v.apply(inst);
        assert_eq!(inst.iface, "vrrp.51");
        let ifaces: Vec<&str> = inst
            .vips
            .iter()
            .chain(&inst.excluded_vips)
            .map(|v| v.iface.as_str())
            .collect();
        assert_eq!(ifaces, ["vrrp.51", "vrrp.51", "eth1", "eth0"]);
        // The source stays the base interface's address, as keepalived sends.
        assert_eq!(inst.src, std::net::IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    }

    #[test]
    fn xmit_base_keeps_the_adverts_on_the_base_interface() {
        let c = config(&instance("a", 51, "10.0.0.100", "\n vmac_xmit_base"));
        let mut r = resolve::resolve(&c, &Eth0);
        let v = &plan(&c, &|_, _| false, &mut Vec::new())[0];
        v.apply(&mut r.instances[0]);
        assert_eq!(r.instances[0].iface, "eth0");
        assert_eq!(r.instances[0].vips[0].iface, "vrrp.51");
    }
}
