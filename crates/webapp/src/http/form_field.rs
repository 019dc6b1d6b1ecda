//! One field of an `application/x-www-form-urlencoded` body, decoded to bytes but not yet read
//! as text, so a handler can refuse bytes that are not UTF-8 (or a field given twice) instead of
//! having a form extractor quietly repair them.

/// Why a form field's raw value cannot be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    Repeated,
    BadEscape,
}

impl FieldProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Repeated => "given more than once",
            Self::BadEscape => "not a valid form value (a % not followed by two hex digits)",
        }
    }
}

/// The bytes of field `name` in an `application/x-www-form-urlencoded` body, decoded but not yet
/// read as text, so the caller can refuse bytes that are not UTF-8 instead of replacing them.
pub fn single_field(body: &[u8], name: &str) -> Result<Option<Vec<u8>>, FieldProblem> {
    let mut found = None;
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        if decode(key)? != name.as_bytes() {
            continue;
        }
        if found.is_some() {
            return Err(FieldProblem::Repeated);
        }
        found = Some(decode(value)?);
    }
    Ok(found)
}

fn decode(text: &[u8]) -> Result<Vec<u8>, FieldProblem> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.iter().copied();
    while let Some(byte) = rest.next() {
        match byte {
            b'+' => out.push(b' '),
            b'%' => {
                let high = rest.next().and_then(hex).ok_or(FieldProblem::BadEscape)?;
                let low = rest.next().and_then(hex).ok_or(FieldProblem::BadEscape)?;
                out.push(high * 16 + low);
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_decoded_to_bytes_once() {
        assert_eq!(
            single_field(b"a=1&username=Ann+B%C3%A9&b=2", "username"),
            Ok(Some("Ann Bé".as_bytes().to_vec()))
        );
        assert_eq!(
            single_field(b"username=%FF", "username"),
            Ok(Some(vec![0xFF]))
        );
        assert_eq!(single_field(b"other=1", "username"), Ok(None));
        assert_eq!(single_field(b"username", "username"), Ok(Some(Vec::new())));
        assert_eq!(
            single_field(b"username=a&username=b", "username"),
            Err(FieldProblem::Repeated)
        );
        assert_eq!(
            single_field(b"username=%G1", "username"),
            Err(FieldProblem::BadEscape)
        );
    }
}
