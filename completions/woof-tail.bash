_woof__tail() {
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
                cmd="woof__tail"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        woof__tail)
            opts="-n -f -F -C -W -N -h -V --results --lines --follow --follow-retry --count --within --after --since --until --cursor --format --header --time-format --utc --namespace --timeout --keys --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --lines)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -n)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -C)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --within)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -W)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --since)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --until)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cursor)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --time-format)
                    COMPREPLY=($(compgen -W "rfc3339 unix unix-ns relative local" -- "${cur}"))
                    return 0
                    ;;
                --namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -N)
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
    complete -F _woof__tail -o nosort -o bashdefault -o default woof-tail
else
    complete -F _woof__tail -o bashdefault -o default woof-tail
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
_woof__tail_names() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    case "$prev" in
        -n|--lines|-C|--count|-W|--within|--after|--since|--until|--cursor|--format|--time-format|-N|--namespace|--timeout|--keys)
            _woof__tail "$@"
            return ;;
    esac
    if [[ $cur != -* && $cur != *://* ]]; then
        COMPREPLY=($(compgen -W "$(_woof_woofs)" -- "$cur"))
        [[ ${#COMPREPLY[@]} -gt 0 ]] && return 0
    fi
    _woof__tail "$@"
}
complete -F _woof__tail_names -o bashdefault -o default woof-tail
