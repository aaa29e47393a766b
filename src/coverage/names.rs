//! Agent software names to product ids, through the packs' product names, Chinese names and
//! aliases (`aliases` in signatures/*.toml: the names agent inventories use).
//!
//! Names are compared normalized: lower case, without a trailing locale (`- zh-cn`), bracketed
//! parts (`(x64)`), trademark signs and trailing version numbers. A wrong product is worse than
//! none, so:
//! - a name matches a product when it equals one of the product's normalized names; a one-word
//!   name (Rhino, Unity, Git: Debian has packages of those names) only when the publisher names
//!   the product's vendor, and a name two products share only when the publisher tells them
//!   apart;
//! - or when it starts with one of two words or more ("Adobe Acrobat DC 2024" starts with "adobe
//!   acrobat"), the longest such name winning, unless the words after it make it another thing
//!   (runtime, viewer, SDK, build tools, elements…) or the publisher names another vendor;
//! - a name without the vendor ("Office Professional Plus 2019", published by "Microsoft
//!   Corporation") is tried again, for an exact match only, with the publisher's first word in
//!   front.

use crate::signature::Signatures;
use std::collections::HashMap;

/// Lower case, trailing locale, bracketed parts, trademark signs and trailing version tokens
/// removed, spaces collapsed.
pub fn normalize(name: &str) -> String {
    let mut text = name.to_lowercase();
    // " - zh-cn", " - en-us": Office's language suffix.
    if let Some((head, tail)) = text.rsplit_once(" - ") {
        let tail = tail.trim();
        if tail.len() == 5 && tail.as_bytes()[2] == b'-' {
            text = head.to_string();
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' | '[' | '（' => depth += 1,
            ')' | ']' | '）' => depth = depth.saturating_sub(1),
            '®' | '™' | '©' | ',' | '_' => out.push(' '),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let mut words: Vec<&str> = out.split_whitespace().collect();
    while words.len() > 1
        && words.last().is_some_and(|w| {
            w.chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
                || ["x64", "x86", "64-bit", "32-bit", "amd64", "version"].contains(w)
                || (w.starts_with('v')
                    && w[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
                    && w.len() > 1)
        })
    {
        words.pop();
    }
    words.join(" ")
}

/// Words that, after a product's name, make it another thing: "Microsoft Windows Desktop
/// Runtime" is .NET, "AutoCAD DWG TrueView" a free viewer, "Photoshop Elements" another product.
const OTHER_THING: [&str; 19] = [
    "runtime",
    "runtimes",
    "viewer",
    "trueview",
    "reader",
    "build",
    "tools",
    "elements",
    "sdk",
    "redistributable",
    "subsystem",
    "driver",
    "drivers",
    "plugin",
    "plug-in",
    "add-in",
    "addin",
    "language",
    "documentation",
];

/// Normalized product names to product indices.
#[derive(Debug, Default)]
pub struct NameIndex {
    exact: HashMap<String, Vec<usize>>,
    /// Names of two words or more, longest first, for prefix matches.
    prefixes: Vec<(String, usize)>,
    /// Each product's vendor, normalized.
    vendors: Vec<String>,
}

impl NameIndex {
    /// Indexes every product's name, Chinese name and aliases.
    pub fn new(sigs: &Signatures) -> Self {
        let mut index = NameIndex::default();
        for (i, p) in sigs.products.iter().enumerate() {
            index.vendors.push(normalize(&p.vendor));
            for name in std::iter::once(&p.name)
                .chain(std::iter::once(&p.name_zh))
                .chain(p.aliases.iter())
            {
                let key = normalize(name);
                if key.is_empty() {
                    continue;
                }
                let products = index.exact.entry(key.clone()).or_default();
                if !products.contains(&i) {
                    products.push(i);
                }
                if key.split_whitespace().count() >= 2 {
                    index.prefixes.push((key, i));
                }
            }
        }
        index
            .prefixes
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        index
    }

    /// Whether a publisher names the product's vendor (or says nothing, when `required` is
    /// false).
    fn vendor_agrees(&self, product: usize, publisher: Option<&str>, required: bool) -> bool {
        let Some(publisher) = publisher.map(normalize).filter(|p| !p.is_empty()) else {
            return !required;
        };
        let vendor = &self.vendors[product];
        let first = |s: &str| s.split_whitespace().next().unwrap_or_default().to_string();
        !vendor.is_empty()
            && (publisher.contains(&first(vendor)) || vendor.contains(&first(&publisher)))
    }

    /// An exact match: a one-word name (Rhino, Unity, Git) only with a publisher naming the
    /// vendor, and a name two products share only when the publisher tells them apart.
    fn exact(&self, key: &str, publisher: Option<&str>) -> Option<usize> {
        let products = self.exact.get(key)?;
        let one_word = !key.contains(' ');
        let agreeing: Vec<usize> = products
            .iter()
            .copied()
            .filter(|&p| self.vendor_agrees(p, publisher, one_word))
            .collect();
        match agreeing.as_slice() {
            [p] => Some(*p),
            _ => None,
        }
    }

    /// A prefix match: the longest product name of two words or more that the name starts with,
    /// unless what follows makes it another thing or the publisher names another vendor.
    fn prefix(&self, key: &str, publisher: Option<&str>) -> Option<usize> {
        let (p, i) = self.prefixes.iter().find(|(p, _)| {
            key.strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with(' '))
        })?;
        let rest = &key[p.len()..];
        if rest.split_whitespace().any(|w| OTHER_THING.contains(&w)) {
            return None;
        }
        self.vendor_agrees(*i, publisher, false).then_some(*i)
    }

    /// The product an agent's software name stands for.
    pub fn product_of(&self, name: &str, publisher: Option<&str>) -> Option<usize> {
        let key = normalize(name);
        if key.is_empty() {
            return None;
        }
        self.exact(&key, publisher)
            .or_else(|| self.prefix(&key, publisher))
            .or_else(|| {
                // "Office Professional Plus 2019" by "Microsoft Corporation": the vendor's word
                // in front, for an exact match only.
                let vendor = normalize(publisher?);
                let first = vendor.split_whitespace().next()?;
                if key.starts_with(first) {
                    return None;
                }
                self.exact(&format!("{first} {key}"), publisher)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_locale_brackets_and_versions() {
        assert_eq!(
            normalize("Microsoft Office Professional Plus 2019 - zh-cn"),
            "microsoft office professional plus"
        );
        assert_eq!(normalize("Mozilla Firefox (x64 zh-CN)"), "mozilla firefox");
        assert_eq!(normalize("7-Zip 23.01 (x64)"), "7-zip");
        assert_eq!(normalize("WPS Office v12.1.0"), "wps office");
        assert_eq!(normalize("MATLAB R2024a"), "matlab r2024a");
        assert_eq!(normalize("2019"), "2019");
    }

    fn packs() -> Signatures {
        crate::signature::load_dir(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/signatures"
        )))
        .unwrap()
    }

    #[test]
    fn names_find_their_products_and_not_others() {
        let sigs = packs();
        let index = NameIndex::new(&sigs);
        let id = |name: &str, publisher: Option<&str>| {
            index
                .product_of(name, publisher)
                .map(|i| sigs.products[i].id.as_str())
        };
        let ms = Some("Microsoft Corporation");
        assert_eq!(
            id("Microsoft Office Professional Plus 2019 - zh-cn", ms),
            Some("microsoft.office")
        );
        assert_eq!(
            id("Office Professional Plus 2019", ms),
            Some("microsoft.office")
        );
        assert_eq!(
            id("Microsoft Windows 11 Pro", None),
            Some("microsoft.windows")
        );
        // What the review found mapped wrongly: other things that start like a product, and
        // one-word Debian packages named like Windows software.
        assert_eq!(
            id("Microsoft Windows Desktop Runtime - 8.0.1 (x64)", ms),
            None
        );
        assert_eq!(id("Windows Subsystem for Linux", ms), None);
        assert_eq!(id("rhino", Some("Debian Java Maintainers")), None);
        assert_eq!(id("unity", Some("Ubuntu Developers")), None);
        assert_eq!(id("git", Some("Gerrit Pape")), None);
        assert_eq!(id("rhino", None), None);
    }
}
