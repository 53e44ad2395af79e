//! docs/events.schema.json, generated from the event types (`enforcer events-schema` prints
//! it); the tests below fail when the committed file or docs/events.md fall behind the types.

use super::{Event, SCHEMA};

/// The JSON Schema (draft 2020-12) of one line of the log, as pretty JSON with a final newline.
pub fn generate() -> String {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<Event>();
    schema.insert("$id".into(), SCHEMA.into());
    serde_json::to_string_pretty(&schema).expect("the schema serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    fn docs(name: &str) -> String {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../docs")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_committed_schema_is_the_generated_one() {
        assert!(
            docs("events.schema.json") == generate(),
            "docs/events.schema.json is not what the event types say: regenerate it with \
             `cargo run -p enforcer -- events-schema > docs/events.schema.json`"
        );
    }

    /// Every word the schema knows: property names and enum/const string values.
    fn words(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (key, value) in map {
                    match key.as_str() {
                        "properties" => {
                            if let Value::Object(props) = value {
                                out.extend(props.keys().cloned());
                            }
                        }
                        "const" => out.extend(value.as_str().map(str::to_string)),
                        "enum" => {
                            if let Value::Array(values) = value {
                                out.extend(
                                    values.iter().filter_map(|w| w.as_str()).map(str::to_string),
                                );
                            }
                        }
                        _ => {}
                    }
                    words(value, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| words(i, out)),
            _ => {}
        }
    }

    #[test]
    fn every_kind_field_and_word_the_code_writes_is_in_the_docs_tables() {
        let schema: Value = serde_json::from_str(&generate()).unwrap();
        let mut all = BTreeSet::new();
        words(&schema, &mut all);
        // The tables' rows only: a word mentioned in passing does not document it.
        let tables: String = docs("events.md")
            .lines()
            .filter(|l| l.starts_with('|'))
            .collect();
        let missing: Vec<&String> = all
            .iter()
            .filter(|w| !tables.contains(&format!("`{w}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "the tables of docs/events.md do not name (in backquotes) {missing:?}"
        );
    }
}
