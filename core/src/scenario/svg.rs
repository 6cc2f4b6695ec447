//! A picture of a run: the timeline both drivers print, drawn as SVG.
//!
//! One lane per node and instance coloured by VRRP state, one per virtual
//! address coloured by its holder, one per client coloured by who answered
//! its probes; steps are dashed lines on the time axis, invariant violations
//! and failed expectations are red. Pure text out, so both drivers (and a
//! test) can draw it.

use super::format::Scenario;
use super::{Event, What};
use crate::Instant;
use crate::vrrp::State;
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 56.0;
const LANE: f64 = 22.0;
const GAP: f64 = 6.0;
const SECTION: f64 = 18.0;
const FONT: &str = "font-family=\"DejaVu Sans, sans-serif\"";

/// Colours of the holders and answerers, in order of first appearance.
const PALETTE: &[&str] = &[
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
];
const NOBODY: &str = "#e15759";

fn state_colour(s: State) -> &'static str {
    match s {
        State::Master => "#59a14f",
        State::Backup => "#4e79a7",
        State::Fault => "#f28e2b",
        State::Init => "#bab0ac",
        State::Stopped => "#eeeeee",
    }
}

/// A lane: its label and its spans (start, end, colour, text).
struct Lane {
    label: String,
    spans: Vec<(Instant, Instant, String, String)>,
}

impl Lane {
    fn new(label: String) -> Self {
        Lane {
            label,
            spans: Vec::new(),
        }
    }

    /// Ends the open span at `at` and opens one with `colour` and `text`
    /// (`None`: nothing drawn until the next change).
    fn change(&mut self, at: Instant, next: Option<(&str, String)>) {
        if let Some(last) = self.spans.last_mut()
            && last.1 == Instant::MAX
        {
            if next
                .as_ref()
                .is_some_and(|(c, t)| *c == last.2 && *t == last.3)
            {
                return;
            }
            last.1 = at;
        }
        if let Some((colour, text)) = next {
            self.spans
                .push((at, Instant::MAX, colour.to_string(), text));
        }
    }
}

/// Draws `events` (a run of `scenario`) as an SVG document.
pub fn render(scenario: &Scenario, events: &[Event]) -> String {
    let end = Instant::ZERO + scenario.duration.0;
    let mut colours: BTreeMap<String, &str> = BTreeMap::new();
    let mut colour_of = |name: &str| -> String {
        let n = colours.len();
        colours
            .entry(name.to_string())
            .or_insert(PALETTE[n % PALETTE.len()])
            .to_string()
    };
    // Lanes in order of first appearance.
    let mut states: Vec<(String, Lane)> = Vec::new();
    let mut vips: Vec<(String, Lane)> = Vec::new();
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut clients: Vec<(String, Lane)> = Vec::new();
    let mut marks: Vec<(Instant, String, bool)> = Vec::new();
    for e in events {
        match &e.what {
            What::State { instance, to, .. } => {
                let key = format!("{} {instance}", e.host);
                let lane = lane(&mut states, &key);
                lane.change(e.at, Some((state_colour(*to), to.to_string())));
            }
            What::VipAdded { addr, .. } | What::VipRemoved { addr, .. } => {
                let key = addr.to_string();
                let held = holders.entry(key.clone()).or_default();
                held.retain(|h| h != &e.host);
                if matches!(e.what, What::VipAdded { .. }) {
                    held.push(e.host.clone());
                }
                let next = match held.as_slice() {
                    [] => None,
                    [one] => Some((colour_of(one), one.clone())),
                    many => Some((NOBODY.to_string(), many.join(" + "))),
                };
                let lane = lane(&mut vips, &key);
                lane.change(e.at, next.as_ref().map(|(c, t)| (c.as_str(), t.clone())));
            }
            What::Probe {
                target,
                answered_by,
                via,
            } => {
                let key = format!("{} → {target}", e.host);
                let text = match (answered_by, via) {
                    (Some(a), Some(v)) => format!("{a} via {v}"),
                    (Some(a), None) => a.clone(),
                    (None, _) => "none".to_string(),
                };
                let colour = answered_by
                    .as_deref()
                    .map_or(NOBODY.to_string(), &mut colour_of);
                let lane = lane(&mut clients, &key);
                lane.change(e.at, Some((colour.as_str(), text)));
            }
            What::Step { action } => {
                let label = match e.host.as_str() {
                    "-" => action.clone(),
                    host => format!("{host} {action}"),
                };
                marks.push((e.at, label, false));
            }
            What::Violation { invariant, .. } => marks.push((e.at, invariant.clone(), true)),
            What::Expectation {
                passed: false,
                index,
                ..
            } => marks.push((e.at, format!("expect {index}"), true)),
            _ => {}
        }
    }
    // A scenario draws the same lanes whichever driver ran it: nodes and
    // clients in the file's order (in the lab their first events race),
    // each node's instances and the addresses as they appeared.
    let nodes: Vec<&str> = scenario.node.iter().map(|n| n.name.as_str()).collect();
    let probers: Vec<&str> = scenario.client.iter().map(|c| c.name.as_str()).collect();
    let rank = |names: &[&str], key: &str| {
        let host = key.split(' ').next();
        names
            .iter()
            .position(|n| Some(*n) == host)
            .unwrap_or(usize::MAX)
    };
    states.sort_by_key(|(k, _)| rank(&nodes, k));
    clients.sort_by_key(|(k, _)| rank(&probers, k));
    draw(scenario, end, &states, &vips, &clients, &marks)
}

fn lane<'a>(lanes: &'a mut Vec<(String, Lane)>, key: &str) -> &'a mut Lane {
    let i = match lanes.iter().position(|(k, _)| k == key) {
        Some(i) => i,
        None => {
            lanes.push((key.to_string(), Lane::new(key.to_string())));
            lanes.len() - 1
        }
    };
    &mut lanes[i].1
}

fn draw(
    scenario: &Scenario,
    end: Instant,
    states: &[(String, Lane)],
    vips: &[(String, Lane)],
    clients: &[(String, Lane)],
    marks: &[(Instant, String, bool)],
) -> String {
    let sections = [
        ("VRRP state", states),
        ("virtual address holder", vips),
        ("client probes answered by", clients),
    ];
    let lanes: usize = sections.iter().map(|(_, l)| l.len()).sum();
    let plot_bottom = TOP + sections.len() as f64 * SECTION + lanes as f64 * (LANE + GAP);
    let height = plot_bottom + 60.0;
    let span = end.as_nanos().max(1) as f64;
    let x = |t: Instant| LEFT + (t.min(end).as_nanos() as f64 / span) * (WIDTH - LEFT - RIGHT);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"22\" {FONT} font-size=\"15\" font-weight=\"bold\">{}</text>",
        escape(&scenario.name)
    );
    let mut y = TOP;
    for (title, lanes) in sections {
        if lanes.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"{:.1}\" {FONT} font-size=\"11\" fill=\"#555\" font-style=\"italic\">{title}</text>",
            y + 12.0
        );
        y += SECTION;
        for (_, lane) in lanes {
            let _ = writeln!(
                s,
                "<text x=\"10\" y=\"{:.1}\" {FONT} font-size=\"11\">{}</text>",
                y + LANE * 0.7,
                escape(&lane.label)
            );
            for (from, to, colour, text) in &lane.spans {
                let (x0, x1) = (x(*from), x((*to).min(end)));
                let w = (x1 - x0).max(0.5);
                let _ = writeln!(
                    s,
                    "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{LANE}\" fill=\"{colour}\"><title>{}</title></rect>",
                    escape(text)
                );
                // A label where it fits (about 6 px per character).
                if w > text.len() as f64 * 6.5 + 6.0 {
                    let ink = if light(colour) { "#333" } else { "white" };
                    let _ = writeln!(
                        s,
                        "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" fill=\"{ink}\">{}</text>",
                        x0 + 4.0,
                        y + LANE * 0.7,
                        escape(text)
                    );
                }
            }
            y += LANE + GAP;
        }
    }
    // Steps and violations across every lane, labelled below the plot.
    for (k, (at, label, bad)) in marks.iter().enumerate() {
        let (colour, dash) = if *bad {
            ("#d62728", "")
        } else {
            ("#333", " stroke-dasharray=\"4 3\"")
        };
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" y1=\"{TOP}\" x2=\"{0:.1}\" y2=\"{plot_bottom:.1}\" stroke=\"{colour}\"{dash}><title>{1}</title></line>",
            x(*at),
            escape(label)
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} fill=\"{colour}\" font-size=\"9\">{}</text>",
            x(*at) + 2.0,
            TOP - 4.0 - (k % 2) as f64 * 10.0,
            escape(label)
        );
    }
    // The time axis.
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{plot_bottom:.1}\" x2=\"{:.1}\" y2=\"{plot_bottom:.1}\" stroke=\"#333\"/>",
        WIDTH - RIGHT
    );
    let step = tick(scenario.duration.0.as_secs_f64());
    let mut t = 0.0;
    while t <= scenario.duration.0.as_secs_f64() + 1e-9 {
        let at = Instant::ZERO + std::time::Duration::from_secs_f64(t);
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" y1=\"{plot_bottom:.1}\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#333\"/><text x=\"{0:.1}\" y=\"{2:.1}\" {FONT} font-size=\"11\" text-anchor=\"middle\">{3}s</text>",
            x(at),
            plot_bottom + 5.0,
            plot_bottom + 18.0,
            trim(t)
        );
        t += step;
    }
    s.push_str("</svg>\n");
    s
}

/// A tick spacing giving about ten ticks: 1, 2 or 5 times a power of ten.
fn tick(secs: f64) -> f64 {
    let raw = (secs / 10.0).max(0.001);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn trim(t: f64) -> String {
    let text = format!("{t:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Whether dark text reads better on `colour` (`#rrggbb`).
fn light(colour: &str) -> bool {
    let channel = |i: usize| {
        colour
            .get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map_or(0.0, f64::from)
    };
    0.299 * channel(1) + 0.587 * channel(3) + 0.114 * channel(5) > 170.0
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scenario::Scenario;
    use std::time::Duration;

    fn ev(ms: u64, host: &str, what: What) -> Event {
        Event {
            at: Instant::ZERO + Duration::from_millis(ms),
            host: host.into(),
            what,
        }
    }

    fn state(ms: u64, host: &str, from: State, to: State) -> Event {
        let what = What::State {
            instance: "VI_1".into(),
            from,
            to,
            reason: "x".into(),
        };
        ev(ms, host, what)
    }

    #[test]
    fn lanes_hold_one_span_per_change_and_marks_the_steps_and_violations() {
        let text = "name = \"a <b>\"\nduration = \"10s\"\n[[node]]\nname = \"a\"\naddr = \"10.0.0.1/24\"\nconfig = ''\n";
        let scenario = Scenario::parse(text).unwrap();
        let probe = |ms, by: Option<&str>| {
            let what = What::Probe {
                target: "10.0.0.100".into(),
                answered_by: by.map(str::to_string),
                via: None,
            };
            ev(ms, "c1", what)
        };
        let events = [
            state(0, "a", State::Init, State::Backup),
            state(3000, "a", State::Backup, State::Master),
            probe(3100, Some("a")),
            probe(3200, Some("a")),
            probe(3300, Some("a")),
            ev(
                5000,
                "a",
                What::Step {
                    action: "crash".into(),
                },
            ),
            ev(
                9000,
                "-",
                What::Violation {
                    invariant: "takeover".into(),
                    detail: String::new(),
                },
            ),
        ];
        let svg = render(&scenario, &events);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains(">a &lt;b&gt;</text>"), "the title is escaped");
        assert!(svg.contains(">a VI_1</text>"));
        assert!(svg.contains(">c1 → 10.0.0.100</text>"));
        // Two state spans, one probe span for three equal answers.
        assert_eq!(svg.matches("<rect x=").count(), 3);
        assert!(svg.contains("<title>a crash</title>"));
        assert!(svg.contains("stroke=\"#d62728\"><title>takeover</title>"));
    }

    #[test]
    fn lanes_follow_the_files_order_not_the_first_event() {
        let text = "name = \"n\"\nduration = \"10s\"\n[[node]]\nname = \"a\"\naddr = \"10.0.0.1/24\"\nconfig = ''\n[[node]]\nname = \"b\"\naddr = \"10.0.0.2/24\"\nconfig = ''\n";
        let scenario = Scenario::parse(text).unwrap();
        // b starts first, as it may in the lab.
        let events = [
            state(1, "b", State::Init, State::Backup),
            state(2, "a", State::Init, State::Backup),
        ];
        let svg = render(&scenario, &events);
        let (a, b) = (svg.find(">a VI_1<"), svg.find(">b VI_1<"));
        assert!(a.is_some() && b.is_some() && a < b, "{svg}");
    }

    #[test]
    fn ticks_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(tick(30.0), 5.0);
        assert_eq!(tick(80.0), 10.0);
        assert_eq!(tick(2.0), 0.2);
        assert_eq!(tick(600.0), 100.0);
    }
}
