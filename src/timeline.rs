//! What `vigil sim` and `vigil lab` both do with a judged run: print its
//! timeline (text or JSON lines) and draw it as SVG, with the same options,
//! so a lab run and a simulated one can be read and compared the same way.

use clap::Args as ClapArgs;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_core::scenario::expect::Judged;
use vigil_core::scenario::{Scenario, svg};

#[derive(Debug, ClapArgs)]
pub struct Output {
    /// Print the timeline as JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Draw the timeline as an SVG picture: lanes per instance, address and
    /// client, steps and violations on the time axis.
    #[arg(long, value_name = "OUT")]
    svg: Option<PathBuf>,
}

impl Output {
    /// Writes the picture if asked for, then prints the timeline; exit 0
    /// when every expectation passed, 1 when one failed, 2 when the output
    /// could not be made (`cmd` names the command in the message).
    pub fn emit(&self, cmd: &str, scenario: &Scenario, judged: &Judged) -> ExitCode {
        if let Some(path) = &self.svg
            && let Err(e) = std::fs::write(path, svg::render(scenario, &judged.timeline))
        {
            eprintln!("vigil {cmd}: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        let text = if self.json {
            match json_lines(judged) {
                Ok(text) => text,
                Err(e) => {
                    eprintln!("vigil {cmd}: {e}");
                    return ExitCode::from(2);
                }
            }
        } else {
            judged.render()
        };
        print!("{text}");
        if judged.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

/// One JSON object per event, then `{"expectations":{"passed":N,"failed":M}}`.
fn json_lines(judged: &Judged) -> serde_json::Result<String> {
    let mut out = String::new();
    for e in &judged.timeline {
        out.push_str(&serde_json::to_string(e)?);
        out.push('\n');
    }
    out.push_str(&format!(
        "{{\"expectations\":{{\"passed\":{},\"failed\":{}}}}}\n",
        judged.passed, judged.failed
    ));
    Ok(out)
}
