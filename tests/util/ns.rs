//! A temporary namespace and what tests do in it: create, put, get, handlers, a
//! platform.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::*;

/// A temporary namespace directory; removed when dropped.
pub struct Ns {
    dir: TempDir,
}

impl Default for Ns {
    fn default() -> Self {
        Ns::new()
    }
}

impl Ns {
    pub fn new() -> Ns {
        Ns {
            dir: tempfile::Builder::new()
                .prefix("woof-test-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The file of woof `name`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `bin -N <ns>`, run in the namespace directory, `WOOF_*` cleared, with a timeout.
    pub fn cmd(&self, bin: &str) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd(bin));
        cmd.timeout(TIMEOUT);
        cmd
    }

    /// As `cmd`, as a plain `std::process::Command` (for children a test steers).
    pub fn std_cmd(&self, bin: &str) -> std::process::Command {
        let mut cmd = bare_std(bin);
        cmd.arg("-N").arg(self.path()).current_dir(self.path());
        cmd
    }

    /// `woof-create name -s size -n history`, which must succeed quietly.
    pub fn create(&self, name: &str, size: u64, history: u64) {
        self.cmd("woof-create")
            .args([name, "-s", &size.to_string(), "-n", &history.to_string()])
            .assert()
            .success()
            .stdout("")
            .stderr("");
    }

    /// One-shot `woof-put name` of `data`; returns the seqno it printed.
    pub fn put(&self, name: &str, data: &[u8]) -> u64 {
        let out = ok_stdout(self.cmd("woof-put").arg(name).write_stdin(data));
        parse_seqno_line(&out)
    }

    /// `woof-put name --batch` of `data`; returns the FIRST..LAST it printed.
    pub fn put_batch(&self, name: &str, data: &[u8]) -> (u64, u64) {
        let out = ok_stdout(
            self.cmd("woof-put")
                .args([name, "--batch"])
                .write_stdin(data),
        );
        parse_range_line(&out)
    }

    /// `woof-put name --lines --pad` of `text`; returns the FIRST..LAST it printed.
    pub fn put_lines(&self, name: &str, text: &str) -> (u64, u64) {
        let out = ok_stdout(
            self.cmd("woof-put")
                .args([name, "--lines", "--pad"])
                .write_stdin(text),
        );
        parse_range_line(&out)
    }

    /// `woof-get name which --format hex`, which must succeed: one hex string per element.
    pub fn get_hex(&self, name: &str, which: &str) -> Vec<String> {
        let out = ok_stdout(self.cmd("woof-get").args([name, which, "--format", "hex"]));
        String::from_utf8(out)
            .expect("hex output is text")
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// `woof-get name which --format csv`, which must succeed, parsed.
    pub fn get_csv(&self, name: &str, which: &str) -> Vec<CsvLine> {
        let out = ok_stdout(self.cmd("woof-get").args([name, which, "--format", "csv"]));
        String::from_utf8(out)
            .expect("csv output is text")
            .lines()
            .map(CsvLine::parse)
            .collect()
    }

    /// The value of one `key: value` line of `woof-get name --info`.
    pub fn info_field(&self, name: &str, key: &str) -> String {
        let out = ok_stdout(self.cmd("woof-get").args([name, "--info"]));
        let text = String::from_utf8(out).expect("info is text");
        let prefix = format!("{key}:");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {key:?} in --info:\n{text}"))
            .trim()
            .to_string()
    }

    /// The latest seqno, from `--info`.
    pub fn latest(&self, name: &str) -> u64 {
        self.info_field(name, "latest")
            .parse()
            .expect("latest is a number")
    }

    /// The namespace's entries (names only), sorted: to prove nothing was created.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path())
            .expect("read namespace")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The bytes of woof `name`'s file.
    pub fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.file(name)).expect("read woof file")
    }

    /// Every entry of the namespace with the bytes of each regular file (None for
    /// anything else): equal snapshots mean a command changed nothing.
    pub fn snapshot(&self) -> Vec<(String, Option<Vec<u8>>)> {
        self.listing()
            .into_iter()
            .map(|n| {
                let p = self.file(&n);
                let bytes = if p.is_file() {
                    Some(std::fs::read(&p).expect("read file"))
                } else {
                    None
                };
                (n, bytes)
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Handlers (issue 3): handler scripts in a namespace, a running woof-platform,
// and the results log read back through `woof-tail --results --format json`.

impl Ns {
    /// The namespace's canonical absolute path, as handlers see it in
    /// WOOF_NAMESPACE and causes name it.
    pub fn abs(&self) -> String {
        std::fs::canonicalize(self.path())
            .expect("canonicalize namespace")
            .display()
            .to_string()
    }

    /// Writes handler `handlers/NAME` (a whole script, shebang included), mode 0755.
    pub fn handler(&self, name: &str, script: &str) -> PathBuf {
        let dir = self.path().join("handlers");
        std::fs::create_dir_all(&dir).expect("mkdir handlers");
        let path = dir.join(name);
        std::fs::write(&path, script).expect("write handler");
        set_mode(&path, 0o755);
        path
    }

    /// `woof-put NAME --pad -H HANDLER` of `data`, which must succeed saying
    /// nothing but, when no platform serves the namespace, that none does;
    /// returns the seqno it printed.
    pub fn put_h(&self, name: &str, handler: &str, data: &[u8]) -> u64 {
        let out = self.triggered_put(
            self.cmd("woof-put")
                .args([name, "--pad", "-H", handler])
                .write_stdin(data),
        );
        parse_seqno_line(&out)
    }

    /// `woof-put NAME --lines --pad -H HANDLER` of `text`; returns FIRST..LAST.
    pub fn put_lines_h(&self, name: &str, handler: &str, text: &str) -> (u64, u64) {
        let out = self.triggered_put(
            self.cmd("woof-put")
                .args([name, "--lines", "--pad", "-H", handler])
                .write_stdin(text),
        );
        parse_range_line(&out)
    }

    /// What `woof-put -H` says when no platform serves this namespace.
    pub fn no_platform_warning(&self) -> String {
        let dir = self.abs();
        format!(
            "woof-put: no woof-platform serves {dir}: the handler runs when one starts (woof-platform -N {dir})\n"
        )
    }

    /// Runs a put made with -H: it succeeds, and stderr is empty or exactly the
    /// no-platform warning (tests/integration/handlers.rs checks which, when).
    fn triggered_put(&self, cmd: &mut assert_cmd::Command) -> Vec<u8> {
        let out = cmd.assert().success().get_output().clone();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.is_empty() || said == self.no_platform_warning(),
            "unexpected stderr: {said}"
        );
        out.stdout
    }

    /// The latest seqno of the trigger log (`.woof/triggers`), 0 when it does not exist.
    pub fn trigger_latest(&self) -> u64 {
        let state = self.path().join(".woof");
        if !state.join("triggers").exists() {
            return 0;
        }
        let out = bare("woof-get")
            .arg("-N")
            .arg(&state)
            .args(["triggers", "--info"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).expect("info is text");
        text.lines()
            .find_map(|l| l.strip_prefix("latest:"))
            .unwrap_or_else(|| panic!("no latest in --info:\n{text}"))
            .trim()
            .parse()
            .expect("latest is a number")
    }

    /// A file of the namespace as text (lossy), empty when it does not exist.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read(self.path().join(rel))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// `woof-platform -N <ns> ARGS`, running and ready (its "serving" line seen).
    pub fn platform(&self, args: &[&str]) -> Platform {
        let mut cmd = self.std_cmd("woof-platform");
        cmd.args(args);
        Platform::start(cmd)
    }

    /// Every record of the results log (none when it does not exist yet).
    pub fn results(&self) -> Vec<RunRec> {
        let out = self
            .cmd("woof-tail")
            .args(["--results", "-n", "1000000", "--format", "json"])
            .output()
            .expect("run woof-tail --results");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(66) && stderr.contains("no results log yet") {
            return Vec::new();
        }
        assert!(
            out.status.success() && stderr.is_empty(),
            "woof-tail --results failed: {:?} {stderr}",
            out.status
        );
        String::from_utf8(out.stdout)
            .expect("results are text")
            .lines()
            .map(RunRec::parse)
            .collect()
    }

    /// Polls the results log until `done` holds (panics after `limit`, showing them).
    pub fn wait_results(
        &self,
        limit: Duration,
        what: &str,
        mut done: impl FnMut(&[RunRec]) -> bool,
    ) -> Vec<RunRec> {
        let deadline = Instant::now() + limit;
        loop {
            let r = self.results();
            if done(&r) {
                return r;
            }
            if Instant::now() >= deadline {
                let shown: Vec<String> = r.iter().map(RunRec::brief).collect();
                panic!(
                    "{what}: not within {limit:?}; results:\n{}",
                    shown.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Sets a file's permission bits.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
