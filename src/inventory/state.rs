//! The inventory kept across restarts and upgrades: hosts (names, products, evidence), alerts,
//! ledger seat use and the addresses learnt for authorized names, written to `inventory.json` in the state folder when a run ends and
//! read back when the next one starts.
//!
//! Products and rules are saved by id, not by their place in the packs, so a restart with
//! changed packs keeps every record whose product and rule still exist. The file is written
//! beside its final name, synced and renamed over it: a crash mid-write leaves the previous
//! file whole. A file that cannot be read is moved aside (never deleted) and the run starts
//! empty, saying so.

use crate::event::Timestamp;
use crate::inventory::Inventory;
use crate::inventory::alerts::Alert;
use crate::inventory::checks::Seat;
use crate::inventory::hosts::Host;
use crate::inventory::software::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The file's name in the state folder.
pub const FILE_NAME: &str = "inventory.json";
/// What the file says it is.
const FORMAT: &str = "wiretally-inventory";
/// The layout's version; a file of another version is moved aside, not misread.
const VERSION: u32 = 1;

/// An address DNS gave for a name on an authorized list, as saved: which list (`true` for
/// licence servers), the address, the entry's port and the name.
type Learnt = (bool, IpAddr, Option<u16>, String);

/// The inventory as the file holds it: an owned copy, so it can be taken between two packets
/// and written on another thread.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    format: String,
    version: u32,
    sensor: Option<String>,
    saved_at: Timestamp,
    /// Product ids: a saved product index is a position here.
    products: Vec<String>,
    /// Rule ids: a saved rule index is a position here.
    rules: Vec<String>,
    hosts: Vec<Host>,
    alerts: Vec<Alert>,
    seats: Vec<(String, Vec<(Seat, Timestamp)>)>,
    #[serde(default)]
    authorized_addresses: Vec<Learnt>,
}

impl Snapshot {
    /// Copies what the file keeps of the inventory.
    pub fn of(inv: &Inventory) -> Snapshot {
        let sigs = &inv.signatures;
        let mut seats: Vec<(String, Vec<(Seat, Timestamp)>)> = inv
            .usage
            .iter()
            .map(|(product, users)| {
                let mut users: Vec<(Seat, Timestamp)> =
                    users.iter().map(|(s, t)| (*s, *t)).collect();
                users.sort_by_key(|(_, t)| *t);
                (product.clone(), users)
            })
            .collect();
        seats.sort_by(|a, b| a.0.cmp(&b.0));
        let mut authorized_addresses: Vec<Learnt> = inv
            .authorized_addresses
            .iter()
            .map(|((license, addr, port), name)| (*license, *addr, *port, name.to_string()))
            .collect();
        authorized_addresses.sort();
        Snapshot {
            format: FORMAT.into(),
            version: VERSION,
            sensor: inv.sensor.clone(),
            saved_at: now(),
            products: sigs.products.iter().map(|p| p.id.clone()).collect(),
            rules: sigs.rules.iter().map(|r| r.id.clone()).collect(),
            hosts: inv.hosts.all().into_iter().cloned().collect(),
            alerts: inv.alerts.all().to_vec(),
            seats,
            authorized_addresses,
        }
    }

    /// Writes the snapshot into `dir` atomically.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let path = path_in(dir);
        let tmp = dir.join(format!("{FILE_NAME}.tmp"));
        let file = std::fs::File::create(&tmp)?;
        let mut out = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut out, self)?;
        out.flush()?;
        out.get_ref().sync_all()?;
        drop(out);
        std::fs::rename(&tmp, &path)?;
        // The rename itself reaches the disk with the folder's entry.
        std::fs::File::open(dir)?.sync_all()
    }
}

/// The state file's path in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX)),
    )
}

/// Writes the inventory to `dir` atomically.
pub fn save(dir: &Path, inv: &Inventory) -> std::io::Result<()> {
    Snapshot::of(inv).write(dir)
}

/// Reads the state file of `dir` into an empty inventory. Returns a line saying what was
/// restored (or why the file was moved aside), `None` when there is no file, and an error only
/// when the folder cannot be used at all.
pub fn restore(dir: &Path, inv: &mut Inventory) -> Result<Option<String>, String> {
    let path = path_in(dir);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    let saved = match serde_json::from_slice::<Snapshot>(&text) {
        Ok(s) if s.format == FORMAT && s.version == VERSION => s,
        Ok(s) => {
            return move_aside(
                &path,
                &format!("format {:?} version {}", s.format, s.version),
            );
        }
        Err(e) => return move_aside(&path, &e.to_string()),
    };
    let map = IndexMap::from_ids(
        saved.products.iter().map(String::as_str),
        saved.rules.iter().map(String::as_str),
        &inv.signatures,
    );
    let mut hosts = saved.hosts;
    let dropped: u64 = hosts
        .iter_mut()
        .map(|h| u64::from(h.software.remap(&map)))
        .sum();
    let count = hosts.len();
    let hosts_refused = inv.hosts.restore(hosts);
    inv.hosts
        .recheck_reported(&inv.signatures, inv.min_confidence);
    for (license, addr, port, name) in saved.authorized_addresses {
        if inv.still_authorized(license, &name, port) {
            inv.authorized_addresses
                .insert((license, addr, port), name.into_boxed_str());
        }
    }
    let alerts = saved.alerts.len();
    let alerts_refused = inv.alerts.restore(saved.alerts);
    for (product, users) in saved.seats {
        let table: HashMap<Seat, Timestamp> = users.into_iter().collect();
        inv.usage.insert(product, table);
    }
    inv.seed_usage();
    let mut line = format!(
        "restored {} host record(s) and {} alert(s) from {} (saved {})",
        count - hosts_refused,
        alerts - alerts_refused,
        path.display(),
        saved.saved_at
    );
    if hosts_refused + alerts_refused > 0 {
        line.push_str(&format!(
            "; {hosts_refused} host record(s) and {alerts_refused} alert(s) over the limits were left out"
        ));
    }
    if dropped > 0 {
        line.push_str(&format!(
            "; {dropped} product record(s) whose product or rules left the packs were dropped"
        ));
    }
    Ok(Some(line))
}

/// Moves an unreadable state file aside, so the run can start and the file can be looked at.
fn move_aside(path: &Path, why: &str) -> Result<Option<String>, String> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".unreadable-{}", now().0 / 1_000_000));
    std::fs::rename(path, &aside).map_err(|e| {
        format!(
            "{}: unreadable ({why}) and cannot be moved aside: {e}",
            path.display()
        )
    })?;
    Ok(Some(format!(
        "warning: {} was unreadable ({why}); moved it to {} and started with an empty inventory",
        path.display(),
        PathBuf::from(aside).display()
    )))
}
