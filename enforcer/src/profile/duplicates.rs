//! Duplicate keys in one JSON object. serde_json keeps the last of them without a word (into a
//! `Value` and into maps), so `"action": "SCMP_ACT_NOTIFY", "action": "SCMP_ACT_ALLOW"` would
//! silently allow; Go's encoding/json (Docker, runc) also keeps the last. Either reading is a
//! guess at what the author meant, so a profile with one is refused. One pass over the text
//! before it is read, with the JSON path of the second occurrence.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// The JSON path (`$.syscalls[2].action`) of the first key that repeats in its object.
/// `None` for text without duplicates (and for text that is not JSON: the real parse reports
/// that).
pub(crate) fn first_duplicate(text: &str) -> Option<String> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = Walker {
        path: "$".to_string(),
        found: &mut found,
    }
    .deserialize(&mut de);
    found
}

struct Walker<'a> {
    path: String,
    found: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Walker<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walker<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}.{key}", self.path);
            if !seen.insert(key) && self.found.is_none() {
                *self.found = Some(path);
                return Ok(());
            }
            map.next_value_seed(Walker {
                path,
                found: &mut *self.found,
            })?;
            if self.found.is_some() {
                // Stop walking; serde_json does not mind the rest being left unread.
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(());
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(Walker {
                path: format!("{}[{i}]", self.path),
                found: &mut *self.found,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::first_duplicate;

    #[test]
    fn finds_the_second_key_with_its_path() {
        let text = r#"{"syscalls":[{"names":["a"]},{"action":"X","names":[],"action":"Y"}]}"#;
        assert_eq!(
            first_duplicate(text).as_deref(),
            Some("$.syscalls[1].action")
        );
        assert_eq!(first_duplicate(r#"{"a":{"b":1},"c":{"b":2}}"#), None);
        assert_eq!(first_duplicate("not json"), None);
    }
}
