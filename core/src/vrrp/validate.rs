//! Checks of a decoded advert against one configured instance.
//!
//! [`super::packet`] has already made every check that needs no configuration
//! (length, TTL of multicast adverts, version 2/3, type, checksum, auth type
//! known). What is left follows keepalived 2.2.7's `vrrp_check_packet()`
//! (`keepalived/vrrp/vrrp.c:778-1160`, cited as `vrrp.c:NNN`) and the VRID lookup
//! in `vrrp_dispatcher_read()` (`vrrp_scheduler.c:1001`), in their order, so the
//! first failure reported is the one keepalived would log.
//!
//! keepalived drops on every mismatch it checks; the only things it merely
//! logs are the v3 interval (adopted, not checked) and switching to the legacy
//! unicast checksum. Those come back as [`Warning`]s.

use super::packet::{Auth, Decoded, Version};
use std::net::IpAddr;

/// What the receiving instance is configured with.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    pub version: Version,
    pub vrid: u8,
    /// v2 only: v3 adverts carry no authentication and keepalived checks none.
    pub auth: &'a Auth,
    /// Our `advert_int`; v2 adverts must match it, v3 ones need not.
    pub interval_cs: u16,
    /// Our virtual addresses (keepalived's VIPs, not eVIPs).
    pub addrs: &'a [IpAddr],
    /// Whether to compare addresses: keepalived's `skip_check_adv_addr` clears
    /// it for adverts from the same source as the current Master (vrrp.c:1914),
    /// and then also skips the unicast source check, which sits in the same block.
    pub check_addrs: bool,
    /// Our `unicast_peer`s; empty means a multicast instance (vrrp.c:2984-2986).
    pub unicast_peers: &'a [UnicastPeer],
    /// `check_unicast_src` (global or per instance).
    pub check_unicast_src: bool,
    /// `old_unicast_checksum` handling of v3 IPv4 unicast adverts.
    pub unicast_checksum: UnicastChecksum,
}

impl<'a> Expected<'a> {
    /// A multicast instance with keepalived's defaults for everything else.
    pub fn new(
        version: Version,
        vrid: u8,
        auth: &'a Auth,
        interval_cs: u16,
        addrs: &'a [IpAddr],
    ) -> Self {
        Expected {
            version,
            vrid,
            auth,
            interval_cs,
            addrs,
            check_addrs: true,
            unicast_peers: &[],
            check_unicast_src: false,
            unicast_checksum: UnicastChecksum::Auto,
        }
    }
}

/// One `unicast_peer` entry, with its optional `min_ttl`/`max_ttl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: u8,
    pub max_ttl: u8,
}

impl UnicastPeer {
    /// A peer with keepalived's default TTL range, 0-255 (vrrp_data.c:979).
    pub fn new(addr: IpAddr) -> Self {
        UnicastPeer {
            addr,
            min_ttl: 0,
            max_ttl: u8::MAX,
        }
    }
}

/// Which checksum form of v3 IPv4 unicast adverts an instance accepts; see
/// [`Decoded::legacy_checksum`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnicastChecksum {
    /// keepalived's default: the standard form, or the legacy one (and then the
    /// instance switches to sending it too).
    #[default]
    Auto,
    /// `old_unicast_checksum never`: only the standard form.
    Never,
    /// `old_unicast_checksum` given, or switched to by `Auto`: only the legacy
    /// form, as keepalived then sums with 224.0.0.18 (vrrp.c:987-990).
    Legacy,
}

/// Why an advert is dropped by this instance.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("VRID {found} is not ours ({expected})")]
    Vrid { expected: u8, found: u8 },
    #[error("VRID {vrid} is not configured")]
    UnknownVrid { vrid: u8 },
    #[error("version {} advert, we run version {}", .found.number(), .expected.number())]
    Version { expected: Version, found: Version },
    #[error("auth type {found}, we use {expected}")]
    AuthType { expected: u8, found: u8 },
    #[error("wrong PASS password")]
    Password,
    #[error(
        "v2 advertisement interval {}s, ours is {}.{:02}s",
        .found_cs / 100, .expected_cs / 100, .expected_cs % 100
    )]
    Interval { expected_cs: u16, found_cs: u16 },
    #[error("{found} addresses, we have {expected}")]
    AddrCount { expected: usize, found: usize },
    #[error("our address {addr} is missing from the advert")]
    AddrMissing { addr: IpAddr },
    #[error("v3 unicast checksum in the {} form, this instance accepts only the {} one",
        if *.legacy { "legacy (224.0.0.18)" } else { "standard" },
        if *.legacy { "standard" } else { "legacy (224.0.0.18)" })]
    UnicastChecksum { legacy: bool },
    #[error("{} advert on a {} instance",
        if *.expected_unicast { "multicast" } else { "unicast" },
        if *.expected_unicast { "unicast" } else { "multicast" })]
    Cast { expected_unicast: bool },
    #[error("unicast source {src} is not a unicast peer")]
    UnicastSrc { src: IpAddr },
    #[error("TTL/hop limit {ttl} outside the peer's range {min}-{max}")]
    UnicastTtl { ttl: u8, min: u8, max: u8 },
}

impl Invalid {
    /// A short stable name, for per-reason counters.
    pub fn reason(&self) -> &'static str {
        match self {
            Invalid::Vrid { .. } | Invalid::UnknownVrid { .. } => "vrid",
            Invalid::Version { .. } => "version_mismatch",
            Invalid::AuthType { .. } => "auth_type_mismatch",
            Invalid::Password => "auth_mismatch",
            Invalid::Interval { .. } => "interval_mismatch",
            Invalid::AddrCount { .. } => "addr_count",
            Invalid::AddrMissing { .. } => "addr_list",
            Invalid::UnicastChecksum { .. } => "checksum",
            Invalid::Cast { .. } => "cast_mismatch",
            Invalid::UnicastSrc { .. } => "unicast_src",
            Invalid::UnicastTtl { .. } => "ttl",
        }
    }
}

/// What keepalived logs about an advert it nevertheless accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// A v3 interval other than ours is not an error: a Backup adopts it as
    /// Master_Adver_Interval (RFC 5798 §6.4.2; vrrp.c:1944, 2209).
    #[error(
        "v3 interval {}.{:02}s differs from ours {}.{:02}s (a Backup adopts it)",
        .found_cs / 100, .found_cs % 100, .ours_cs / 100, .ours_cs % 100
    )]
    IntervalAdopted { ours_cs: u16, found_cs: u16 },
    /// A legacy-form unicast checksum accepted in `Auto` mode: keepalived logs
    /// "Setting unicast VRRPv3 checksum to old version" and sends that form
    /// from then on (vrrp.c:1007-1012).
    #[error("v3 unicast checksum in the legacy (224.0.0.18) form; switching to it")]
    LegacyChecksum,
}

impl Warning {
    /// A short stable name, for per-reason counters.
    pub fn reason(&self) -> &'static str {
        match self {
            Warning::IntervalAdopted { .. } => "interval_adopted",
            Warning::LegacyChecksum => "legacy_checksum",
        }
    }
}

/// Checks `decoded` against the instance described by `expected`.
///
/// Where keepalived and RFC 5798 §7.1 differ, keepalived wins:
/// - address count or list differing from ours drops the advert whatever its
///   priority; the RFC only logs it when the sender is the owner (priority 255);
/// - unicast adverts are not TTL-checked (only against a peer's min/max_ttl);
/// - v3 has no authentication to check; v2 auth follows RFC 2338 §5.3.6
///   (RFC 3768 dropped PASS, keepalived kept it).
pub fn check(decoded: &Decoded, expected: &Expected) -> Result<Vec<Warning>, Invalid> {
    let advert = &decoded.advert;
    let mut warnings = Vec::new();

    // vrrp_scheduler.c:1001: adverts for other VRIDs never reach the instance.
    if advert.vrid != expected.vrid {
        return Err(Invalid::Vrid {
            expected: expected.vrid,
            found: advert.vrid,
        });
    }
    // vrrp.c:862
    if advert.version != expected.version {
        return Err(Invalid::Version {
            expected: expected.version,
            found: advert.version,
        });
    }
    if advert.version == Version::V2 {
        check_v2(decoded, expected)?;
    }
    // vrrp.c:964 (repeated at 1086)
    if expected.check_addrs && advert.addrs.len() != expected.addrs.len() {
        return Err(Invalid::AddrCount {
            expected: expected.addrs.len(),
            found: advert.addrs.len(),
        });
    }
    check_unicast_checksum(decoded, expected, &mut warnings)?;
    // vrrp.c:1061: multicast adverts only for multicast instances and vice versa.
    let unicast = !expected.unicast_peers.is_empty();
    if decoded.dst.is_multicast() == unicast {
        return Err(Invalid::Cast {
            expected_unicast: unicast,
        });
    }
    if expected.check_addrs {
        // vrrp.c:1092: every VIP of ours must be in the advert.
        if let Some(addr) = expected.addrs.iter().find(|a| !advert.addrs.contains(a)) {
            return Err(Invalid::AddrMissing { addr: *addr });
        }
        if unicast && expected.check_unicast_src {
            check_unicast_src(decoded, expected.unicast_peers)?;
        }
    }
    if advert.version == Version::V3 && advert.interval_cs != expected.interval_cs {
        warnings.push(Warning::IntervalAdopted {
            ours_cs: expected.interval_cs,
            found_cs: advert.interval_cs,
        });
    }
    Ok(warnings)
}

/// v2 authentication and interval, vrrp.c:896-952.
fn check_v2(decoded: &Decoded, expected: &Expected) -> Result<(), Invalid> {
    let advert = &decoded.advert;
    let (ours, theirs) = (expected.auth.type_number(), advert.auth.type_number());
    if ours != theirs {
        return Err(Invalid::AuthType {
            expected: ours,
            found: theirs,
        });
    }
    if let (Auth::Pass(ours), Auth::Pass(theirs)) = (expected.auth, &advert.auth)
        && !constant_time_eq(ours, theirs)
    {
        return Err(Invalid::Password);
    }
    // RFC 3768 §7.1; keepalived drops silently "to prevent concurrent VRID
    // running" (vrrp.c:946). Compared exactly, as keepalived compares its
    // configured interval with the wire's seconds: ours of 1.5 s matches nothing.
    if advert.interval_cs != expected.interval_cs {
        return Err(Invalid::Interval {
            expected_cs: expected.interval_cs,
            found_cs: advert.interval_cs,
        });
    }
    Ok(())
}

/// The `old_unicast_checksum` modes, vrrp.c:985-1016. Only v3 IPv4 adverts to
/// a unicast address have two checksum forms; elsewhere they coincide.
fn check_unicast_checksum(
    decoded: &Decoded,
    expected: &Expected,
    warnings: &mut Vec<Warning>,
) -> Result<(), Invalid> {
    let two_forms = decoded.advert.version == Version::V3
        && decoded.dst.is_ipv4()
        && !decoded.dst.is_multicast();
    if !two_forms {
        return Ok(());
    }
    let legacy = decoded.legacy_checksum;
    match (expected.unicast_checksum, legacy) {
        // keepalived retries with the multicast group only for unicast
        // instances in Auto mode; anywhere else a legacy sum is just wrong.
        (UnicastChecksum::Auto, true) if !expected.unicast_peers.is_empty() => {
            warnings.push(Warning::LegacyChecksum);
            Ok(())
        }
        (UnicastChecksum::Auto | UnicastChecksum::Never, true)
        | (UnicastChecksum::Legacy, false) => Err(Invalid::UnicastChecksum { legacy }),
        _ => Ok(()),
    }
}

/// vrrp.c:1103-1152: the source must be a peer, and the TTL in its range.
fn check_unicast_src(decoded: &Decoded, peers: &[UnicastPeer]) -> Result<(), Invalid> {
    let peer = peers
        .iter()
        .find(|p| p.addr == decoded.src)
        .ok_or(Invalid::UnicastSrc { src: decoded.src })?;
    if decoded.ttl < peer.min_ttl || decoded.ttl > peer.max_ttl {
        return Err(Invalid::UnicastTtl {
            ttl: decoded.ttl,
            min: peer.min_ttl,
            max: peer.max_ttl,
        });
    }
    Ok(())
}

/// Compares passwords without an early exit, as keepalived's
/// memcmp_constant_time() does, so timing does not leak the matching prefix.
fn constant_time_eq(a: &[u8; 8], b: &[u8; 8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
