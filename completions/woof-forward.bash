_woof__forward() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="woof__forward"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        woof__forward)
            opts="-N -H -h -V --namespace --all --status --once --create --handler --new-incarnation --skip-to --window --format --csv --json --skip-bad --rate --heartbeat --origin --mqtt --tls-ca --tls-cert --tls-key --timeout --keys --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -N)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --handler)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -H)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --skip-to)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --window)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W "raw json csv" -- "${cur}"))
                    return 0
                    ;;
                --rate)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --heartbeat)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --origin)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mqtt)
                    COMPREPLY=($(compgen -W "5 3.1.1" -- "${cur}"))
                    return 0
                    ;;
                --tls-ca)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tls-cert)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tls-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --keys)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _woof__forward -o nosort -o bashdefault -o default woof-forward
else
    complete -F _woof__forward -o bashdefault -o default woof-forward
fi

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
_woof__forward_names() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    case "$prev" in
        -H|--handler)
            COMPREPLY=($(compgen -W "$(_woof_handlers)" -- "$cur"))
            return 0 ;;
        -N|--namespace|-H|--handler|--skip-to|--window|--format|--rate|--heartbeat|--origin|--mqtt|--tls-ca|--tls-cert|--tls-key|--timeout|--keys)
            _woof__forward "$@"
            return ;;
    esac
    if [[ $cur != -* && $cur != *://* ]]; then
        COMPREPLY=($(compgen -W "$(_woof_woofs)" -- "$cur"))
        [[ ${#COMPREPLY[@]} -gt 0 ]] && return 0
    fi
    _woof__forward "$@"
}
complete -F _woof__forward_names -o bashdefault -o default woof-forward
