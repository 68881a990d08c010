//! Every reference to the design document in the repository's code, tests and docs names a
//! section that exists in `docs/DESIGN.md`.
//!
//! The walk reads every `.rs` and `.md` file under the workspace root (outside `target/` and
//! `.git/`) and extracts each reference of the form "design", a space (or a line break), the
//! section sign and a section number (`3`, `3.1`, `7.5.1`), in any letter case, or "DESIGN.md"
//! followed the same way. A qualifier after the number ("step 4", "steps 2–3", "round 2") is
//! allowed, and so is a list continued with a comma or "and" (", §3.3, §4", also across a line
//! break in a comment). Each number must be a numbered heading of `docs/DESIGN.md`, such as
//! `## 3. Protocols` or `### 3.1 Distributed key generation`. The test also checks that
//! `docs/SECURITY.md` exists and that README.md links both documents.
//!
//! This file never writes a reference itself (its examples are split across string literals),
//! so the walk does not read its own examples.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` and `.md` file under `dir`, skipping `target` and `.git` folders.
fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "target" && name != ".git" {
                source_files(&path, out);
            }
        } else if name.ends_with(".rs") || name.ends_with(".md") {
            out.push(path);
        }
    }
}

/// Whether `text[at..]` starts with `word`, ignoring ASCII case.
fn starts_with_ci(text: &[char], at: usize, word: &str) -> bool {
    let word: Vec<char> = word.chars().collect();
    text.len() >= at + word.len()
        && text[at..at + word.len()]
            .iter()
            .zip(&word)
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// Whether `text[at..]` starts with `word`, exactly.
fn starts_with(text: &[char], at: usize, word: &str) -> bool {
    let word: Vec<char> = word.chars().collect();
    text.len() >= at + word.len() && text[at..at + word.len()] == word[..]
}

/// Skips spaces and tabs.
fn skip_blanks(text: &[char], mut at: usize) -> usize {
    while at < text.len() && (text[at] == ' ' || text[at] == '\t') {
        at += 1;
    }
    at
}

/// Skips whitespace, line breaks and the comment markers that start a continued comment line.
fn skip_layout(text: &[char], mut at: usize) -> usize {
    loop {
        while at < text.len() && text[at].is_whitespace() {
            at += 1;
        }
        let marker = ["//!", "///", "//"]
            .into_iter()
            .find(|m| starts_with(text, at, m));
        match marker {
            Some(m) => at += m.chars().count(),
            None => return at,
        }
    }
}

/// A run of ASCII digits at `at`: its end, if there is one.
fn digits(text: &[char], at: usize) -> Option<usize> {
    let mut end = at;
    while end < text.len() && text[end].is_ascii_digit() {
        end += 1;
    }
    (end > at).then_some(end)
}

/// A section number `N(.M)*` at `at`: the number and where it ends. A trailing dot that is not
/// followed by a digit (the end of a sentence) is not part of it.
fn section_number(text: &[char], at: usize) -> Option<(String, usize)> {
    let mut end = digits(text, at)?;
    while end < text.len() && text[end] == '.' {
        match digits(text, end + 1) {
            Some(next) => end = next,
            None => break,
        }
    }
    Some((text[at..end].iter().collect(), end))
}

/// Skips a qualifier after a section number: " step 4", " steps 2–3", " steps 1 and 3",
/// " round 2".
fn skip_qualifier(text: &[char], at: usize) -> usize {
    let start = skip_blanks(text, at);
    let Some(word) = ["steps", "step", "rounds", "round"]
        .into_iter()
        .find(|w| starts_with_ci(text, start, w))
    else {
        return at;
    };
    let after_word = start + word.len();
    let Some(mut end) = digits(text, skip_blanks(text, after_word)) else {
        return at;
    };
    loop {
        if end < text.len() && (text[end] == '–' || text[end] == '-') {
            if let Some(next) = digits(text, end + 1) {
                end = next;
                continue;
            }
        }
        if starts_with(text, end, " and ") {
            if let Some(next) = digits(text, end + 5) {
                end = next;
                continue;
            }
        }
        return end;
    }
}

/// The line (from 1) of position `at`.
fn line_of(text: &[char], at: usize) -> usize {
    1 + text[..at].iter().filter(|&&c| c == '\n').count()
}

/// Every design reference in `source`: (line, section number).
fn references(source: &str) -> Vec<(usize, String)> {
    let text: Vec<char> = source.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let word_start = i == 0 || !text[i - 1].is_alphanumeric();
        if !(word_start && starts_with_ci(&text, i, "design")) {
            i += 1;
            continue;
        }
        let mut at = i + "design".len();
        if starts_with_ci(&text, at, ".md") {
            at += ".md".len();
        }
        // A space, or a line break (and the next comment line's marker), before the sign.
        let after_blank = skip_layout(&text, at);
        if after_blank == at || !starts_with(&text, after_blank, "§") {
            i += 1;
            continue;
        }
        let mut sign = after_blank;
        // One reference, then as many continued ones (", §N", " and §N") as follow.
        while let Some((number, end)) = section_number(&text, sign + 1) {
            found.push((line_of(&text, sign), number));
            let at = skip_qualifier(&text, end);
            let next = if starts_with(&text, at, ",") {
                skip_layout(&text, at + 1)
            } else if starts_with(&text, at, " and ") {
                skip_blanks(&text, at + 5)
            } else {
                break;
            };
            if !starts_with(&text, next, "§") {
                break;
            }
            sign = next;
        }
        i = sign + 1;
    }
    found
}

/// The numbered headings of a markdown document: `## 3. Protocols` gives "3",
/// `### 3.1 Distributed key generation` gives "3.1".
fn headings(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix('#')?;
            let rest = rest.trim_start_matches('#').strip_prefix(' ')?;
            let token = rest.split_whitespace().next()?;
            let token = token.strip_suffix('.').unwrap_or(token);
            let text: Vec<char> = token.chars().collect();
            match section_number(&text, 0) {
                Some((number, end)) if end == text.len() => Some(number),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn every_design_reference_names_a_section_of_docs_design_md() {
    let root = root();
    let design = fs::read_to_string(root.join("docs/DESIGN.md"))
        .expect("docs/DESIGN.md exists and is readable");
    let numbered = headings(&design);
    let sections: BTreeSet<&str> = numbered.iter().map(String::as_str).collect();
    assert_eq!(
        sections.len(),
        numbered.len(),
        "docs/DESIGN.md numbers a section twice: {numbered:?}"
    );
    // The code's references keep the meanings of sections 1 to 6 (layout, ciphersuites and
    // keys, protocols, sessions and transport, keystore, command line and approval).
    for n in ["1", "2", "3", "3.1", "3.2", "3.3", "3.4", "4", "5", "6"] {
        assert!(
            sections.contains(n),
            "docs/DESIGN.md has no section {n}; found {numbered:?}"
        );
    }

    let mut files = Vec::new();
    source_files(&root, &mut files);
    let mut total = 0;
    let mut missing = Vec::new();
    for path in &files {
        let Ok(source) = fs::read_to_string(path) else {
            continue;
        };
        for (line, number) in references(&source) {
            total += 1;
            if !sections.contains(number.as_str()) {
                let shown = path.strip_prefix(&root).unwrap_or(path);
                missing.push(format!(
                    "{}:{line}: design §{number} has no section in docs/DESIGN.md",
                    shown.display()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} reference(s) to missing sections:\n{}",
        missing.len(),
        missing.join("\n")
    );
    // A scanner that finds nothing proves nothing: the code cites the design about ninety
    // times.
    assert!(
        total >= 50,
        "found only {total} design references in {} files",
        files.len()
    );
}

#[test]
fn security_md_exists_and_readme_links_both_documents() {
    let root = root();
    let security = fs::read_to_string(root.join("docs/SECURITY.md"))
        .expect("docs/SECURITY.md exists and is readable");
    assert!(!security.trim().is_empty(), "docs/SECURITY.md is empty");
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md is readable");
    for target in ["docs/DESIGN.md", "docs/SECURITY.md"] {
        assert!(
            readme.contains(&format!("]({target})")),
            "README.md does not link {target}"
        );
    }
}

#[test]
fn the_extractor_reads_every_form() {
    // Split literals: a reference written out here would be read by the walk above.
    let (d, cap, upper) = ("design", "Design", "DESIGN");
    let text = [
        d,
        " §3.1 step 2, §3.3, §4 and §6.\n",
        "(RFC 9591 §5, ",
        d,
        " §3.2; RFC 9591 §7.5)\n",
        "//! (",
        d,
        " §3.1 step 4,\n//! §3.3 step 4)\n",
        cap,
        " §2 (must), ",
        d,
        " §3.1 steps 2–3, ",
        d,
        " §3.3 steps 1 and 3, §5\n",
        d,
        " §3.3 round 2. ",
        d,
        ".md §4.2 step 5. ",
        upper,
        ".md §7.10.\n",
        upper,
        ".md\n§7.11 and a comment: ",
        d,
        "\n/// §1.\n",
        d,
        " §N, redesign §9, ",
        d,
        "§8, ",
        d,
        " §",
    ]
    .concat();
    let found: Vec<(usize, String)> = references(&text);
    let want: Vec<(usize, &str)> = vec![
        (1, "3.1"),
        (1, "3.3"),
        (1, "4"),
        (1, "6"),
        (2, "3.2"),
        (3, "3.1"),
        (4, "3.3"),
        (5, "2"),
        (5, "3.1"),
        (5, "3.3"),
        (5, "5"),
        (6, "3.3"),
        (6, "4.2"),
        (6, "7.10"),
        (8, "7.11"),
        (9, "1"),
    ];
    let found: Vec<(usize, &str)> = found.iter().map(|(l, n)| (*l, n.as_str())).collect();
    assert_eq!(found, want);

    let markdown = "# Title\n## 1. Layout\n### 1.1 Crates\n#### 7.5.1 Deep\n## References\n\
                    ### 2.x Not a number\nText 3. not a heading\n";
    assert_eq!(headings(markdown), ["1", "1.1", "7.5.1"]);
}
