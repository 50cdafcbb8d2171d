//! libwoof rows (issue 13): CSPOT's C API from C. WooFPut against woof's own put
//! in this process; a CSPOT-style handler built with woof-cc against the static C
//! handler every other handler row runs, both under woof-platform, interleaved.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use woof::Durability;

use super::*;

pub(crate) const LIBWOOF: [Spec; 2] = [
    Spec {
        op: "`WooFPut` of 64 B to a local woof, from C through libwoofc.a (batches of 1000)",
        target: "p50 ≤ 1 µs (C CSPOT: 28.5 µs)",
    },
    Spec {
        op: "put → a CSPOT-style C handler's function entered (woof-cc -static; puts 2–4 ms apart, `--workers 1`)",
        target: "p50 ≤ 1.1× the same for `benches/handler.c` (the handler rows' static binary)",
    },
];

const SAMPLES: usize = 200;
const WARMUP: usize = 20;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// libwoofc.a of the build under test, and the flags a static program needs.
fn static_libs() -> Res<String> {
    let lib = binary("libwoofc.a").ok_or("libwoofc.a not built (make build builds it)")?;
    Ok(format!(
        "{} -lgcc_eh -lutil -lrt -lpthread -lm -ldl -lc",
        lib.display()
    ))
}

fn run_ok(mut cmd: Command, what: &str) -> Res<String> {
    let out = cmd.output().ctx(what)?;
    if !out.status.success() {
        return Err(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn libwoof(platform: &Path, handler: &Path, root: &Path) -> Res<Vec<Row>> {
    Ok(vec![put_row(root)?, handler_row(platform, handler, root)?])
}

fn put_row(root: &Path) -> Res<Row> {
    let ns = fs::canonicalize(root).ctx("namespace root")?.join("c-put");
    fs::create_dir_all(&ns).ctx("creating the namespace")?;
    let bin = ns.join("woofput");
    let mut cc = Command::new(std::env::var_os("CC").unwrap_or_else(|| "cc".into()));
    cc.args(["-O2", "-static", "-o"])
        .arg(&bin)
        .arg(format!("-I{}", repo().join("libwoof/include").display()))
        .arg(repo().join("benches/woofput.c"))
        .args(static_libs()?.split_whitespace());
    run_ok(cc, "compiling benches/woofput.c")?;
    let mut cmd = Command::new(&bin);
    cmd.arg(SAMPLES.to_string()).current_dir(&ns).env_clear();
    let c: f64 = run_ok(cmd, "woofput")?
        .trim()
        .parse()
        .map_err(|_| "woofput printed no number".to_string())?;
    // Baseline: woof's own put of the same element, batches of 1000, here.
    let w = create_woof(&ns, "rput", 100_000, Durability::None)?;
    let el = element(0);
    let mut per = Vec::new();
    for b in 0..SAMPLES + 10 {
        let t0 = std::time::Instant::now();
        for _ in 0..1000 {
            w.put(&el).ctx("put")?;
        }
        if b >= 10 {
            per.push(t0.elapsed().as_nanos() as f64 / 1000.0);
        }
    }
    let rust = median(&mut per);
    Ok(Row::measured(
        &LIBWOOF[0],
        format!("p50 {} (median of {SAMPLES} batches)", fmt_ns(c)),
        format!("{} (`Woof::put` of the same, in Rust)", fmt_ns(rust)),
        format!("{} woof's put", fmt_times(c / rust)),
        c <= 1_000.0,
    ))
}

/// benches/cspot_stamp.c through libwoof/woof-cc, wholly static.
fn build_cspot_handler(dir: &Path) -> Res<PathBuf> {
    let out = dir.join("cspot-stamp");
    let mut cmd = Command::new(repo().join("libwoof/woof-cc"));
    cmd.args(["-n", "stamp", "-o"])
        .arg(&out)
        .arg(repo().join("benches/cspot_stamp.c"))
        .arg("-static")
        .env(
            "WOOF_CFLAGS",
            format!("-I{}", repo().join("libwoof/include").display()),
        )
        .env("WOOF_LIBS", static_libs()?);
    run_ok(cmd, "woof-cc benches/cspot_stamp.c")?;
    Ok(out)
}

fn handler_row(platform: &Path, handler: &Path, root: &Path) -> Res<Row> {
    let cspot = build_cspot_handler(root)?;
    let plain = HandlerNs::create(root, "c-plain", handler, RING)?;
    let styled = HandlerNs::create(root, "c-cspot", &cspot, RING)?;
    let (mut fa, mut fb) = (Fifo::open(&plain.dir)?, Fifo::open(&styled.dir)?);
    let pa = PlatformProc::start(platform, &plain.dir, &["--workers", "1"])?;
    let pb = PlatformProc::start(platform, &styled.dir, &["--workers", "1"])?;
    let mut gaps = Gaps(0x9e37_79b9);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..WARMUP + SAMPLES {
        for (hns, fifo, p, out) in [
            (&plain, &mut fa, &pa, &mut a),
            (&styled, &mut fb, &pb, &mut b),
        ] {
            gaps.sleep(START_GAP_MIN, START_GAP_SPREAD);
            let t0 = woof::now_ns();
            let (seqno, _) = hns.put(i, "stamp").ctx("triggered put")?;
            let s = fifo
                .read(HANDLER_TIMEOUT)
                .map_err(|e| format!("element {seqno}: {e}; platform: {}", p.messages()))?;
            s.check(seqno, i)?;
            if i >= WARMUP {
                out.push(s.clock.saturating_sub(t0) as f64);
            }
        }
    }
    pa.stop()?;
    pb.stop()?;
    let (a, b) = (Stats::of(&mut a), Stats::of(&mut b));
    let size = fs::metadata(&cspot).map(|m| m.len() / 1024).unwrap_or(0);
    Ok(Row::measured(
        &LIBWOOF[1],
        format!("{} ({size} kB static handler)", b.show()),
        format!("{} (benches/handler.c's stamp → its main)", a.show()),
        format!("{} the plain C handler", fmt_times(b.p50 / a.p50)),
        b.p50 <= 1.1 * a.p50,
    ))
}
