//! `vigil run` with virtual servers: the built binary in a node of a
//! namespace lab (vigil_netns::lab) checks real servers that are small HTTP
//! listeners in another node, and is watched through its log (the IPVS
//! changes as `ipvsadm` lines), the files its notify scripts touch, signals
//! and `vigil status`. Each test builds its own lab with unique names,
//! deleted even when the test fails. Without root they print `SKIPPED:`.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use vigil_netns::lab::{self, Lab};

mod common;
use common::{Vigil, within};

/// An HTTP server on `addr` inside a namespace: answers every request
/// with 200 until dropped, after which the port refuses connections.
struct Web {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Web {
    fn start(ns: &str, addr: &str) -> Web {
        let addr: SocketAddr = addr.parse().expect("address");
        let netns = File::open(Path::new("/run/netns").join(ns)).expect("namespace file");
        let stop = Arc::new(AtomicBool::new(false));
        let (bound_tx, bound) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            // SAFETY: setns(2) moves only this thread into the namespace.
            let entered = unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(entered, 0, "setns");
            let listener = TcpListener::bind(addr).expect("bind the real server");
            listener.set_nonblocking(true).expect("nonblocking");
            bound_tx.send(()).expect("tell");
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
                        let mut req = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                            match conn.read(&mut buf) {
                                Ok(n) if n > 0 => req.extend_from_slice(&buf[..n]),
                                _ => break,
                            }
                        }
                        let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        bound.recv().expect("real server bound");
        Web {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Node 1 is Master of 10.77.0.100 and directs port 80 to two real servers
/// on node 2: 8081 (HTTP_GET) and 8082 (TCP_CHECK), each weight `w1`/1.
fn conf(dir: &Path, w1: u32) -> String {
    let d = dir.display();
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {{
        10.77.0.100/24
    }}
}}
virtual_server 10.77.0.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum_up \"/usr/bin/touch {d}/quorum_up\"
    quorum_down \"/usr/bin/touch {d}/quorum_down\"
    real_server 10.77.0.2 8081 {{
        weight {w1}
        notify_down \"/usr/bin/touch {d}/down_8081\"
        notify_up \"/usr/bin/touch {d}/up_8081\"
        HTTP_GET {{
            url {{
                path /
                status_code 200
            }}
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }}
    }}
    real_server 10.77.0.2 8082 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }}
    }}
}}
"
    )
}

const VS: &str = "-t 10.77.0.100:80";

#[test]
fn checkers_remove_and_restore_real_servers_run_scripts_and_reload() {
    if let Some(why) = lab::available() {
        println!("SKIPPED: {why}");
        return;
    }
    let lab = Lab::new(2).expect("build the lab");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let web1 = Web::start(lab.node(2), "10.77.0.2:8081");
    let web2 = Web::start(lab.node(2), "10.77.0.2:8082");
    let mut vigil = Vigil::start(&lab, 1, d, &conf(d, 1), &[]);
    let long = Duration::from_secs(10);
    vigil.wait_log(&format!("ipvsadm -A {VS} -s rr"), 1, long);
    vigil.wait_log(
        &format!("ipvsadm -a {VS} -r 10.77.0.2:8081 -m -w 1"),
        1,
        long,
    );
    vigil.wait_log("(VI_1) Entering MASTER STATE", 1, long);

    // The real server stops listening: after its retry it is down.
    drop(web1);
    vigil.wait_log("HTTP_GET on service [10.77.0.2]:tcp:8081 failed.", 1, long);
    vigil.wait_log(
        "Removing service [10.77.0.2]:tcp:8081 from VS [10.77.0.100]:tcp:80",
        1,
        long,
    );
    vigil.wait_log(&format!("ipvsadm -d {VS} -r 10.77.0.2:8081"), 1, long);
    assert!(
        within(long, || d.join("down_8081").exists()).is_some(),
        "notify_down"
    );

    // vigil status, as JSON and as text.
    let json = vigil.json();
    let inst = &json["instances"][0];
    assert_eq!(inst["name"], "VI_1", "{json}");
    assert_eq!(inst["state"], "MASTER", "{json}");
    assert_eq!(inst["effective_priority"], 150, "{json}");
    assert!(
        inst["adverts_sent"].as_u64().is_some_and(|n| n > 0),
        "{json}"
    );
    let vs = &json["virtual_servers"][0];
    assert_eq!(vs["name"], "[10.77.0.100]:tcp:80", "{json}");
    assert_eq!(vs["quorum_up"], true, "{json}");
    let rs = &vs["real_servers"][0];
    assert_eq!(rs["address"], "10.77.0.2:8081", "{json}");
    assert_eq!(rs["alive"], false, "{json}");
    assert_eq!(rs["ipvs_weight"], serde_json::Value::Null, "{json}");
    assert_eq!(rs["checks"][0]["kind"], "HTTP_GET", "{json}");
    assert_eq!(rs["checks"][0]["up"], false, "{json}");
    assert_eq!(vs["real_servers"][1]["ipvs_weight"], 1, "{json}");
    let text = vigil.status_text();
    assert!(
        text.contains("VRRP instance VI_1: MASTER, priority 150 (base 150)"),
        "{text}"
    );
    assert!(
        text.contains("Virtual server [10.77.0.100]:tcp:80: quorum up"),
        "{text}"
    );
    assert!(text.contains("real server 10.77.0.2:8081: down"), "{text}");

    // It comes back.
    let web1 = Web::start(lab.node(2), "10.77.0.2:8081");
    vigil.wait_log(
        &format!("ipvsadm -a {VS} -r 10.77.0.2:8081 -m -w 1"),
        2,
        long,
    );
    assert!(
        within(long, || d.join("up_8081").exists()).is_some(),
        "notify_up"
    );

    // SIGHUP with another weight: exactly one edit.
    std::fs::write(&vigil.conf, conf(d, 3)).expect("write config");
    vigil.signal(libc::SIGHUP);
    vigil.wait_log("Checkers reloaded", 1, long);
    std::thread::sleep(Duration::from_millis(300));
    let edits: Vec<String> = vigil
        .log()
        .lines()
        .filter(|l| l.contains("ipvsadm -e"))
        .map(String::from)
        .collect();
    assert_eq!(edits.len(), 1, "{}", vigil.log());
    assert!(edits[0].ends_with(&format!("ipvsadm -e {VS} -r 10.77.0.2:8081 -m -w 3")));

    // Every real server down: the quorum is lost.
    drop(web1);
    drop(web2);
    vigil.wait_log("Lost quorum for VS [10.77.0.100]:tcp:80", 1, long);
    assert!(
        within(long, || d.join("quorum_down").exists()).is_some(),
        "quorum_down"
    );

    // SIGTERM: the service leaves the table before the daemon exits.
    vigil.signal(libc::SIGTERM);
    let exited = vigil.wait_exit(Duration::from_secs(3));
    assert!(
        exited.is_some_and(|s| s.success()),
        "{exited:?}\n{}",
        vigil.log()
    );
    assert!(
        vigil.log().contains(&format!("ipvsadm -D {VS}")),
        "{}",
        vigil.log()
    );
    assert!(!vigil.socket.exists(), "control socket left behind");
}

/// MISC_CHECK scripts run as vrrp_scripts do: as global_defs' script_user
/// unless the check names its own `user`, and with enable_script_security
/// one that would run as root from a file others may write is refused —
/// not run, so its check fails and the real server leaves the pool.
#[test]
fn misc_check_scripts_run_as_script_user_and_an_unsafe_one_is_refused() {
    if let Some(why) = lab::available() {
        println!("SKIPPED: {why}");
        return;
    }
    let id = Command::new("id")
        .args(["-u", "nobody"])
        .output()
        .expect("id");
    if !id.status.success() {
        println!("SKIPPED: no user nobody");
        return;
    }
    let nobody = String::from_utf8_lossy(&id.stdout).trim().to_string();
    let lab = Lab::new(1).expect("build the lab");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    // Others may enter (nobody runs a script here) but not write.
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let script = |name: &str, mode: u32| {
        let out = d.join(format!("{name}.uid"));
        std::fs::write(&out, "").expect("write");
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let path = d.join(format!("{name}.sh"));
        std::fs::write(&path, format!("#!/bin/sh\nid -u > {}\n", out.display()))
            .expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        (path, out)
    };
    let (plain, plain_uid) = script("plain", 0o755);
    let (own, own_uid) = script("own", 0o755);
    // Anyone may rewrite it, and it would run as root.
    let (open, open_uid) = script("open", 0o777);
    let rs = |port: u16, path: &Path, user: &str| {
        format!(
            "    real_server 10.77.0.2 {port} {{\n        MISC_CHECK {{\n            misc_path {}\n{user}        }}\n    }}\n",
            path.display()
        )
    };
    let conf = format!(
        "global_defs {{\n    script_user nobody\n    enable_script_security\n}}\n\
         virtual_server 10.77.0.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n{}{}{}}}\n",
        rs(8081, &plain, ""),
        rs(8082, &own, "            user root\n"),
        rs(8083, &open, "            user root\n"),
    );
    let vigil = Vigil::start(&lab, 1, d, &conf, &[]);
    let long = Duration::from_secs(10);
    let uid = |f: &Path| {
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    assert!(
        within(long, || !uid(&plain_uid).is_empty()
            && !uid(&own_uid).is_empty())
        .is_some(),
        "the scripts did not run:\n{}",
        vigil.log()
    );
    assert_eq!(uid(&plain_uid), nobody, "script_user");
    assert_eq!(uid(&own_uid), "0", "the check's own user");
    vigil.wait_log(
        "Removing service [10.77.0.2]:tcp:8083 from VS [10.77.0.100]:tcp:80",
        1,
        long,
    );
    assert!(
        vigil.log().contains(&format!(
            "SECURITY VIOLATION - Unsafe permissions found for script '{}'",
            open.display()
        )),
        "{}",
        vigil.log()
    );
    assert_eq!(uid(&open_uid), "", "the refused script ran");
}

/// A FILE_CHECK follows its track_file as it changes (the checker thread
/// watches it with inotify, as the VRRP thread does): with weight 0 a
/// non-zero number takes the real server out, a file moved away brings it
/// back.
#[test]
fn a_file_check_takes_the_real_server_out_and_back_as_the_file_changes() {
    if let Some(why) = lab::available() {
        println!("SKIPPED: {why}");
        return;
    }
    let lab = Lab::new(1).expect("build the lab");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let maint = d.join("maint");
    let conf = format!(
        "track_file maint {{\n    file {}\n    weight 0\n}}\n\
         virtual_server 10.77.0.100 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
         \x20   real_server 10.77.0.2 8081 {{\n        FILE_CHECK {{\n            track_file maint\n        }}\n    }}\n}}\n",
        maint.display()
    );
    let vigil = Vigil::start(&lab, 1, d, &conf, &[]);
    let long = Duration::from_secs(10);
    let add = format!("ipvsadm -a {VS} -r 10.77.0.2:8081 -m -w 1");
    let del = format!("ipvsadm -d {VS} -r 10.77.0.2:8081");
    vigil.wait_log(&add, 1, long);
    std::fs::write(&maint, "1\n").expect("write");
    vigil.wait_log(&del, 1, long);
    std::fs::rename(&maint, d.join("maint.old")).expect("rename");
    vigil.wait_log(&add, 2, long);
}
