_woof__shepherd() {
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
                cmd="woof__shepherd"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        woof__shepherd)
            opts="-N -h -V --trigger --serve --persistent --cpu --memory --files --file-size --isolate --env --namespace --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --trigger)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --persistent)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cpu)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --memory)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --files)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --file-size)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --env)
                    COMPREPLY=($(compgen -f "${cur}"))
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
    complete -F _woof__shepherd -o nosort -o bashdefault -o default woof-shepherd
else
    complete -F _woof__shepherd -o bashdefault -o default woof-shepherd
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
_woof__shepherd_names() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    case "$prev" in
        --persistent)
            COMPREPLY=($(compgen -W "$(_woof_handlers)" -- "$cur"))
            return 0 ;;
        --trigger|--persistent|--cpu|--memory|--files|--file-size|--env|-N|--namespace)
            _woof__shepherd "$@"
            return ;;
    esac
    if [[ $cur != -* && $cur != *://* ]]; then
        COMPREPLY=($(compgen -W "$(_woof_woofs)" -- "$cur"))
        [[ ${#COMPREPLY[@]} -gt 0 ]] && return 0
    fi
    _woof__shepherd "$@"
}
complete -F _woof__shepherd_names -o bashdefault -o default woof-shepherd
