//! `woof-tail temps humidity door`: several woofs followed at once, each line
//! tagged with its woof. Each woof gets a woof-tail of its own (this program, with
//! the same options and that one name), so local and remote woofs, -F, --since
//! and every format behave exactly as for one; this process reads their lines as
//! they come and tags them: `NAME: line`, a CSV row with a leading `woof` column,
//! a JSON object with a `woof` member.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::process::{Child, ChildStdout, Command, Stdio};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use woof::records::escape::{csv_field, json_str};

use crate::exit::Failure;
use crate::output::{Format, OutputArgs, TaggedFor};

/// Tells a child woof-tail how its parent's stdout looks (`terminal` or `pipe`).
const TAGGED: &str = "WOOF_TAIL_TAGGED";

/// Whether this woof-tail is such a child, and for what.
pub fn tagged_for() -> Option<TaggedFor> {
    match std::env::var(TAGGED).ok()?.as_str() {
        "terminal" => Some(TaggedFor::Terminal),
        _ => Some(TaggedFor::Pipe),
    }
}

/// One followed woof: its child, its name, and the part of a line not yet ended.
struct Feed {
    name: String,
    child: Child,
    out: Option<ChildStdout>,
    partial: Vec<u8>,
}

/// What woof-tail was asked, as far as following several woofs needs to know.
pub struct Asked<'a> {
    pub names: &'a [String],
    pub results: bool,
    pub cursor: bool,
    pub output: &'a OutputArgs,
    /// woof-tail's command line definition, to find the names on ours.
    pub command: clap::Command,
}

pub fn run(args: Asked) -> Result<(), Failure> {
    if args.results {
        return Err(Failure::usage(
            "--results reads one log: give no woof names",
        ));
    }
    if args.cursor {
        return Err(Failure::usage("--cursor resumes one woof: give one name"));
    }
    if args.output.format() == Some(Format::Raw) {
        return Err(Failure::usage(
            "--format raw cannot tag several woofs' elements (try hex, text or csv)",
        ));
    }
    // The positions of the names on our command line, to leave the others out of
    // each child's.
    let argv: Vec<OsString> = std::env::args_os().collect();
    let matches = args
        .command
        .try_get_matches_from(&argv)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let at: Vec<usize> = matches
        .indices_of("names")
        .map(|i| i.collect())
        .unwrap_or_default();
    let exe = std::env::current_exe().map_err(|e| Failure::io("woof-tail", e))?;
    let terminal = std::io::IsTerminal::is_terminal(&io::stdout());
    let mut feeds = Vec::new();
    for (k, name) in args.names.iter().enumerate() {
        let mut cmd = Command::new(&exe);
        for (i, a) in argv.iter().enumerate().skip(1) {
            if !at.contains(&i) || at.get(k) == Some(&i) {
                cmd.arg(a);
            }
        }
        // The child chooses its defaults for our stdout, not for its pipe to us.
        cmd.env(TAGGED, if terminal { "terminal" } else { "pipe" })
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| Failure::io("woof-tail", e))?;
        let out = child.stdout.take();
        feeds.push(Feed {
            name: name.clone(),
            child,
            out,
            partial: Vec::new(),
        });
    }
    let format = args.output.format();
    let template = args.output.template().is_some();
    let stdout = io::stdout();
    let mut buf = vec![0u8; 64 << 10];
    while feeds.iter().any(|f| f.out.is_some()) {
        let open: Vec<usize> = (0..feeds.len())
            .filter(|&i| feeds[i].out.is_some())
            .collect();
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd> = open
                .iter()
                .filter_map(|&i| feeds[i].out.as_ref())
                .map(|o| PollFd::new(o.as_fd(), PollFlags::POLLIN))
                .collect();
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                continue; // EINTR
            }
            fds.iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect()
        };
        let mut out = stdout.lock();
        for (&i, _) in open.iter().zip(&ready).filter(|(_, r)| **r) {
            let f = &mut feeds[i];
            let n = match f.out.as_mut().map(|o| o.read(&mut buf)) {
                Some(Ok(n)) => n,
                _ => 0,
            };
            if n == 0 {
                f.out = None;
                if !f.partial.is_empty() {
                    f.partial.push(b'\n');
                }
            } else {
                f.partial.extend_from_slice(&buf[..n]);
            }
            let Some(end) = f.partial.iter().rposition(|&b| b == b'\n') else {
                continue;
            };
            let mut tagged = Vec::with_capacity(end + 64);
            for line in f.partial[..end].split(|&b| b == b'\n') {
                tag(&mut tagged, &f.name, line, format, template);
            }
            f.partial.drain(..=end);
            if out.write_all(&tagged).and_then(|()| out.flush()).is_err() {
                // Our reader is gone: so are we (the children follow on SIGPIPE).
                return Ok(());
            }
        }
    }
    // Every child ended: the first one that failed says how we end.
    let mut code = 0;
    for f in &mut feeds {
        let status = f.child.wait().map_err(|e| Failure::io("woof-tail", e))?;
        if code == 0 {
            code = status.code().unwrap_or(1);
        }
    }
    if code == 0 {
        Ok(())
    } else {
        Err(Failure {
            code: code as u8,
            message: String::new(),
        })
    }
}

/// Appends `line` tagged with `name`: a JSON object gets a `woof` member first, a
/// CSV row a `woof` column (its header the column's name), anything else
/// `NAME: ` in front.
fn tag(out: &mut Vec<u8>, name: &str, line: &[u8], format: Option<Format>, template: bool) {
    let csv_like = |l: &[u8]| {
        l.starts_with(b"seqno,")
            || l.iter()
                .position(|&b| b == b',')
                .is_some_and(|p| p > 0 && l[..p].iter().all(u8::is_ascii_digit))
    };
    let json =
        !template && matches!(format, Some(Format::Json) | None) && line.first() == Some(&b'{');
    let csv = !template && matches!(format, Some(Format::Csv) | None) && csv_like(line);
    if json {
        out.extend_from_slice(format!("{{\"woof\":{},", json_str(name)).as_bytes());
        out.extend_from_slice(&line[1..]);
    } else if csv && line.starts_with(b"seqno,") {
        out.extend_from_slice(b"woof,");
        out.extend_from_slice(line);
    } else if csv {
        out.extend_from_slice(csv_field(name).as_bytes());
        out.push(b',');
        out.extend_from_slice(line);
    } else {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(line);
    }
    out.push(b'\n');
}
