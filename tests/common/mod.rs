//! Helpers shared by the integration tests: crafting frames, writing pcap and pcapng files,
//! running the `wiretally` binary.
#![allow(dead_code)]

pub mod kms;

use etherparse::PacketBuilder;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const CLIENT_MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
pub const SERVER_MAC: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];

/// One frame with its capture time in microseconds.
#[derive(Clone)]
pub struct Frame {
    pub ts_us: i64,
    pub data: Vec<u8>,
}

pub fn udp(ts_us: i64, src: ([u8; 4], u16), dst: ([u8; 4], u16), payload: &[u8]) -> Frame {
    let (smac, dmac) = if src.1 < 1024 && dst.1 >= 1024 {
        (SERVER_MAC, CLIENT_MAC)
    } else {
        (CLIENT_MAC, SERVER_MAC)
    };
    let b = PacketBuilder::ethernet2(smac, dmac)
        .ipv4(src.0, dst.0, 64)
        .udp(src.1, dst.1);
    let mut data = Vec::new();
    b.write(&mut data, payload).unwrap();
    Frame { ts_us, data }
}

/// TCP segment; `flags` is a string of S, A, F, P.
pub fn tcp(
    ts_us: i64,
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: &str,
    payload: &[u8],
) -> Frame {
    let from_client = src.1 >= 1024;
    let (smac, dmac) = if from_client {
        (CLIENT_MAC, SERVER_MAC)
    } else {
        (SERVER_MAC, CLIENT_MAC)
    };
    let mut b = PacketBuilder::ethernet2(smac, dmac)
        .ipv4(src.0, dst.0, 64)
        .tcp(src.1, dst.1, seq, 64240);
    if flags.contains('S') {
        b = b.syn();
    }
    if flags.contains('A') {
        b = b.ack(ack);
    }
    if flags.contains('F') {
        b = b.fin();
    }
    if flags.contains('P') {
        b = b.psh();
    }
    let mut data = Vec::new();
    b.write(&mut data, payload).unwrap();
    Frame { ts_us, data }
}

/// A DNS query for `name` of type `qtype`.
pub fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; 1 question
    push_name(&mut m, name);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m
}

/// A response to `dns_query(id, name, 1)` answering with one A record.
pub fn dns_answer_a(id: u16, name: &str, addr: [u8; 4], ttl: u32) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    push_name(&mut m, name);
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]); // pointer to the question name, A, IN
    m.extend_from_slice(&ttl.to_be_bytes());
    m.extend_from_slice(&[0, 4]);
    m.extend_from_slice(&addr);
    m
}

fn push_name(m: &mut Vec<u8>, name: &str) {
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
}

/// A DHCPv4 message (op 1 or 2) with a message type and options 12 and 55 when given.
pub fn dhcp(
    op: u8,
    msg_type: u8,
    xid: u32,
    mac: [u8; 6],
    yiaddr: [u8; 4],
    hostname: Option<&str>,
) -> Vec<u8> {
    let mut m = vec![op, 1, 6, 0];
    m.extend_from_slice(&xid.to_be_bytes());
    m.extend_from_slice(&[0; 8]); // secs, flags, ciaddr
    m.extend_from_slice(&yiaddr);
    m.extend_from_slice(&[0; 8]); // siaddr, giaddr
    m.extend_from_slice(&mac);
    m.extend_from_slice(&[0; 10 + 64 + 128]); // chaddr padding, sname, file
    m.extend_from_slice(&[99, 130, 83, 99]);
    m.extend_from_slice(&[53, 1, msg_type]);
    if let Some(h) = hostname {
        m.extend_from_slice(&[12, h.len() as u8]);
        m.extend_from_slice(h.as_bytes());
    }
    if op == 1 {
        m.extend_from_slice(&[55, 4, 1, 3, 6, 15]);
    } else {
        m.extend_from_slice(&[51, 4, 0, 0, 0x0e, 0x10]);
    }
    m.push(255);
    m
}

/// Writes a classic pcap file with the given DLT.
pub fn write_pcap(path: &Path, linktype: u32, frames: &[Frame]) {
    let mut f = std::fs::File::create(path).unwrap();
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&linktype.to_le_bytes());
    for fr in frames {
        h.extend_from_slice(&((fr.ts_us / 1_000_000) as u32).to_le_bytes());
        h.extend_from_slice(&((fr.ts_us % 1_000_000) as u32).to_le_bytes());
        h.extend_from_slice(&(fr.data.len() as u32).to_le_bytes());
        h.extend_from_slice(&(fr.data.len() as u32).to_le_bytes());
        h.extend_from_slice(&fr.data);
    }
    f.write_all(&h).unwrap();
}

/// Writes a pcapng file: section header, one Ethernet interface (microsecond resolution), and an
/// enhanced packet block per frame.
pub fn write_pcapng(path: &Path, frames: &[Frame]) {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&vec![0; pad]);
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    let mut idb = 1u16.to_le_bytes().to_vec(); // LINKTYPE_ETHERNET
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&65535u32.to_le_bytes());
    block(&mut out, 1, &idb);
    for fr in frames {
        let ts = fr.ts_us as u64;
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(fr.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(fr.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&fr.data);
        block(&mut out, 6, &epb);
    }
    std::fs::write(path, out).unwrap();
}

/// A fresh directory for one test's files.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wiretally-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `wiretally` with these arguments.
pub fn wiretally(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wiretally"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `analyze` with `--events -` and returns the parsed events.
pub fn analyze_events(files: &[&Path], extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["analyze", "--events", "-"];
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    args.extend_from_slice(extra);
    let out = wiretally(&args);
    assert!(
        out.status.success(),
        "analyze failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Events of one type.
pub fn of_type<'a>(events: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["event_type"] == t).collect()
}

/// A child's stderr, read line by line on a thread, so that waiting for a line can time out
/// instead of blocking on a child that hangs silently.
pub struct StderrLines {
    rx: std::sync::mpsc::Receiver<String>,
}

impl StderrLines {
    /// Starts reading the child's (piped) stderr.
    pub fn of(child: &mut std::process::Child) -> Self {
        use std::io::BufRead;
        let err = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        StderrLines { rx }
    }

    /// Waits until a line contains `needle`; fails the test after `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: std::time::Duration) {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(line) => seen.push(line),
                Err(_) => panic!("no {needle:?} within {timeout:?}; stderr so far: {seen:?}"),
            }
        }
    }

    /// Every line after those waited for, until the child closes stderr.
    pub fn rest(self) -> String {
        self.rx.iter().collect::<Vec<_>>().join("\n")
    }
}

/// Why this machine cannot run the namespace lab with these tools, if it cannot.
pub fn lab_missing(tools: &[&str]) -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not root".into());
    }
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .ok()?;
        if !found.status.success() {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

/// A running namespace lab (tests/lab.sh): torn down, with the processes the test started in
/// it, however the test ends.
pub struct Lab {
    /// The lab's id (namespace and interface suffix).
    pub id: String,
    /// What `lab.sh up` printed: LAB_SRV_NS, LAB_SRV_IF…
    pub vars: std::collections::HashMap<String, String>,
    /// Processes to kill before the lab goes down.
    pub children: Vec<std::process::Child>,
}

impl Lab {
    /// The lab script.
    pub fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab.sh")
    }

    /// Builds the lab `id`.
    pub fn up(id: &str) -> Lab {
        let up = Command::new(Self::script())
            .arg("up")
            .env("LAB_ID", id)
            .stderr(std::process::Stdio::inherit())
            .output()
            .unwrap();
        let mut lab = Lab {
            id: id.to_string(),
            vars: Default::default(),
            children: Vec::new(),
        };
        assert!(up.status.success(), "lab up failed");
        lab.vars = String::from_utf8_lossy(&up.stdout)
            .lines()
            .filter_map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        lab
    }

    /// Runs a lab step (`clients`, `tls-clients`) and checks it succeeded.
    pub fn run(&self, step: &str) {
        let out = Command::new(Self::script())
            .args([step, &self.id])
            .env("LAB_ID", &self.id)
            .stderr(std::process::Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "{step} failed");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new(Self::script())
            .args(["down", &self.id])
            .env("LAB_ID", &self.id)
            .output();
    }
}

/// Runs `analyze --events -` with extra arguments on frames written as a pcap; returns the
/// events and stderr.
pub fn run_capture(frames: &[Frame], extra: &[&str]) -> (Vec<serde_json::Value>, String) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = temp_dir(&format!("capture-{n}"));
    let pcap = dir.join("c.pcap");
    write_pcap(&pcap, 1, frames);
    let mut args = vec!["analyze", "--events", "-", pcap.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = wiretally(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (events, String::from_utf8(out.stderr).unwrap())
}

/// Connections from `10.{net}.x.y` to `server:80`, one per microsecond from `start_us`, that each
/// hold one early 1400-byte segment whose gap is never filled: `n` of them fill any stream-buffer
/// budget.
pub fn stalled_streams(net: u8, server: [u8; 4], start_us: i64, n: u32) -> Vec<Frame> {
    let mut frames = Vec::new();
    for i in 0..n {
        let src = [10, net, (i >> 8) as u8, i as u8];
        let at = start_us + i64::from(i);
        frames.push(tcp(at, (src, 30000), (server, 80), 0, 0, "S", b""));
        frames.push(tcp(
            at,
            (src, 30000),
            (server, 80),
            101,
            1,
            "A",
            &[b'x'; 1400],
        ));
    }
    frames
}
