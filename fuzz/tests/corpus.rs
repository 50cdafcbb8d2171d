//! Replays every committed corpus input and every regression input (crashes the
//! fuzzers found, kept in regressions/<target>/) through the targets' checks.

use std::path::Path;

#[test]
fn corpus_and_regressions_pass_every_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for (target, run) in woof_fuzz::TARGETS {
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let data =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                run(&data);
                replayed += 1;
            }
        }
        assert!(
            root.join("corpus").join(target).is_dir(),
            "no corpus for {target}"
        );
    }
    assert!(replayed > 0);
}
