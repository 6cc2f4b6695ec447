//! Partitions and loss in the lab: nftables rules of the `bridge` family
//! in the bridge namespace, on the forward hook, matching the bridge ports
//! a frame comes in on and goes out of.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

const TABLE: &str = "vigil_lab";

/// The lab's filter chain, created empty.
pub struct Firewall {
    ns: String,
}

impl Firewall {
    pub fn create(ns: &str) -> Result<Firewall> {
        let fw = Firewall { ns: ns.to_string() };
        fw.load(&format!(
            "table bridge {TABLE} {{\n chain forward {{ type filter hook forward priority 0; policy accept; }}\n}}\n"
        ))?;
        Ok(fw)
    }

    /// Replaces the rules at once: frames from a port in `cut`'s first
    /// element to one in its second are dropped, and `loss` percent of all.
    pub fn set(&self, cut: &[(String, String)], loss: u32) -> Result<()> {
        let mut script = format!("flush chain bridge {TABLE} forward\n");
        for (from, to) in cut {
            script.push_str(&format!(
                "add rule bridge {TABLE} forward iifname \"{from}\" oifname \"{to}\" drop\n"
            ));
        }
        if loss > 0 {
            script.push_str(&format!(
                "add rule bridge {TABLE} forward numgen random mod 100 < {loss} drop\n"
            ));
        }
        self.load(&script)
    }

    fn load(&self, script: &str) -> Result<()> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(Error::io("running nft"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .map_err(Error::io("writing to nft"))?;
        }
        let out = child.wait_with_output().map_err(Error::io("running nft"))?;
        Error::check_exit("nft", &out)
    }
}
