//! Agent software names to product ids, through the packs' product names, Chinese names and
//! aliases (`aliases` in signatures/*.toml: the names agent inventories use).
//!
//! Names are compared normalized: lower case, without a trailing locale (`- zh-cn`), bracketed
//! parts (`(x64)`), trademark signs and trailing version numbers. A name matches a product when
//! it equals one of the product's normalized names, or starts with one of at least two words
//! ("Adobe Acrobat Reader DC 2024" starts with "adobe acrobat reader"); the longest such name
//! wins. A name without the vendor ("Office Professional Plus 2019", published by "Microsoft
//! Corporation") is tried again with the publisher's first word in front.

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

/// Normalized product names to product indices.
#[derive(Debug, Default)]
pub struct NameIndex {
    exact: HashMap<String, usize>,
    /// Names of two words or more, longest first, for prefix matches.
    prefixes: Vec<(String, usize)>,
}

impl NameIndex {
    /// Indexes every product's name, Chinese name and aliases.
    pub fn new(sigs: &Signatures) -> Self {
        let mut index = NameIndex::default();
        for (i, p) in sigs.products.iter().enumerate() {
            for name in std::iter::once(&p.name)
                .chain(std::iter::once(&p.name_zh))
                .chain(p.aliases.iter())
            {
                let key = normalize(name);
                if key.is_empty() {
                    continue;
                }
                index.exact.entry(key.clone()).or_insert(i);
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

    fn lookup(&self, key: &str) -> Option<usize> {
        if let Some(&i) = self.exact.get(key) {
            return Some(i);
        }
        self.prefixes
            .iter()
            .find(|(p, _)| {
                key.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with(' '))
            })
            .map(|(_, i)| *i)
    }

    /// The product an agent's software name stands for.
    pub fn product_of(&self, name: &str, publisher: Option<&str>) -> Option<usize> {
        let key = normalize(name);
        if key.is_empty() {
            return None;
        }
        self.lookup(&key).or_else(|| {
            let vendor = normalize(publisher?);
            let first = vendor.split_whitespace().next()?;
            if key.starts_with(first) {
                return None;
            }
            self.lookup(&format!("{first} {key}"))
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
}
