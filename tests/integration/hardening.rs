//! Issue 9: the bugs outside testers found, each reproduced as they wrote it up,
//! through the real binaries: symlinks out of a namespace, `--force` on files that
//! are not woofs, write-only clients, SIGHUP, PATH under isolation, remote errors,
//! exit codes, ACL paths, stale locks, truncation under a server, seqno overflow.

use crate::util;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use util::*;

/// A key directory per party: the server's (with `acl`) and one client's, named
/// `client` in the server's clients/, trusted by it.
struct Keys {
    _dir: Ns,
    server: PathBuf,
    client: PathBuf,
}

impl Keys {
    fn new(client_name: &str) -> Keys {
        let dir = Ns::new();
        let (server, client) = (dir.path().join("server"), dir.path().join(client_name));
        for d in [&server, &client] {
            bare("woof-proxy")
                .arg("--gen-keys")
                .arg(d)
                .assert()
                .success();
        }
        std::fs::copy(
            client.join("id.pub"),
            server.join(format!("clients/{client_name}.pub")),
        )
        .expect("allow client");
        Keys {
            _dir: dir,
            server,
            client,
        }
    }

    fn acl(&self, text: &str) {
        std::fs::write(self.server.join("acl"), text).expect("acl");
    }

    /// A keyed proxy exporting `ns`; the client trusts it.
    fn proxy(&self, ns: &Path) -> Proxy {
        let mut cmd = bare_std("woof-proxy");
        cmd.arg("--export")
            .arg(ns)
            .args(["--listen", "tcp://127.0.0.1:0", "--keys"])
            .arg(&self.server);
        let proxy = Proxy::spawn(cmd, 1);
        std::fs::copy(
            self.server.join("id.pub"),
            self.client
                .join(format!("servers/{}.pub", proxy.authority())),
        )
        .expect("trust server");
        proxy
    }

    /// `bin --keys CLIENT`.
    fn cmd(&self, bin: &str) -> assert_cmd::Command {
        let mut c = bare(bin);
        c.arg("--keys").arg(&self.client);
        c
    }
}

/// Woof `name`'s file of `ns`, open for writing, for a test to damage it as a
/// user or a fault would (truncate it, overwrite a header word).
fn damage_file(ns: &Ns, name: &str) -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open(ns.file(name))
        .expect("open")
}

// 1. Symlinks never lead out of a namespace.

#[test]
fn a_symlink_in_a_namespace_reaches_nothing_outside_it() {
    let ns = Ns::new();
    let outside = Ns::new();
    outside.create("w", 1, 10);
    symlink(outside.file("w"), ns.file("lnk")).expect("symlink");
    symlink("/no/such/file", ns.file("dangling")).expect("symlink");
    ns.create("real", 1, 10);
    let proxy = Proxy::start(&[ns.path()], &[]);
    let link_msg = "not a woof (a symbolic link; woofs are never reached through links)";
    for (uri, name) in [
        (proxy.uri(ns.path(), "lnk"), "lnk"),
        (proxy.uri(ns.path(), "dangling"), "dangling"),
    ] {
        // Remote: the same answer whether the target exists or not.
        fails(
            bare("woof-put").arg(&uri).write_stdin("x"),
            65,
            &format!("woof-put: {uri}: {link_msg}"),
        );
        fails(
            bare("woof-get").arg(&uri),
            65,
            &format!("woof-get: {uri}: {link_msg}"),
        );
        // Local tools decide the same way.
        fails(
            ns.cmd("woof-put").arg(name).write_stdin("x"),
            65,
            &format!("woof-put: {name}: {link_msg}"),
        );
    }
    assert_eq!(outside.latest("w"), 0, "the outside woof was written");
    // A real woof beside them still works.
    let out = ok_stdout(
        bare("woof-put")
            .arg(proxy.uri(ns.path(), "real"))
            .write_stdin("y"),
    );
    assert_eq!(parse_seqno_line(&out), 1);
}

#[test]
fn a_namespace_whose_handlers_or_state_is_a_symlink_is_refused() {
    let elsewhere = Ns::new();
    std::fs::create_dir(elsewhere.path().join("handlers")).expect("mkdir");
    let ns = Ns::new();
    ns.create("w", 8, 10);
    symlink(
        elsewhere.path().join("handlers"),
        ns.path().join("handlers"),
    )
    .expect("symlink");
    // A put naming a handler refuses before anything is written ...
    ns.cmd("woof-put")
        .args(["w", "-H", "h"])
        .write_stdin("12345678")
        .assert()
        .code(77)
        .stderr(predicates::str::contains(
            "is a symbolic link; a namespace's handlers/ must be a real directory inside it",
        ));
    assert_eq!(ns.latest("w"), 0);
    // ... and the platform does not start.
    ns.cmd("woof-platform")
        .assert()
        .code(77)
        .stderr(predicates::str::contains("handlers: is a symbolic link"));

    let ns2 = Ns::new();
    ns2.create("w", 8, 10);
    std::fs::create_dir(ns2.path().join("handlers")).expect("mkdir");
    symlink(elsewhere.path(), ns2.path().join(".woof")).expect("symlink");
    ns2.cmd("woof-platform")
        .assert()
        .code(77)
        .stderr(predicates::str::contains(".woof: is a symbolic link"));
    assert!(
        !elsewhere.path().join("triggers").exists()
            && !elsewhere.path().join("platform.lock").exists(),
        "state was written through the link"
    );
}

// 2. --force replaces only a woof.

#[test]
fn force_replaces_a_woof_and_refuses_anything_else() {
    let ns = Ns::new();
    std::fs::write(ns.file("notes.txt"), "hello\n").expect("notes");
    fails(
        ns.cmd("woof-create")
            .args(["notes.txt", "-s", "8", "-n", "1", "--force"]),
        73,
        "woof-create: notes.txt: is not a woof (no woof signature); --force replaces only a woof \
         (remove it yourself if it must go)",
    );
    assert_eq!(ns.read("notes.txt"), "hello\n");
    std::fs::write(ns.file("empty"), "").expect("empty");
    ns.cmd("woof-create")
        .args(["empty", "-s", "8", "-n", "1", "--force"])
        .assert()
        .code(73);
    assert_eq!(std::fs::metadata(ns.file("empty")).expect("empty").len(), 0);
    std::fs::create_dir(ns.file("dir")).expect("dir");
    fails(
        ns.cmd("woof-create")
            .args(["dir", "-s", "8", "-n", "1", "--force"]),
        73,
        "woof-create: dir: is not a woof (not a regular file); --force replaces only a woof \
         (remove it yourself if it must go)",
    );
    symlink(ns.file("notes.txt"), ns.file("lnk")).expect("symlink");
    ns.cmd("woof-create")
        .args(["lnk", "-s", "8", "-n", "1", "--force"])
        .assert()
        .code(73)
        .stderr(predicates::str::contains("is a symbolic link, not a woof"));
    assert!(ns.file("lnk").is_symlink());

    // A woof, even a damaged one, is replaced.
    ns.create("w", 8, 4);
    ns.put("w", b"12345678");
    let f = damage_file(&ns, "w");
    f.set_len(100).expect("truncate");
    ns.cmd("woof-create")
        .args(["w", "-s", "8", "-n", "2", "--force"])
        .assert()
        .success();
    assert_eq!(ns.info_field("w", "history"), "2");
}

#[test]
fn remote_force_create_refuses_what_is_not_a_woof() {
    let ns = Ns::new();
    std::fs::write(ns.file("notes.txt"), "hello\n").expect("notes");
    let keys = Keys::new("admin");
    keys.acl(&format!("{} admin all\n", ns.path().display()));
    let proxy = keys.proxy(ns.path());
    let uri = proxy.uri(ns.path(), "notes.txt");
    keys.cmd("woof-create")
        .args([&uri, "-s", "8", "-n", "1", "--force"])
        .assert()
        .code(73)
        .stderr(format!(
            "woof-create: {uri}: is not a woof (no woof signature); --force replaces only a \
             woof (remove it yourself if it must go)\n"
        ));
    assert_eq!(ns.read("notes.txt"), "hello\n");
}

// 3. and 10. Write-only clients can put in every form; ACL paths are normalised.

#[test]
fn a_write_only_client_puts_in_every_form() {
    let ns = Ns::new();
    ns.create("temps", 8, 100);
    bare("woof-create")
        .arg("-N")
        .arg(ns.path())
        .args(["typed", "-n", "100", "--schema", "sensor:str8,celsius:f64"])
        .assert()
        .success();
    let keys = Keys::new("edge1");
    // The trailing slash a user is likely to type.
    keys.acl(&format!("{}/ edge1 write\n", ns.path().display()));
    let proxy = keys.proxy(ns.path());
    let temps = proxy.uri(ns.path(), "temps");
    let typed = proxy.uri(ns.path(), "typed");
    let out = ok_stdout(
        keys.cmd("woof-put")
            .args([&temps, "--pad"])
            .write_stdin("x"),
    );
    assert_eq!(parse_seqno_line(&out), 1);
    let out = ok_stdout(
        keys.cmd("woof-put")
            .args([&temps, "--lines", "--pad"])
            .write_stdin("a\nb\n"),
    );
    assert_eq!(parse_range_line(&out), (2, 3));
    let out = ok_stdout(
        keys.cmd("woof-put")
            .args([&typed, "--csv", "--no-header"])
            .write_stdin("kitchen,21.5\n"),
    );
    assert_eq!(parse_range_line(&out), (1, 1));
    let out = ok_stdout(
        keys.cmd("woof-put")
            .args([&typed, "--json"])
            .write_stdin("{\"sensor\":\"attic\",\"celsius\":4}\n"),
    );
    assert_eq!(parse_range_line(&out), (2, 2));
    // Element data still needs the read right.
    keys.cmd("woof-get")
        .arg(&temps)
        .assert()
        .code(77)
        .stderr(predicates::str::contains("edge1 has no read right"));
    assert_eq!(ns.latest("temps"), 3);
    assert_eq!(ns.latest("typed"), 2);
}

// 4. SIGHUP re-reads keys and ACL; it never stops the proxy.

#[test]
fn sighup_reloads_the_acl_and_the_proxy_keeps_serving() {
    let ns = Ns::new();
    ns.create("w", 1, 10);
    let keys = Keys::new("edge");
    keys.acl(&format!("{} edge read\n", ns.path().display()));
    let proxy = keys.proxy(ns.path());
    let uri = proxy.uri(ns.path(), "w");
    keys.cmd("woof-put")
        .arg(&uri)
        .write_stdin("x")
        .assert()
        .code(77);
    keys.acl(&format!("{} edge read,write\n", ns.path().display()));
    signal_pid(proxy.run.child.id(), nix::sys::signal::Signal::SIGHUP);
    assert!(
        wait_until(PROMPT, || proxy
            .run
            .stderr_text()
            .contains("woof-proxy: SIGHUP: re-read clients and ACL")),
        "{}",
        proxy.run.stderr_text()
    );
    let out = ok_stdout(keys.cmd("woof-put").arg(&uri).write_stdin("x"));
    assert_eq!(parse_seqno_line(&out), 1);
}

#[test]
fn sighup_does_not_stop_a_proxy_without_keys() {
    let ns = Ns::new();
    ns.create("w", 1, 10);
    let mut proxy = Proxy::start(&[ns.path()], &[]);
    signal_pid(proxy.run.child.id(), nix::sys::signal::Signal::SIGHUP);
    assert!(wait_until(PROMPT, || proxy
        .run
        .stderr_text()
        .contains("SIGHUP: ignored")));
    assert!(proxy.run.is_running());
    let out = ok_stdout(
        bare("woof-put")
            .arg(proxy.uri(ns.path(), "w"))
            .write_stdin("x"),
    );
    assert_eq!(parse_seqno_line(&out), 1);
}

// 7. Remote errors are the local errors.

#[test]
fn remote_and_local_errors_match_for_missing_and_non_woofs() {
    let ns = Ns::new();
    std::fs::create_dir(ns.path().join("handlers")).expect("mkdir");
    std::fs::write(ns.file("notes.txt"), "hello\n").expect("notes");
    let proxy = Proxy::start(&[ns.path()], &[]);
    for name in ["handlers", "missing", "notes.txt"] {
        let local = ns.cmd("woof-get").arg(name).output().expect("local");
        let uri = proxy.uri(ns.path(), name);
        let remote = bare("woof-get").arg(&uri).output().expect("remote");
        assert_eq!(remote.status.code(), local.status.code(), "{name}");
        let local = String::from_utf8_lossy(&local.stderr).replacen(name, "NAME", 1);
        let remote = String::from_utf8_lossy(&remote.stderr).replacen(&uri, "NAME", 1);
        assert_eq!(remote, local, "{name}");
    }
}

// 5. Handlers under --isolate find the woof tools, and PATH has no empty entry.

#[test]
fn isolated_handlers_find_the_woof_tools_installed_under_tmp() {
    // The tools installed under /tmp, which --isolate replaces with a private one.
    let install = Ns::new();
    for b in ["woof-platform", "woof-shepherd", "woof-put"] {
        std::fs::copy(exe(b), install.file(b)).expect("install tool");
    }
    let ns = Ns::new();
    ns.create("w", 8, 10);
    ns.create("out", 8, 10);
    ns.handler(
        "shout",
        "#!/bin/sh\necho \"$PATH\" > \"$WOOF_NAMESPACE/path.txt\"\n\
         tr a-z A-Z | woof-put out\n",
    );
    let mut cmd = std::process::Command::new(install.file("woof-platform"));
    cmd.arg("-N").arg(ns.path()).arg("--isolate");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("WOOF_") {
            cmd.env_remove(k);
        }
    }
    let _platform = Platform::start(cmd);
    ns.put_h("w", "shout", b"hello");
    let r = ns.wait_results(PROMPT, "shout run", |r| !finals(r).is_empty());
    let f = finals(&r)[0].clone();
    if f.outcome == "failed" && f.detail.contains("--isolate refused by the kernel") {
        eprintln!("SKIPPED: the kernel refuses isolation here: {}", f.detail);
        return;
    }
    assert_eq!((f.outcome.as_str(), f.code), ("exited", Some(0)), "{f:?}");
    let path = ns.read("path.txt");
    let entries: Vec<&str> = path.trim_end().split(':').collect();
    assert!(!entries.contains(&""), "empty PATH entry: {path:?}");
    assert_eq!(entries[0], install.abs(), "{path:?}");
    assert_eq!(ns.get_hex("out", "1"), vec![hex(b"HELLO\0\0\0")]);
}

// 8. Exit codes: a schema that does not parse is a bad option value.

#[test]
fn a_schema_syntax_error_is_a_usage_error_locally_and_remotely() {
    let ns = Ns::new();
    fails(
        ns.cmd("woof-create")
            .args(["s", "-n", "4", "--schema", "a:f65"]),
        2,
        "woof-create: s: schema: field 1 'a': unknown type 'f65' (types: i8 i16 i32 i64 u8 u16 \
         u32 u64 f32 f64 bool timestamp strN bytesN)",
    );
    let proxy = Proxy::start(&[ns.path()], &[]);
    bare("woof-create")
        .args([&proxy.uri(ns.path(), "s"), "-n", "4", "--schema", "a:f65"])
        .assert()
        .code(2);
    assert!(ns.listing().is_empty());
}

#[test]
fn every_exit_code_woof_shepherd_uses_is_in_its_man_page() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/woof-shepherd.1"))
        .expect("man page");
    let src = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/bin/cli/shepherd"))
        .expect("shepherd sources")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("source"))
        .collect::<String>();
    for code in ["71", "74", "77", "65"] {
        if src.contains(&format!(", {code},")) || src.contains(&format!("\"failed\", {code}")) {
            assert!(
                page.contains(&format!("\\fB{code}\\fR")),
                "woof-shepherd uses {code}; its man page does not list it"
            );
        }
    }
}

// 15. Timestamps out of range are refused, never wrapped.

#[test]
fn huge_unix_seconds_are_out_of_range_not_wrapped() {
    let ns = Ns::new();
    ns.cmd("woof-create")
        .args(["t", "-n", "4", "--schema", "t:timestamp,v:u8"])
        .assert()
        .success();
    for secs in [
        "664613997892457936451903531880972288",
        "9223372037",
        "-9223372037",
    ] {
        fails(
            ns.cmd("woof-put")
                .args(["t", "--csv", "--no-header"])
                .write_stdin(format!("{secs},5\n")),
            65,
            &format!(
                "woof-put: t: line 1, field t: '{secs}' is out of range for a timestamp \
                 (years 1677 to 2262)"
            ),
        );
    }
    assert_eq!(ns.latest("t"), 0);
    let out = ok_stdout(
        ns.cmd("woof-put")
            .args(["t", "--csv", "--no-header"])
            .write_stdin("9223372036,5\n"),
    );
    assert_eq!(parse_range_line(&out), (1, 1));
}

// 16. A corrupt published counter never wraps seqnos.

#[test]
fn a_published_counter_at_the_top_refuses_puts_instead_of_wrapping() {
    use std::os::unix::fs::FileExt;
    let ns = Ns::new();
    ns.create("w", 8, 4);
    let f = damage_file(&ns, "w");
    // The header's `published` word (lib/FORMAT.md).
    f.write_all_at(&u64::MAX.to_le_bytes(), 384)
        .expect("corrupt");
    fails(
        ns.cmd("woof-put").arg("w").write_stdin("12345678"),
        65,
        "woof-put: w: no seqno left: the published counter is at 18446744073709551614 (corrupt \
         header?)",
    );
    ns.cmd("woof-put")
        .args(["w", "--lines", "--pad"])
        .write_stdin("a\nb\n")
        .assert()
        .code(65);
    // Readers report, never panic or print seqno 0.
    let out = ns.cmd("woof-get").arg("w").output().expect("get");
    assert_eq!(out.status.code(), Some(66), "{out:?}");
    ns.cmd("woof-ls").assert().success();
}

// 13. A lock whose holder cannot exist never makes a put wait for ever.

/// Starts `woof-put NAME` stopped (SIGSTOP) while it holds NAME's lock.
fn writer_stopped_holding_the_lock(ns: &Ns, name: &str) -> Running {
    use std::io::Write;
    let mut cmd = ns.std_cmd("woof-put");
    cmd.args([name, "--batch"])
        .env("WOOF_FAULT", "put:locked:stop")
        .stdin(std::process::Stdio::piped());
    let mut writer = Running::spawn(cmd);
    writer.stdin().write_all(b"12345678").expect("element");
    let pid = writer.child.id();
    assert!(
        wait_until(PROMPT, || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('T'))
            })
        }),
        "the writer did not stop holding the lock"
    );
    writer
}

/// `woof-put NAME` of one element, bounded: the seqno it printed.
fn bounded_put(ns: &Ns, name: &str) -> u64 {
    let out = ok_stdout(
        ns.cmd("woof-put")
            .arg(name)
            .write_stdin("abcdefgh")
            .timeout(std::time::Duration::from_secs(20)),
    );
    parse_seqno_line(&out)
}

#[test]
fn a_woof_copied_while_its_lock_was_held_takes_puts_after_the_holder_dies() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    ns.put("w", b"00000000");
    let mut writer = writer_stopped_holding_the_lock(&ns, "w");
    std::fs::copy(ns.file("w"), ns.file("copy")).expect("cp");
    writer.kill_and_drain();
    assert_eq!(bounded_put(&ns, "w"), 2);
    assert_eq!(bounded_put(&ns, "copy"), 2);
    assert_eq!(
        ns.get_hex("copy", "1..2"),
        vec![hex(b"00000000"), hex(b"abcdefgh")]
    );
}

#[test]
fn a_copy_waits_while_the_holder_lives_and_goes_on_when_it_dies() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    let mut writer = writer_stopped_holding_the_lock(&ns, "w");
    std::fs::copy(ns.file("w"), ns.file("copy")).expect("cp");
    // The holder is alive (stopped): a put to the copy must wait, not break in.
    let mut put = ns.std_cmd("woof-put");
    put.arg("copy").stdin(std::process::Stdio::piped());
    let mut waiting = Running::spawn(put);
    {
        use std::io::Write;
        let mut stdin = waiting.stdin();
        stdin.write_all(b"abcdefgh").expect("element");
    }
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(waiting.is_running(), "the put broke a live holder's lock");
    writer.kill_and_drain();
    let (status, lines) = waiting.finish(PROMPT);
    assert!(status.success(), "{status:?} {}", waiting.stderr_text());
    assert_eq!(lines, vec!["1".to_string()]);
}

#[test]
fn a_lock_naming_a_thread_that_never_existed_or_garbage_is_repaired() {
    use std::os::unix::fs::FileExt;
    let ns = Ns::new();
    for (name, word) in [
        // A thread id no kernel hands out (above pid_max's ceiling of 2^22).
        ("ghost", 0x3fff_fff0u32.to_le_bytes().to_vec()),
        ("garbage", vec![0xffu8; 40]),
    ] {
        ns.create(name, 8, 10);
        let f = damage_file(&ns, name);
        // The header's lock (lib/FORMAT.md).
        f.write_all_at(&word, 256).expect("corrupt the lock");
        assert_eq!(bounded_put(&ns, name), 1, "{name}");
        assert_eq!(bounded_put(&ns, name), 2, "{name}");
    }
}

/// The writers' lock is a pthread mutex, laid out by the C library: a woof whose
/// lock a musl-linked writer set up in this boot is refused by glibc writers (it
/// would make them wait for ever, or let two hold it), and taken again after a
/// reboot. Readers are unaffected.
#[test]
fn a_lock_set_up_by_another_c_library_is_refused_not_waited_on() {
    use std::os::unix::fs::FileExt;
    let ns = Ns::new();
    ns.create("w", 8, 10);
    ns.put("w", b"00000000");
    let f = damage_file(&ns, "w");
    // lock_abi (lib/FORMAT.md): the mutex's size, and musl's tag in the high half.
    let musl = 40u32 | 1 << 16;
    f.write_all_at(&musl.to_le_bytes(), 336)
        .expect("tag the lock");
    fails(
        ns.cmd("woof-put")
            .arg("w")
            .write_stdin("abcdefgh")
            .timeout(std::time::Duration::from_secs(20)),
        74,
        &format!(
            "woof-put: w: {}: its writers' lock was set up in this boot by a program linked with musl, and this one uses glibc: every writer of a woof must use the same C library (woof's release builds use glibc)",
            ns.file("w").display()
        ),
    );
    assert_eq!(ns.get_hex("w", "1"), vec![hex(b"00000000")]);
    // After a reboot (another boot id) no writer of the old one can hold it.
    f.write_all_at(&[0u8; 16], 320).expect("forget the boot");
    assert_eq!(bounded_put(&ns, "w"), 2);
    assert_eq!(bounded_put(&ns, "w"), 3);
}

// 14. A woof truncated under a process that has it mapped is an error, never SIGBUS.

#[test]
fn a_woof_truncated_under_woof_proxy_is_an_error_and_the_proxy_lives() {
    let ns = Ns::new();
    ns.create("w", 8, 1000);
    ns.create("other", 8, 10);
    let mut proxy = Proxy::start(&[ns.path()], &[]);
    let uri = proxy.uri(ns.path(), "w");
    for _ in 0..1000 {
        ns.put("w", b"abcdefgh");
    }
    // The proxy maps w, then it shrinks: first while no request is under way ...
    assert_eq!(
        ok_stdout(bare("woof-get").args([&uri, "--format", "hex"])),
        b"6162636465666768\n"
    );
    let f = damage_file(&ns, "w");
    f.set_len(2048).expect("truncate");
    fails(
        bare("woof-put").arg(&uri).write_stdin("12345678"),
        65,
        &format!("woof-put: {uri}: truncated woof: 2048 bytes, shorter than its 4096-byte header"),
    );
    assert!(proxy.run.is_running(), "{}", proxy.run.stderr_text());
    // ... then while ranges are being read: most truncations are caught by the
    // proxy's size check, one landing inside a read by the SIGBUS handler (the
    // streaming-writer test below takes that path deterministically).
    ns.cmd("woof-create")
        .args(["w", "-s", "8", "-n", "1000", "--force"])
        .assert()
        .success();
    ns.put_batch("w", &b"abcdefgh".repeat(1000));
    let reader = {
        let uri = uri.clone();
        std::thread::spawn(move || {
            for _ in 0..100 {
                let _ = bare("woof-get")
                    .args([&uri, "1..1000", "--format", "hex"])
                    .output();
            }
        })
    };
    let f = damage_file(&ns, "w");
    for _ in 0..25 {
        f.set_len(4096).expect("truncate");
        std::thread::sleep(std::time::Duration::from_millis(2));
        f.set_len(4096 + 1000 * 24).expect("extend");
    }
    reader.join().expect("reader");
    assert!(proxy.run.is_running(), "{}", proxy.run.stderr_text());
    let out = ok_stdout(
        bare("woof-put")
            .arg(proxy.uri(ns.path(), "other"))
            .write_stdin("12345678"),
    );
    assert_eq!(parse_seqno_line(&out), 1);
}

#[test]
fn a_woof_truncated_under_a_streaming_writer_ends_it_with_an_error() {
    use std::io::Write;
    let ns = Ns::new();
    ns.create("w", 8, 1000);
    let mut cmd = ns.std_cmd("woof-put");
    cmd.args(["w", "--batch"])
        .stdin(std::process::Stdio::piped());
    let mut writer = Running::spawn(cmd);
    let mut stdin = writer.stdin();
    stdin.write_all(b"11111111").expect("first");
    stdin.flush().expect("flush");
    assert!(wait_until(PROMPT, || ns.latest("w") == 1));
    // Header and the first slot stay; the second slot's page is gone.
    let f = damage_file(&ns, "w");
    f.set_len(4096).expect("truncate");
    stdin.write_all(b"22222222").expect("second");
    drop(stdin);
    let (status, _) = writer.finish(PROMPT);
    assert_eq!(
        status.code(),
        Some(65),
        "{status:?} {}",
        writer.stderr_text()
    );
    assert!(
        writer
            .stderr_text()
            .contains("woof-put: w: truncated while open: 4096 bytes, shorter than its"),
        "{}",
        writer.stderr_text()
    );
}

// 6. A follower ends when its reader leaves, without waiting for another put.

fn follower_exits_when_its_reader_leaves(mut cmd: std::process::Command, ns: &Ns) {
    use std::io::BufRead;
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("woof-tail");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("first line");
    assert!(line.starts_with("1,"), "{line:?}");
    // `| head -1`: the reader takes one line and goes.
    drop(out);
    let status = wait_bounded(&mut child, PROMPT, "woof-tail -f after its reader left");
    assert_eq!(status.code(), Some(0));
    assert_eq!(ns.latest("w"), 1, "no put was needed to end it");
}

#[test]
fn a_local_follower_ends_when_its_reader_leaves() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    ns.put("w", b"abcdefgh");
    let mut cmd = ns.std_cmd("woof-tail");
    cmd.args(["-f", "w", "--format", "csv"]);
    follower_exits_when_its_reader_leaves(cmd, &ns);
}

#[test]
fn a_remote_follower_ends_when_its_reader_leaves() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    ns.put("w", b"abcdefgh");
    let proxy = Proxy::start(&[ns.path()], &[]);
    let mut cmd = bare_std("woof-tail");
    cmd.args(["-f", &proxy.uri(ns.path(), "w"), "--format", "csv"]);
    follower_exits_when_its_reader_leaves(cmd, &ns);
}

// 11. A mistyped namespace says that no proxy serves it, and which port was tried.

#[test]
fn a_mistyped_namespace_names_the_namespace_and_the_port_tried() {
    let ns = Ns::new();
    ns.create("w", 1, 10);
    // On the namespace's CSPOT port, as users run it.
    let _proxy = Proxy::start(&[ns.path()], &["--bind", "127.0.0.1"]);
    let good = format!("woof://127.0.0.1{}/w", ns.path().display());
    let out = ok_stdout(bare("woof-put").arg(&good).write_stdin("x"));
    assert_eq!(parse_seqno_line(&out), 1);
    let typo = format!("{}x", ns.path().display());
    let out = bare("woof-get")
        .arg(format!("woof://127.0.0.1{typo}/w"))
        .output()
        .expect("woof-get");
    assert_eq!(out.status.code(), Some(69));
    let err = String::from_utf8_lossy(&out.stderr);
    let port = err
        .split("connection refused on port ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("no port in {err:?}"));
    assert_eq!(
        err,
        format!(
            "woof-get: woof://127.0.0.1:{port}: unreachable: no woof-proxy serves namespace \
             {typo} on 127.0.0.1 (connection refused on port {port}, CSPOT's port for that \
             path; check the path, or give the proxy's port: woof://127.0.0.1:PORT{typo}/w)\n"
        )
    );
}

// 17. Followers beyond --followers are told "busy" at once and retry: none of
// them ever sees a false "unreachable".

#[test]
fn followers_beyond_the_pool_wait_their_turn_and_all_see_the_put() {
    let ns = Ns::new();
    ns.create("w", 8, 10);
    let proxy = Proxy::start(&[ns.path()], &["--followers", "2"]);
    let uri = proxy.uri(ns.path(), "w");
    let mut followers: Vec<Running> = (0..6)
        .map(|_| {
            let mut cmd = bare_std("woof-tail");
            // A short client timeout: a follow queued behind another's 10 s long
            // poll would outlive it and end as "unreachable".
            cmd.args(["-f", &uri, "-n", "0", "--format", "csv", "--timeout", "1s"]);
            Running::spawn(cmd)
        })
        .collect();
    // Longer than a long poll (10 s) plus the client's timeout.
    std::thread::sleep(std::time::Duration::from_secs(12));
    for f in &mut followers {
        assert!(f.is_running(), "a follower ended: {}", f.stderr_text());
    }
    ns.put("w", b"abcdefgh");
    for f in &mut followers {
        let line = f.line(PROMPT);
        assert!(line.starts_with("1,"), "{line:?} {}", f.stderr_text());
        assert!(f.stderr_text().is_empty(), "{}", f.stderr_text());
    }
}

// 18. A proxy out of descriptors (more clients than its ulimit allows) fails the
// clients it cannot take within their timeout, saying why, and serves again as soon
// as others leave: it never wedges.

#[test]
fn a_proxy_out_of_descriptors_fails_new_clients_in_time_and_recovers() {
    use woof_net::Uri;
    use woof_net::client::{Client, Options};
    let ns = Ns::new();
    ns.create("w", 8, 10);
    let proxy_bin = bare_std("woof-proxy").get_program().to_owned();
    let mut cmd = std::process::Command::new("prlimit");
    cmd.arg("--nofile=64:64")
        .arg("--")
        .arg(proxy_bin)
        .arg("--export")
        .arg(ns.path())
        .args(["--listen", "tcp://127.0.0.1:0"]);
    let proxy = Proxy::spawn(cmd, 1);
    let uri = Uri::parse(&proxy.uri(ns.path(), "w")).expect("uri");
    let opts = Options::new(std::time::Duration::from_secs(1), None);
    let mut held = Vec::new();
    let refused = loop {
        assert!(held.len() < 200, "64 descriptors took 200 clients");
        match Client::connect(&uri, &opts).and_then(|mut c| c.info().map(|_| c)) {
            Ok(c) => held.push(c),
            Err(e) => break e,
        }
    };
    assert!(!held.is_empty(), "no client got in: {refused}");
    assert!(
        matches!(
            refused.kind(),
            woof::ErrorKind::Unavailable | woof::ErrorKind::Timeout
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("did not answer"), "{refused}");
    drop(held);
    let back = util::wait_until(PROMPT, || {
        Client::connect(&uri, &opts)
            .and_then(|mut c| c.put("", "", None, b"abcdefgh"))
            .is_ok()
    });
    assert!(
        back,
        "the proxy did not serve again: {}",
        proxy.run.stderr_text()
    );
    assert_eq!(ns.latest("w"), 1);
}
