//! Schema text as users write it and as woof headers store it: parsing never
//! panics, a parsed schema's canonical text parses to the same schema, and every
//! field of an element decodes or says why not.

use woof::schema::Schema;

pub fn run(data: &[u8]) {
    // Schema text first, then (after a NUL) bytes of an element to decode.
    let (text, el) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(Some(schema)) = Schema::from_header(text) else {
        return;
    };
    let canonical = schema.text();
    let again = Schema::parse(&canonical);
    assert!(
        again.as_ref().is_ok_and(|s| *s == schema),
        "canonical text {canonical:?} does not parse back: {again:?}"
    );
    let mut element = el.to_vec();
    element.resize(schema.element_size(), 0);
    for field in schema.fields() {
        if let Ok(v) = field.decode(&element) {
            let mut out = vec![0u8; schema.element_size()];
            let stored = field.encode(v, &mut out);
            assert!(
                stored.is_ok(),
                "{}: a decoded value does not encode: {stored:?}",
                field.name
            );
        }
    }
}
