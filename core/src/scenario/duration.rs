//! Scenario durations: "250ms", "3s", "1.5s", "2m" (and "1h", "500us").

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A duration written the way scenario files write them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub Duration);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid duration {text:?}: expected a number and a unit (us, ms, s, m, h), like \"250ms\" or \"1.5s\""
)]
pub struct DurationError {
    pub text: String,
}

impl Dur {
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let err = || DurationError {
            text: text.to_string(),
        };
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        let (num, unit) = t.split_at(split);
        let nanos_per_unit: u64 = match unit.trim() {
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" | "min" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(err()),
        };
        // Whole and fractional parts in integers, so "0.1s" is exactly 100 ms.
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(err());
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| err())?
        };
        let mut nanos = whole.checked_mul(nanos_per_unit).ok_or_else(err)?;
        let mut scale = nanos_per_unit;
        for digit in frac.chars() {
            let d = u64::from(digit.to_digit(10).ok_or_else(err)?);
            scale /= 10;
            nanos = nanos.checked_add(d * scale).ok_or_else(err)?;
        }
        Ok(Dur(Duration::from_nanos(nanos)))
    }

    pub fn as_duration(self) -> Duration {
        self.0
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.as_nanos();
        if n.is_multiple_of(1_000_000_000) {
            write!(f, "{}s", n / 1_000_000_000)
        } else if n.is_multiple_of(1_000_000) {
            write!(f, "{}ms", n / 1_000_000)
        } else {
            write!(f, "{}us", n / 1_000)
        }
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Dur::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_scenarios_use() {
        assert_eq!(Dur::parse("250ms").unwrap().0, Duration::from_millis(250));
        assert_eq!(Dur::parse("3s").unwrap().0, Duration::from_secs(3));
        assert_eq!(Dur::parse("1.5s").unwrap().0, Duration::from_millis(1500));
        assert_eq!(Dur::parse("2m").unwrap().0, Duration::from_secs(120));
        assert_eq!(Dur::parse("0.1s").unwrap().0, Duration::from_millis(100));
    }

    #[test]
    fn nonsense_is_an_error_not_a_panic() {
        for bad in [
            "",
            "s",
            "10",
            "1.5.5s",
            "-1s",
            "1x",
            "99999999999999999999h",
            ".",
        ] {
            assert!(Dur::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for t in ["250ms", "3s", "1500us"] {
            assert_eq!(Dur::parse(t).unwrap().to_string(), t);
        }
    }
}
