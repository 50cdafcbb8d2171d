//! Persistent handlers (`--persistent HANDLER`): one long-lived process receives
//! every element for HANDLER as a frame on its stdin — a header line
//! `WOOF SEQNO LENGTH TRIGGER\n`, then LENGTH bytes — instead of one process per
//! element. If a write finds it dead, it is restarted and that frame is sent to the
//! new process; a frame already accepted into the pipe counts as delivered (a
//! handler that dies before reading it loses it: at-most-once per process).

use std::collections::HashMap;
use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use woof::log::Trigger;
use woof::results::Outcome;
use woof::{ErrorKind, Woof, now_ns};

use super::dispatch::Platform;

struct Running {
    child: Child,
    stdin: ChildStdin,
}

fn spawn(
    p: &Platform,
    handler: &str,
    shepherd: &std::path::Path,
    args: &[String],
) -> std::io::Result<Running> {
    let mut child = Command::new(shepherd)
        .args(args)
        .args(["--persistent", handler])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let label = format!("{handler}[persistent]");
    if let Some(out) = child.stdout.take() {
        p.output.add(out.into(), label.clone(), false);
    }
    if let Some(err) = child.stderr.take() {
        p.output.add(err.into(), label, true);
    }
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin pipe"))?;
    Ok(Running { child, stdin })
}

/// Feeds `handler` every trigger arriving on `rx`, until the channel closes.
pub fn feed(
    p: &Platform,
    handler: &str,
    shepherd: &std::path::Path,
    args: &[String],
    rx: Receiver<(u64, Trigger)>,
) {
    let mut woofs: HashMap<String, Woof> = HashMap::new();
    let mut running: Option<Running> = None;
    for (t, trig) in rx {
        let start = now_ns();
        if !woofs.contains_key(&trig.woof) {
            match p.ns.open_woof_readonly(&trig.woof) {
                Ok(w) => {
                    woofs.insert(trig.woof.clone(), w);
                }
                Err(e) => {
                    p.record(t, &trig, start, 0, Outcome::Failed, &e.to_string());
                    p.finish(t);
                    continue;
                }
            }
        }
        let Some(w) = woofs.get(&trig.woof) else {
            continue;
        };
        let mut frame =
            format!("{} {} {} {t}\n", trig.woof, trig.seqno, w.element_size()).into_bytes();
        let head = frame.len();
        frame.resize(head + w.element_size(), 0);
        if let Err(e) = w.get(trig.seqno, &mut frame[head..]) {
            let outcome = match e.kind() {
                ErrorKind::Evicted { oldest, .. } => Outcome::Evicted { oldest: *oldest },
                _ => Outcome::Failed,
            };
            p.record(
                t,
                &trig,
                start,
                0,
                outcome,
                &e.within(&trig.woof).to_string(),
            );
            p.finish(t);
            continue;
        }
        let mut delivered = false;
        for attempt in 0..3 {
            if running.is_none() {
                if attempt > 0 {
                    std::thread::sleep(Duration::from_millis(100 * attempt));
                }
                match spawn(p, handler, shepherd, args) {
                    Ok(r) => running = Some(r),
                    Err(e) => {
                        p.record(
                            t,
                            &trig,
                            start,
                            0,
                            Outcome::Failed,
                            &format!("starting persistent handler: {e}"),
                        );
                        continue;
                    }
                }
            }
            let Some(r) = running.as_mut() else { continue };
            if r.stdin
                .write_all(&frame)
                .and_then(|()| r.stdin.flush())
                .is_ok()
            {
                delivered = true;
                break;
            }
            // It died: record how, and start a new one for this frame.
            if let Some(mut dead) = running.take() {
                drop(dead.stdin);
                let outcome = match dead.child.wait() {
                    Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                        (Some(c), _) => Outcome::Exited(c),
                        (None, Some(sig)) => Outcome::Signaled(sig),
                        _ => Outcome::Failed,
                    },
                    Err(_) => Outcome::Failed,
                };
                p.record(
                    t,
                    &trig,
                    start,
                    0,
                    outcome,
                    "persistent handler ended; restarting it",
                );
            }
        }
        if delivered {
            p.record(
                t,
                &trig,
                start,
                now_ns().saturating_sub(start),
                Outcome::Delivered,
                "",
            );
        }
        p.finish(t);
    }
    if let Some(mut r) = running {
        // End of input is the signal to finish; one that ignores it is killed.
        drop(r.stdin);
        for _ in 0..100 {
            if matches!(r.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = r.child.kill();
        let _ = r.child.wait();
    }
}
