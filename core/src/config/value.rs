//! Reading values the way keepalived 2.2.7's `read_unsigned`, `read_int`,
//! `read_decimal_unsigned`, `read_timer` and `check_true_false` do, with their
//! messages, so vigil accepts exactly the numbers keepalived accepts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// keepalived's timers are microseconds: six decimal places of seconds.
pub const TIMER_DIGITS: u32 = 6;

/// `strtoul`-style: optional leading whitespace (possible in quotes), an
/// optional `+`, decimal digits, nothing after.
fn parse_decimal_u64(s: &str) -> Option<u64> {
    let t = s.trim_start_matches(super::text::is_white);
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// An unsigned number in `[min, max]`.
pub fn read_unsigned(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let t = s.trim_start_matches(super::text::is_white);
    if t.starts_with('-') {
        return Err(format!("negative number '{s}'"));
    }
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid number '{s}'"));
    }
    match parse_decimal_u64(s) {
        Some(v) if v <= u64::from(u32::MAX) => {
            if v < min || v > max {
                Err(format!("number '{s}' outside range [{min}, {max}]"))
            } else {
                Ok(v)
            }
        }
        _ => Err(format!("number '{s}' outside unsigned integer range")),
    }
}

/// A signed number in `[min, max]`.
pub fn read_int(s: &str, min: i64, max: i64) -> Result<i64, String> {
    let t = s.trim_start_matches(super::text::is_white);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid number '{s}'"));
    }
    let v: i64 = match digits.parse::<i64>() {
        Ok(v) if v <= i64::from(i32::MAX) + 1 => {
            if neg {
                -v
            } else {
                v
            }
        }
        _ => return Err(format!("number '{s}' outside integer range")),
    };
    if v < i64::from(i32::MIN) || v > i64::from(i32::MAX) {
        return Err(format!("number '{s}' outside integer range"));
    }
    if v < min || v > max {
        return Err(format!("number '{s}' outside range [{min}, {max}]"));
    }
    Ok(v)
}

/// A decimal with up to `shift` places, returned as value × 10^shift, in
/// `[min, max]` (same units). More places than `shift` are rounded, with a
/// warning in `Ok((value, Some(msg)))`, as keepalived does.
pub fn read_decimal(
    s: &str,
    min: u64,
    max: u64,
    shift: u32,
) -> Result<(u64, Option<String>), String> {
    if s.starts_with('-') {
        return Err(format!("negative number '{s}'"));
    }
    let (int_part, frac_part) = match s.split_once('.') {
        Some((a, b)) => (a, b),
        None => (s, ""),
    };
    let mut warn = None;
    let mut frac: String = frac_part.to_string();
    let mut round_up = false;
    if frac.chars().count() > shift as usize {
        warn = Some(format!("number '{s}' has too many decimal places"));
        round_up = frac.chars().nth(shift as usize).is_some_and(|c| c >= '5');
        frac = frac.chars().take(shift as usize).collect();
    }
    while frac.len() < shift as usize {
        frac.push('0');
    }
    let joined = format!("{int_part}{frac}");
    if joined.is_empty() || !joined.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid number '{s}'"));
    }
    let Ok(mut v) = joined.parse::<u64>() else {
        return Err(format!("number '{s}' outside unsigned decimal range"));
    };
    if round_up {
        v = v.saturating_add(1);
    }
    if v < min || v > max {
        let unit = 10u64.pow(shift);
        let w = shift as usize;
        return Err(format!(
            "number '{s}' outside range [{}.{:0w$}, {}.{:0w$}]",
            min / unit,
            min % unit,
            max / unit,
            max % unit
        ));
    }
    Ok((v, warn))
}

/// A time in seconds with up to microsecond precision, in
/// `[min_us, max_us]` microseconds.
pub fn read_timer(s: &str, min_us: u64, max_us: u64) -> Result<(Duration, Option<String>), String> {
    read_decimal(s, min_us, max_us, TIMER_DIGITS).map(|(v, w)| (Duration::from_micros(v), w))
}

/// `on`/`true`/`yes` or `off`/`false`/`no`.
pub fn check_true_false(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// `inet_pton` of the family the text looks like (IPv6 if it has a `:`).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        parse_ipv4(s).map(IpAddr::V4)
    }
}

/// `inet_pton(AF_INET)`: exactly four decimal octets.
pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    s.parse::<Ipv4Addr>().ok()
}

/// keepalived's `inet_stosockaddr` for the address part: anything after a
/// `-` (range) or `/` (mask) is ignored.
pub fn parse_sock_ip(s: &str) -> Option<IpAddr> {
    let cut = s.find(['-', '/']).map_or(s, |i| &s[..i]);
    parse_ip(cut)
}

/// A `use_vmac` MAC address as keepalived reads it: six octets of one or
/// two hex digits between colons, or five (a trailing colon allowed), whose
/// sixth is then the VRID. `None` when it is not one.
pub fn parse_vmac_mac(s: &str) -> Option<Vec<u8>> {
    let s = s
        .strip_suffix(':')
        .filter(|t| t.split(':').count() == 5)
        .unwrap_or(s);
    let octets: Vec<u8> = s
        .split(':')
        .map(|o| {
            (1..=2)
                .contains(&o.len())
                .then(|| u8::from_str_radix(o, 16).ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    matches!(octets.len(), 5 | 6).then_some(octets)
}

/// A port as `inet_stosockaddr` reads it: 1..65535, and a string of zeros
/// meaning "no port" (0).
pub fn read_port(s: &str) -> Result<u16, String> {
    if !s.is_empty() && s.bytes().all(|b| b == b'0') {
        return Ok(0);
    }
    read_unsigned(s, 1, 65535).map(|v| v as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmac_macs_have_five_or_six_octets() {
        assert_eq!(
            parse_vmac_mac("02:1:a:bc:0:33"),
            Some(vec![2, 1, 0xa, 0xbc, 0, 0x33])
        );
        assert_eq!(parse_vmac_mac("02:00:00:00:01"), Some(vec![2, 0, 0, 0, 1]));
        assert_eq!(parse_vmac_mac("02:00:00:00:01:"), Some(vec![2, 0, 0, 0, 1]));
        for bad in [
            "02:00:00:00",
            "02:00:00:00:00:00:00",
            "02:000:0:0:0:0",
            "02::0:0:0:0",
            "0g:0:0:0:0:0",
            ":",
        ] {
            assert_eq!(parse_vmac_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn unsigned_like_keepalived() {
        assert_eq!(read_unsigned("100", 1, 255), Ok(100));
        assert_eq!(read_unsigned("+7", 1, 255), Ok(7));
        assert_eq!(
            read_unsigned("300", 1, 255),
            Err("number '300' outside range [1, 255]".into())
        );
        assert_eq!(
            read_unsigned("-1", 0, 9),
            Err("negative number '-1'".into())
        );
        assert_eq!(
            read_unsigned("12a", 0, 99),
            Err("invalid number '12a'".into())
        );
        assert_eq!(
            read_unsigned("0x10", 0, 99),
            Err("invalid number '0x10'".into())
        );
        assert_eq!(
            read_unsigned("99999999999", 0, 99),
            Err("number '99999999999' outside unsigned integer range".into())
        );
    }

    #[test]
    fn int_like_keepalived() {
        assert_eq!(read_int("-5", -253, 253), Ok(-5));
        assert_eq!(
            read_int("300", -254, 254),
            Err("number '300' outside range [-254, 254]".into())
        );
        assert_eq!(read_int("-", -1, 1), Err("invalid number '-'".into()));
    }

    #[test]
    fn decimals_and_timers() {
        assert_eq!(read_decimal("1.5", 0, u64::MAX, 6), Ok((1_500_000, None)));
        assert_eq!(read_decimal(".25", 0, u64::MAX, 2), Ok((25, None)));
        assert_eq!(
            read_decimal("0.005", 10_000, 255_000_000, 6),
            Err("number '0.005' outside range [0.010000, 255.000000]".into())
        );
        assert_eq!(
            read_decimal("1.1234567", 0, u64::MAX, 6),
            Ok((
                1_123_457,
                Some("number '1.1234567' has too many decimal places".into())
            ))
        );
        assert_eq!(
            read_decimal("1.2.3", 0, u64::MAX, 6),
            Err("invalid number '1.2.3'".into())
        );
        assert_eq!(
            read_timer("3", 1, u64::MAX).map(|t| t.0),
            Ok(Duration::from_secs(3))
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_ip("10.0.0.1"),
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
        );
        assert!(parse_ip("fe80::1").is_some());
        assert_eq!(parse_ip("10.0.0"), None);
        assert_eq!(parse_ip("<IPADDR>"), None);
        assert!(parse_sock_ip("10.0.0.1-20").is_some());
        assert_eq!(read_port("000"), Ok(0));
        assert_eq!(read_port("80"), Ok(80));
        assert!(read_port("70000").is_err());
    }
}
