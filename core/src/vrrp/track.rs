//! Tracked objects and what they do to an instance: add to its priority, or
//! put it in Fault. keepalived's rules (vrrp_track.c), for every kind:
//!
//! - weight 0: the object failing puts the instance in Fault;
//! - weight > 0: the object up adds the weight;
//! - weight < 0: the object down adds the (negative) weight;
//! - `reverse` turns the direction round;
//! - track_file: the file's number times the weight (0 → any non-zero value is a fault).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TrackKind {
    Script,
    Interface,
    File,
    Process,
}

/// The latest news of a tracked object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackState {
    Up,
    Down,
    /// A track_file's number.
    Value(i64),
}

/// One object an instance tracks, as configured on the instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    pub kind: TrackKind,
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
}

/// What one tracked object does to the instance now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Added to the base priority (possibly 0).
    Priority(i32),
    /// The instance must be in Fault.
    Fault,
    /// An unweighted script has not reported yet: the instance waits in Init,
    /// as keepalived waits for a script's first result.
    Pending,
}

/// The largest adjustment a track_file may make (keepalived clamps it too).
const FILE_LIMIT: i64 = 254;

impl Track {
    /// The effect of this object in `state`; `None` means not yet reported.
    pub fn effect(&self, state: Option<TrackState>) -> Effect {
        let sign = if self.reverse { -1 } else { 1 };
        match state {
            None if self.weight == 0 && self.kind == TrackKind::Script => Effect::Pending,
            // Interfaces are up, files read 0 and scripts count as failed until told otherwise.
            None => self.effect(Some(match self.kind {
                TrackKind::Interface => TrackState::Up,
                TrackKind::File => TrackState::Value(0),
                TrackKind::Script | TrackKind::Process => TrackState::Down,
            })),
            Some(TrackState::Value(v)) => {
                if self.weight == 0 {
                    return if v == 0 {
                        Effect::Priority(0)
                    } else {
                        Effect::Fault
                    };
                }
                let adj = v.saturating_mul(i64::from(self.weight) * i64::from(sign));
                // The clamp keeps the value within i32.
                Effect::Priority(adj.clamp(-FILE_LIMIT, FILE_LIMIT) as i32)
            }
            Some(s) => {
                let up = s == TrackState::Up;
                if self.weight == 0 {
                    return if up != self.reverse {
                        Effect::Priority(0)
                    } else {
                        Effect::Fault
                    };
                }
                let adj = match (self.weight > 0, up) {
                    (true, true) | (false, false) => self.weight,
                    _ => 0,
                };
                Effect::Priority(adj * sign)
            }
        }
    }
}

/// A vrrp_script's `rise` and `fall`: how many results in a row change its
/// verdict. The first result decides at once, as keepalived's start does
/// ("one success is enough").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debounce {
    rise: u32,
    fall: u32,
    verdict: Option<bool>,
    streak: u32,
}

impl Debounce {
    pub fn new(rise: u32, fall: u32) -> Self {
        Debounce {
            rise: rise.max(1),
            fall: fall.max(1),
            verdict: None,
            streak: 0,
        }
    }

    /// Takes one result; returns the new verdict when it changes.
    pub fn observe(&mut self, ok: bool) -> Option<TrackState> {
        let state = |ok| if ok { TrackState::Up } else { TrackState::Down };
        match self.verdict {
            None => {
                self.verdict = Some(ok);
                Some(state(ok))
            }
            Some(v) if v == ok => {
                self.streak = 0;
                None
            }
            Some(_) => {
                self.streak += 1;
                if self.streak < if ok { self.rise } else { self.fall } {
                    return None;
                }
                self.verdict = Some(ok);
                self.streak = 0;
                Some(state(ok))
            }
        }
    }
}

/// A track_file's number: the file's first word, 0 when the file is empty,
/// missing or does not start with a number.
pub fn file_value(text: &str) -> i64 {
    text.split_whitespace()
        .next()
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_track_file_reads_its_first_word_as_a_number() {
        assert_eq!(file_value("5\n"), 5);
        assert_eq!(file_value("  -20 extra"), -20);
        assert_eq!(file_value(""), 0);
        assert_eq!(file_value("up"), 0);
    }

    #[test]
    fn rise_and_fall_need_results_in_a_row() {
        let mut d = Debounce::new(2, 3);
        assert_eq!(d.observe(true), Some(TrackState::Up));
        assert_eq!(d.observe(false), None);
        assert_eq!(d.observe(false), None);
        assert_eq!(d.observe(true), None, "a success breaks the streak");
        assert_eq!(d.observe(false), None);
        assert_eq!(d.observe(false), None);
        assert_eq!(d.observe(false), Some(TrackState::Down));
        assert_eq!(d.observe(true), None);
        assert_eq!(d.observe(true), Some(TrackState::Up));
    }

    fn track(kind: TrackKind, weight: i32, reverse: bool) -> Track {
        Track {
            kind,
            name: "t".into(),
            weight,
            reverse,
        }
    }

    #[test]
    fn unweighted_failure_is_a_fault_and_reverse_inverts_it() {
        let t = track(TrackKind::Script, 0, false);
        assert_eq!(t.effect(Some(TrackState::Down)), Effect::Fault);
        assert_eq!(t.effect(Some(TrackState::Up)), Effect::Priority(0));
        let r = track(TrackKind::Script, 0, true);
        assert_eq!(r.effect(Some(TrackState::Up)), Effect::Fault);
    }

    #[test]
    fn positive_weight_adds_when_up_negative_weight_subtracts_when_down() {
        let p = track(TrackKind::Script, 20, false);
        assert_eq!(p.effect(Some(TrackState::Up)), Effect::Priority(20));
        assert_eq!(p.effect(Some(TrackState::Down)), Effect::Priority(0));
        let n = track(TrackKind::Script, -5, false);
        assert_eq!(n.effect(Some(TrackState::Up)), Effect::Priority(0));
        assert_eq!(n.effect(Some(TrackState::Down)), Effect::Priority(-5));
        let pr = track(TrackKind::Interface, 20, true);
        assert_eq!(pr.effect(Some(TrackState::Up)), Effect::Priority(-20));
    }

    #[test]
    fn unreported_unweighted_script_keeps_the_instance_pending() {
        assert_eq!(
            track(TrackKind::Script, 0, false).effect(None),
            Effect::Pending
        );
        assert_eq!(
            track(TrackKind::Interface, 0, false).effect(None),
            Effect::Priority(0)
        );
        assert_eq!(
            track(TrackKind::Script, 10, false).effect(None),
            Effect::Priority(0)
        );
    }

    #[test]
    fn track_file_multiplies_and_clamps() {
        let f = track(TrackKind::File, -10, false);
        assert_eq!(f.effect(Some(TrackState::Value(3))), Effect::Priority(-30));
        assert_eq!(
            f.effect(Some(TrackState::Value(1000))),
            Effect::Priority(-254)
        );
        let z = track(TrackKind::File, 0, false);
        assert_eq!(z.effect(Some(TrackState::Value(2))), Effect::Fault);
        assert_eq!(z.effect(Some(TrackState::Value(0))), Effect::Priority(0));
    }
}
