//! Man pages and shell completions, rendered from the same clap definitions the
//! binaries parse with. Each package that builds binaries has a test
//! (`tests/generated.rs`, `proxy/tests/generated.rs`) that compares them with the
//! checked-in files through `sync`, and rewrites them with WOOF_REGENERATE=1
//! (which `make man completions` sets).

use std::path::Path;

use clap::Command;
use clap_complete::Shell;

/// Every woof binary, for the SEE ALSO section of each page.
pub const TOOLS: [&str; 9] = [
    "woof-create",
    "woof-put",
    "woof-get",
    "woof-tail",
    "woof-platform",
    "woof-shepherd",
    "woof-proxy",
    "woof-ls",
    "woof-forward",
];

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success (also when standard output is a closed pipe).
.TP
\fB2\fR
Usage: a bad option, argument, name or size.
.TP
\fB65\fR
Bad data: an element of the wrong size, a corrupt file or slot, a bad cursor file.
.TP
\fB66\fR
No such woof, namespace or seqno (evicted, or not yet written).
.TP
\fB69\fR
Unavailable (a proxy or platform cannot be reached).
.TP
\fB73\fR
Cannot create (the woof exists and \-\-force was not given, \-\-force names a
file that is not a woof, or no space).
.TP
\fB74\fR
Input/output error.
.TP
\fB75\fR
Temporary failure; retrying may succeed.
.TP
\fB76\fR
Protocol error.
.TP
\fB77\fR
Permission denied.
"#;

const SHEPHERD_OSERR: &str = r#".TP
\fB71\fR
The handler could not be started: the operating system refused a step (fork, pipe,
setrlimit, exec, or the namespaces of \-\-isolate); the message names the step.
"#;

const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBWOOF_NAMESPACE\fR
The namespace directory when \fB\-N\fR is not given (default: the current directory).
.TP
\fBWOOF_CAUSE\fR
Set by woof\-shepherd in a handler's environment to name its run; a put made with
\fB\-H\fR records it as the cause of the new trigger, so chains of handlers can be
traced in the results log.
.TP
\fBWOOF_TIMEOUT\fR
With a woof:// URI: the default of \fB\-\-timeout\fR (5s).
.TP
\fBWOOF_KEYS\fR
With a woof:// URI: the client's key directory when \fB\-\-keys\fR is not given
(default \fI~/.woof/keys\fR: \fIid.key\fR, \fIid.pub\fR, \fIservers/HOST.pub\fR; see
\fBwoof\fR(7), "Keys and access control").
.TP
\fBWOOF_PROXY_KEYS\fR
woof\-proxy's key directory when \fB\-\-keys\fR is not given.
"#;

const FILES: &str = r#".SH FILES
.TP
\fINAMESPACE\fR/\fINAME\fR
A woof.
.TP
\fINAMESPACE\fR/handlers/\fIHANDLER\fR
Handler executables; only regular executable files here can run.
.TP
\fINAMESPACE\fR/.woof/triggers
The trigger log: one record per put made with \fB\-H\fR (a woof; see \fBwoof\fR(5)).
.TP
\fINAMESPACE\fR/.woof/results
The results log: every handler start and outcome (\fBwoof\-tail \-\-results\fR).
.TP
\fINAMESPACE\fR/.woof/platform.lock
Locked (a POSIX record lock) by the running woof\-platform; holds its pid.
.TP
\fIKEYS\fR/id.key, \fIKEYS\fR/id.pub
A CURVE key pair (woof\-proxy \-\-gen\-keys); the secret must be mode 0600.
.TP
\fIKEYS\fR/servers/\fIHOST\fR.pub
(clients) The public key of the woof\-proxy at HOST; with it, connections use CURVE.
.TP
\fIKEYS\fR/clients/\fINAME\fR.pub, \fIKEYS\fR/acl
(woof\-proxy) Allowed clients, and the rules NAMESPACE CLIENT RIGHTS.
"#;

/// The man page of `cmd`, in roff.
pub fn man_page(cmd: &Command) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone())
        .date("")
        .source("woof")
        .manual("woof manual");
    let mut out = Vec::new();
    // Each section separately, so ours go in their conventional places. Rendering
    // into a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    out.extend_from_slice(synopsis(cmd).as_bytes());
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    out.extend_from_slice(examples(cmd).as_bytes());
    if cmd.get_name() == "woof-shepherd" {
        // Only the shepherd starts processes itself (sysexits EX_OSERR).
        let (head, tail) =
            EXIT_STATUS.split_at(EXIT_STATUS.find("\\fB73\\fR").map_or(0, |i| i - 4));
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(SHEPHERD_OSERR.as_bytes());
        out.extend_from_slice(tail.as_bytes());
    } else {
        out.extend_from_slice(EXIT_STATUS.as_bytes());
    }
    out.extend_from_slice(ENVIRONMENT.as_bytes());
    out.extend_from_slice(FILES.as_bytes());
    let others: Vec<String> = TOOLS
        .iter()
        .filter(|n| **n != cmd.get_name())
        .map(|n| format!("\\fB{n}\\fR(1)"))
        .chain(["\\fBwoof\\fR(5)".to_string(), "\\fBwoof\\fR(7)".to_string()])
        .collect();
    out.extend_from_slice(format!(".SH \"SEE ALSO\"\n{}\n", others.join(", ")).as_bytes());
    out
}

/// The SYNOPSIS section: every option with the placeholder of its value
/// (`[-N|--namespace DIR]`), then the operands (`<NAME>`, `[NAME]...`).
/// clap_mangen's own leaves the placeholders out.
fn synopsis(cmd: &Command) -> String {
    let roff = |s: &str| s.replace('\\', "\\e").replace('-', "\\-");
    let mut parts = vec![format!("\\fB{}\\fR", roff(cmd.get_name()))];
    let mut operands = Vec::new();
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let values: Vec<String> = arg
            .get_value_names()
            .map(|v| v.iter().map(|n| n.to_string()).collect())
            .unwrap_or_default();
        let many = matches!(arg.get_action(), clap::ArgAction::Append);
        if arg.is_positional() {
            let name = values
                .first()
                .cloned()
                .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
            let name = format!("\\fI{}\\fR", roff(&name));
            let dots = if many { "..." } else { "" };
            operands.push(if arg.is_required_set() {
                format!("<{name}>{dots}")
            } else {
                format!("[{name}]{dots}")
            });
            continue;
        }
        let mut names = Vec::new();
        if let Some(s) = arg.get_short() {
            names.push(format!("\\fB\\-{}\\fR", roff(&s.to_string())));
        }
        if let Some(l) = arg.get_long() {
            names.push(format!("\\fB\\-\\-{}\\fR", roff(l)));
        }
        let takes = arg.get_action().takes_values();
        let value = match (takes, values.first()) {
            (true, Some(v)) => format!(" \\fI{}\\fR", roff(v)),
            (true, None) => format!(
                " \\fI{}\\fR",
                roff(&arg.get_id().to_string().to_uppercase())
            ),
            _ => String::new(),
        };
        let dots = if many && takes { "..." } else { "" };
        parts.push(format!("[{}{value}]{dots}", names.join("|")));
    }
    parts.extend(operands);
    format!(".SH SYNOPSIS\n{}\n", parts.join(" "))
}

/// The `Examples:` block of `--help` as an EXAMPLES section, verbatim.
fn examples(cmd: &Command) -> String {
    let Some(text) = cmd.get_after_help() else {
        return String::new();
    };
    let text = text.to_string();
    let body = text.strip_prefix("Examples:\n").unwrap_or(&text);
    let mut out = String::from(".SH EXAMPLES\n.nf\n");
    for line in body.lines() {
        // Escape roff: backslashes, and a leading dot or quote would be a request.
        let line = line.replace('\\', "\\e");
        if line.starts_with('.') || line.starts_with('\'') {
            out.push_str("\\&");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(".fi\n");
    out
}

/// The completion script of `cmd` for `shell`, and its conventional file name.
pub fn completion(cmd: &Command, shell: Shell) -> (String, Vec<u8>) {
    let name = cmd.get_name().to_string();
    let file = match shell {
        Shell::Bash => format!("{name}.bash"),
        Shell::Zsh => format!("_{name}"),
        Shell::Fish => format!("{name}.fish"),
        _ => format!("{name}.{shell}"),
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd.clone(), name, &mut out);
    (file, crate::names::extend(cmd, shell, out))
}

/// Compares the man page and completions of each of `cmds` with the files under
/// `repo` (man/, completions/), or rewrites them when WOOF_REGENERATE is set.
/// Returns the files that drifted (relative to `repo`).
pub fn sync(repo: &Path, cmds: &[Command]) -> std::io::Result<Vec<String>> {
    let mut stale = Vec::new();
    for cmd in cmds {
        let name = cmd.get_name().to_string();
        let mut files = vec![(format!("man/{name}.1"), man_page(cmd))];
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let (file, text) = completion(cmd, shell);
            files.push((format!("completions/{file}"), text));
        }
        for (rel, want) in files {
            let path = repo.join(&rel);
            if std::env::var_os("WOOF_REGENERATE").is_some() {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&path, want)?;
            } else if std::fs::read(&path).ok().as_deref() != Some(&want[..]) {
                stale.push(rel);
            }
        }
    }
    Ok(stale)
}
