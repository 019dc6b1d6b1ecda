//! Edits of ini text, for configurations that differ from the shipped ones in a key or two.

/// Sets `key = value` in `[section]`: replaces the key where it is written, or adds it to the
/// section (and the section to the file) where it is not.
pub fn set_key(text: &str, section: &str, key: &str, value: &str) -> String {
    let header = format!("[{section}]");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut in_section = false;
    let mut section_end = None;
    for (index, line) in lines.iter_mut().enumerate() {
        if line.starts_with('[') {
            if in_section {
                break;
            }
            in_section = line.trim() == header;
            continue;
        }
        if !in_section {
            continue;
        }
        // A new key goes after the section's last setting, not after comments that follow it
        // (often a commented-out section of their own).
        if !line.trim().is_empty() && !line.starts_with(['#', ';']) {
            section_end = Some(index + 1);
        }
        let written = line.split(['=', ':']).next().map(str::trim);
        if !line.starts_with([' ', '\t', '#', ';']) && written == Some(key) {
            *line = format!("{key} = {value}");
            // Continuation lines of a multi-line value go with it.
            let rest = lines
                .iter()
                .skip(index + 1)
                .take_while(|l| l.starts_with([' ', '\t']) && !l.trim().is_empty())
                .count();
            lines.drain(index + 1..index + 1 + rest);
            return lines.join("\n") + "\n";
        }
    }
    let entry = format!("{key} = {value}");
    match (in_section || section_end.is_some(), section_end) {
        (true, Some(end)) => lines.insert(end, entry),
        (true, None) => {
            let at = lines
                .iter()
                .position(|l| l.trim() == header)
                .map_or(lines.len(), |p| p + 1);
            lines.insert(at, entry);
        }
        (false, _) => {
            lines.push(header);
            lines.push(entry);
        }
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::set_key;

    #[test]
    fn replaces_adds_and_creates() {
        let text = "[a]\nx = 1\nlist =\n    one\n    two\n[b]\ny = 2\n#[c]\n#z = 3\n";
        assert!(set_key(text, "a", "x", "9").contains("[a]\nx = 9\n"));
        let replaced = set_key(text, "a", "list", "three");
        assert!(replaced.contains("list = three\n[b]"), "{replaced}");
        assert!(set_key(text, "b", "w", "5").contains("[b]\ny = 2\nw = 5\n"));
        assert!(set_key(text, "c", "z", "4").ends_with("#z = 3\n[c]\nz = 4\n"));
    }
}
