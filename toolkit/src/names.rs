//! Completions of what lives in a namespace: woof names (from `woof-ls --format
//! names`) where a tool takes a woof, handler names (the executables in
//! handlers/) where it takes a handler. clap_complete's scripts are static; this
//! adds to each one, for bash, zsh and fish, the few lines that ask the
//! namespace on the command line (-N DIR, --namespace DIR), else
//! $WOOF_NAMESPACE, else the current directory.
//!
//! Which arguments are which is read off their value names: a positional NAME,
//! WOOF or SOURCE names woofs; any HANDLER names a handler.

use clap::{Arg, Command};
use clap_complete::Shell;

/// The arguments of `cmd` that name things in the namespace.
struct Named<'a> {
    /// Positionals that take woof names (ids).
    woofs: Vec<&'a str>,
    /// Options that take a handler name: (short, long).
    handler_opts: Vec<(Option<char>, Option<&'a str>)>,
    /// Positionals that take a handler name (ids).
    handler_args: Vec<&'a str>,
    /// Every option that takes a value (its short and long spellings).
    valued: Vec<String>,
}

fn value_name(a: &Arg) -> &str {
    a.get_value_names()
        .and_then(|v| v.first())
        .map_or("", |s| s.as_str())
}

fn named(cmd: &Command) -> Named<'_> {
    let mut n = Named {
        woofs: Vec::new(),
        handler_opts: Vec::new(),
        handler_args: Vec::new(),
        valued: Vec::new(),
    };
    for a in cmd.get_arguments() {
        let v = value_name(a);
        if a.is_positional() {
            if v == "HANDLER" {
                n.handler_args.push(a.get_id().as_str());
            } else if v == "NAME" || v == "WOOF" || v.starts_with("SOURCE") {
                n.woofs.push(a.get_id().as_str());
            }
            continue;
        }
        if !a.get_action().takes_values() {
            continue;
        }
        if v == "HANDLER" {
            n.handler_opts.push((a.get_short(), a.get_long()));
        }
        n.valued.extend(a.get_short().map(|c| format!("-{c}")));
        n.valued.extend(a.get_long().map(|l| format!("--{l}")));
    }
    n
}

/// What to add to `cmd`'s script for `shell` (and the script, for zsh, where
/// the arguments' actions are replaced in place).
pub fn extend(cmd: &Command, shell: Shell, script: Vec<u8>) -> Vec<u8> {
    let n = named(cmd);
    if n.woofs.is_empty() && n.handler_opts.is_empty() && n.handler_args.is_empty() {
        return script;
    }
    let name = cmd.get_name();
    let text = String::from_utf8_lossy(&script).into_owned();
    match shell {
        Shell::Bash => text + &bash(name, &n),
        Shell::Zsh => zsh(name, &n, &text),
        Shell::Fish => text + &fish(name, &n),
        _ => text,
    }
    .into_bytes()
}

const BASH_HELPERS: &str = r#"
# Woofs and handlers of the namespace on the line (-N DIR, --namespace DIR),
# else $WOOF_NAMESPACE, else the current directory.
_woof_namespace() {
    local i ns="${WOOF_NAMESPACE:-.}"
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            -N|--namespace) ns="${COMP_WORDS[i+1]}" ;;
            --namespace=*) ns="${COMP_WORDS[i]#--namespace=}" ;;
            -N?*) ns="${COMP_WORDS[i]#-N}" ;;
        esac
    done
    printf '%s\n' "${ns/#\~/$HOME}"
}
_woof_woofs() { woof-ls -N "$(_woof_namespace)" --format names 2>/dev/null; }
_woof_handlers() {
    local f d="$(_woof_namespace)/handlers"
    for f in "$d"/*; do
        [[ -f $f && -x $f ]] && printf '%s\n' "${f##*/}"
    done
}
"#;

/// A function wrapping clap's: handler names after a handler option, woof (or
/// handler) names in a positional's place, clap's completions otherwise.
fn bash(name: &str, n: &Named) -> String {
    let clap_fn = format!("_{}", name.replace('-', "__"));
    let handler_opts: Vec<String> = n
        .handler_opts
        .iter()
        .flat_map(|(s, l)| {
            s.map(|c| format!("-{c}"))
                .into_iter()
                .chain(l.map(|l| format!("--{l}")))
        })
        .collect();
    let mut out = String::from(BASH_HELPERS);
    out.push_str(&format!("{clap_fn}_names() {{\n"));
    out.push_str(
        "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n",
    );
    out.push_str("    case \"$prev\" in\n");
    if !handler_opts.is_empty() {
        out.push_str(&format!(
            "        {})\n            COMPREPLY=($(compgen -W \"$(_woof_handlers)\" -- \"$cur\"))\n            return 0 ;;\n",
            handler_opts.join("|")
        ));
    }
    if !n.valued.is_empty() {
        out.push_str(&format!(
            "        {})\n            {clap_fn} \"$@\"\n            return ;;\n",
            n.valued.join("|")
        ));
    }
    out.push_str("    esac\n");
    let positional = if !n.woofs.is_empty() {
        Some("_woof_woofs")
    } else if !n.handler_args.is_empty() {
        Some("_woof_handlers")
    } else {
        None
    };
    if let Some(list) = positional {
        out.push_str(&format!(
            "    if [[ $cur != -* && $cur != *://* ]]; then\n        COMPREPLY=($(compgen -W \"$({list})\" -- \"$cur\"))\n        [[ ${{#COMPREPLY[@]}} -gt 0 ]] && return 0\n    fi\n"
        ));
    }
    out.push_str(&format!("    {clap_fn} \"$@\"\n}}\n"));
    out.push_str(&format!(
        "complete -F {clap_fn}_names -o bashdefault -o default {name}\n"
    ));
    out
}

const ZSH_HELPERS: &str = r#"
# Woofs and handlers of the namespace on the line (-N DIR, --namespace DIR),
# else $WOOF_NAMESPACE, else the current directory.
(( $+functions[_woof_namespace] )) ||
_woof_namespace() {
    local ns=${opt_args[-N]:-${opt_args[--namespace]:-${WOOF_NAMESPACE:-.}}}
    print -r -- ${~ns}
}
(( $+functions[_woof_woofs] )) ||
_woof_woofs() {
    local -a woofs
    woofs=(${(f)"$(woof-ls -N "$(_woof_namespace)" --format names 2>/dev/null)"})
    _describe -t woofs 'woof' woofs || _default
}
(( $+functions[_woof_handlers] )) ||
_woof_handlers() {
    local -a handlers
    handlers=("$(_woof_namespace)"/handlers/*(N*:t))
    _describe -t handlers 'handler' handlers
}
"#;

/// clap's script with `_default` replaced by the namespace's names where an
/// argument names a woof or a handler, and the functions that list them.
fn zsh(name: &str, n: &Named, text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let positional = |ids: &[&str]| {
            ids.iter().any(|id| {
                [":", "::", "*:", "*::"]
                    .iter()
                    .any(|p| line.starts_with(&format!("'{p}{id} -- ")))
            })
        };
        let handler_opt = line.contains(":HANDLER:_default'");
        if positional(&n.woofs) {
            out.push_str(&line.replace(":_default'", ":_woof_woofs'"));
        } else if positional(&n.handler_args) || handler_opt {
            out.push_str(&line.replace(":_default'", ":_woof_handlers'"));
        } else {
            if line.starts_with(&format!("if [ \"$funcstack[1]\" = \"_{name}\" ]")) {
                out.push_str(ZSH_HELPERS.trim_start());
                out.push('\n');
            }
            out.push_str(line);
        }
    }
    out
}

const FISH_HELPERS: &str = r#"
# Woofs and handlers of the namespace on the line (-N DIR, --namespace DIR),
# else $WOOF_NAMESPACE, else the current directory.
function __woof_namespace
    set -l ns $WOOF_NAMESPACE
    test -n "$ns"; or set ns .
    set -l words (commandline -opc)
    for i in (seq (count $words))
        switch $words[$i]
            case -N --namespace
                set -q words[(math $i + 1)]; and set ns $words[(math $i + 1)]
            case '--namespace=*'
                set ns (string replace -- --namespace= '' $words[$i])
        end
    end
    echo $ns
end
function __woof_woofs
    woof-ls -N (__woof_namespace) --format names 2>/dev/null
end
function __woof_handlers
    for f in (__woof_namespace)/handlers/*
        test -f $f -a -x $f; and string replace -r '.*/' '' -- $f
    end
end
"#;

fn fish(name: &str, n: &Named) -> String {
    let mut out = String::from(FISH_HELPERS);
    for (s, l) in &n.handler_opts {
        let mut line = format!("complete -c {name}");
        if let Some(c) = s {
            line.push_str(&format!(" -s {c}"));
        }
        if let Some(l) = l {
            line.push_str(&format!(" -l {l}"));
        }
        line.push_str(" -x -a '(__woof_handlers)'\n");
        out.push_str(&line);
    }
    let positional = if !n.woofs.is_empty() {
        Some("__woof_woofs")
    } else if !n.handler_args.is_empty() {
        Some("__woof_handlers")
    } else {
        None
    };
    if let Some(list) = positional {
        out.push_str(&format!(
            "complete -c {name} -n 'not string match -q -- \"-*\" (commandline -ct)' -a '({list})'\n"
        ));
    }
    out
}
