//! CSV and JSON records as `woof-put --csv/--json` reads them, against a schema
//! with every type: each line is an element, a skipped line, or an error naming
//! a line and a reason; never a panic.

use woof::records::{Encoder, Input};
use woof::schema::Schema;

const SCHEMA: &str = "t:timestamp,a:i8,b:i16,c:i32,d:i64,e:u8,f:u16,g:u32,h:u64,x:f32,y:f64,ok:bool,s:str12,raw:bytes4";

pub fn run(data: &[u8]) {
    let Ok(schema) = Schema::parse(SCHEMA) else {
        return;
    };
    let size = schema.element_size();
    let (input, detect) = match data.first() {
        Some(b) => (
            if b & 1 == 0 { Input::Csv } else { Input::Json },
            b & 2 != 0,
        ),
        None => return,
    };
    let mut enc = Encoder::new(schema, input, detect);
    for (i, line) in data[1..].split(|&b| b == b'\n').enumerate() {
        if let Ok(Some(el)) = enc.line(line, i as u64 + 1, 1_700_000_000_000_000_000) {
            assert_eq!(el.len(), size);
        }
    }
    let _ = enc.finish();
}
