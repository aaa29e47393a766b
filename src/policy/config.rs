//! Reading the policy from the configuration file (config/wiretally.toml documents every key)
//! and the ledger's CSV file.
//!
//! Problems are reported with their file and line: malformed server entries, ledger rows naming
//! a product no signature pack knows, duplicate products, bad seat counts, CSV rows of the wrong
//! shape and an unreadable CSV file all at once; a TOML syntax error, an unknown key or a value
//! of the wrong type stops the reading at the first one (the TOML reader gives no more).

use super::{License, Policy, ServerEntry, ServerList};
use crate::config::line_of;
use crate::signature::{SigError, Signatures};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The `[activation]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActivationDef {
    #[serde(default)]
    authorized_kms: Vec<Spanned<String>>,
    #[serde(default)]
    authorized_license_servers: Vec<Spanned<String>>,
}

/// One `[[licenses]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LicenseDef {
    product: Spanned<String>,
    seats: Spanned<i64>,
    #[serde(default)]
    note: String,
}

/// Columns of the ledger's CSV file, in this order, with this header row.
pub const CSV_COLUMNS: [&str; 3] = ["product", "seats", "note"];

/// Builds the policy from the configuration file's text; `path` names the file in errors and
/// anchors a relative CSV path. Ledger products are checked against `signatures` when any packs
/// are loaded.
pub fn parse(path: &Path, text: &str, signatures: &Signatures) -> Result<Policy, Vec<SigError>> {
    let file = crate::config::parse_file(path, text)?;
    let mut errors = Vec::new();
    let mut err = |offset: usize, message: String| {
        errors.push(SigError {
            file: path.to_path_buf(),
            line: line_of(text, offset),
            message,
        })
    };
    let mut policy = Policy::default();
    for (list, entries, key) in [
        (
            &mut policy.authorized_kms,
            &file.activation.authorized_kms,
            "authorized_kms",
        ),
        (
            &mut policy.authorized_license_servers,
            &file.activation.authorized_license_servers,
            "authorized_license_servers",
        ),
    ] {
        let mut parsed = Vec::new();
        for e in entries {
            match ServerEntry::parse(e.get_ref()) {
                Ok(entry) => parsed.push(entry),
                Err(m) => err(e.span().start, format!("activation.{key}: {m}")),
            }
        }
        *list = ServerList(parsed);
    }
    if let Some(p) = &file.license_overuse_period {
        match humantime::parse_duration(p.get_ref()) {
            Ok(d) if d.as_secs() > 0 => policy.overuse_period_secs = d.as_secs(),
            _ => err(
                p.span().start,
                format!(
                    "license_overuse_period {:?}: a duration such as \"30d\" or \"180days\"",
                    p.get_ref()
                ),
            ),
        }
    }
    let mut rows: CsvRows = file
        .licenses
        .into_iter()
        .map(|l| LedgerRow {
            file: path.to_path_buf(),
            product_line: line_of(text, l.product.span().start),
            seats_line: line_of(text, l.seats.span().start),
            product: l.product.into_inner(),
            seats: *l.seats.get_ref(),
            note: l.note,
        })
        .collect();
    policy.has_ledger = !rows.is_empty();
    if let Some(csv_path) = &file.licenses_csv {
        let relative = Path::new(csv_path.get_ref());
        let full = match path.parent() {
            Some(dir) if relative.is_relative() => dir.join(relative),
            _ => relative.to_path_buf(),
        };
        match read_csv(&full) {
            Ok((csv_rows, csv_errors)) => {
                rows.extend(csv_rows);
                errors.extend(csv_errors);
            }
            Err(e) => errors.push(SigError {
                file: path.to_path_buf(),
                line: line_of(text, csv_path.span().start),
                message: format!("licenses_csv {}: {e}", full.display()),
            }),
        }
        policy.has_ledger = true;
    }
    let known =
        |id: &str| signatures.products.is_empty() || signatures.products.iter().any(|p| p.id == id);
    let mut seen: std::collections::HashMap<String, (PathBuf, usize)> = Default::default();
    for row in rows {
        let LedgerRow {
            file,
            product_line,
            seats_line,
            product,
            seats,
            note,
        } = row;
        let mut problem = |line: usize, message: String| {
            errors.push(SigError {
                file: file.clone(),
                line,
                message,
            })
        };
        if !known(&product) {
            problem(
                product_line,
                format!("licence for {product:?}: no signature pack defines this product id"),
            );
            continue;
        }
        let Ok(seats) = u64::try_from(seats) else {
            problem(
                seats_line,
                format!("licence for {product}: seats {seats} is negative"),
            );
            continue;
        };
        if let Some((f, l)) = seen.insert(product.clone(), (file.clone(), product_line)) {
            problem(
                product_line,
                format!(
                    "licence for {product} is already given at {}:{l}",
                    f.display()
                ),
            );
            continue;
        }
        policy.ledger.insert(product, License { seats, note });
    }
    if errors.is_empty() {
        Ok(policy)
    } else {
        Err(errors)
    }
}

/// One licence as written, with where its product and seats were written.
struct LedgerRow {
    file: PathBuf,
    product_line: usize,
    seats_line: usize,
    product: String,
    seats: i64,
    note: String,
}

type CsvRows = Vec<LedgerRow>;

/// The ledger CSV's rows and its problems.
fn read_csv(path: &Path) -> Result<(CsvRows, Vec<SigError>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    if header.len() < 2
        || header[..2] != CSV_COLUMNS[..2]
        || header.get(2).is_some_and(|h| h != CSV_COLUMNS[2])
    {
        errors.push(SigError {
            file: path.to_path_buf(),
            line: 1,
            message: format!(
                "header {:?}: the columns are {}",
                header.join(","),
                CSV_COLUMNS.join(",")
            ),
        });
        return Ok((rows, errors));
    }
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(SigError {
                    file: path.to_path_buf(),
                    line,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.len() > CSV_COLUMNS.len() {
            errors.push(SigError {
                file: path.to_path_buf(),
                line,
                message: format!(
                    "{} fields, at most {} ({}): quote a note that holds commas",
                    record.len(),
                    CSV_COLUMNS.len(),
                    CSV_COLUMNS.join(",")
                ),
            });
            continue;
        }
        let product = record.get(0).unwrap_or_default().to_string();
        let seats = record.get(1).unwrap_or_default();
        match seats.parse::<i64>() {
            Ok(n) if !product.is_empty() => rows.push(LedgerRow {
                file: path.to_path_buf(),
                product_line: line,
                seats_line: line,
                product,
                seats: n,
                note: record.get(2).unwrap_or_default().to_string(),
            }),
            _ => errors.push(SigError {
                file: path.to_path_buf(),
                line,
                message: format!(
                    "row {:?}: a product id and a whole number of seats",
                    record.iter().collect::<Vec<_>>().join(",")
                ),
            }),
        }
    }
    Ok((rows, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Policy, Vec<SigError>> {
        parse(Path::new("wiretally.toml"), text, &Signatures::default())
    }

    #[test]
    fn the_issue_example_parses() {
        let p = parse_text(
            r#"
license_overuse_period = "90d"

[activation]
authorized_kms = ["kms.example.edu.cn", "172.16.8.10"]
authorized_license_servers = ["172.16.8.11", "lic.example.edu.cn:27000"]

[[licenses]]
product = "microsoft.office"
seats = 500
note = "Microsoft campus agreement 2025-2028"
"#,
        )
        .unwrap();
        assert_eq!(p.authorized_kms.0.len(), 2);
        assert!(p.authorized_license_servers.allows(
            "203.0.113.1".parse().unwrap(),
            27000,
            &["lic.example.edu.cn"]
        ));
        assert_eq!(p.ledger["microsoft.office"].seats, 500);
        assert!(p.has_ledger);
        assert_eq!(p.overuse_period_secs, 90 * 86_400);
    }

    #[test]
    fn an_empty_file_is_no_policy() {
        assert_eq!(parse_text(""), Ok(Policy::default()));
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let errors = parse_text(
            "license_overuse_period = \"soon\"\n[activation]\nauthorized_kms = [\"ok.example\", \"bad host\"]\nauthorized_license_servers = [\"x:0\"]\n[[licenses]]\nproduct = \"a.b\"\nseats = -1\n[[licenses]]\nproduct = \"a.b\"\nseats = 2\n[[licenses]]\nproduct = \"a.b\"\nseats = 3\n",
        )
        .unwrap_err();
        let got: Vec<(usize, bool)> = errors
            .iter()
            .map(|e| (e.line, e.to_string().starts_with("wiretally.toml:")))
            .collect();
        assert_eq!(
            got,
            [(3, true), (4, true), (1, true), (7, true), (12, true)],
            "{errors:?}"
        );
        assert!(errors[3].message.contains("negative"));
        assert!(
            errors[4]
                .message
                .contains("already given at wiretally.toml:9")
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let errors = parse_text("[activation]\nauthorised_kms = []\n").unwrap_err();
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].message.contains("authorised_kms"), "{errors:?}");
    }
}
