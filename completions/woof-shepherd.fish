complete -c woof-shepherd -l trigger -d 'Trigger seqno this run serves (names the run in WOOF_CAUSE)' -r
complete -c woof-shepherd -l persistent -d 'Exec HANDLER as a persistent handler, reading framed elements on stdin' -r
complete -c woof-shepherd -l cpu -d 'CPU time limit (RLIMIT_CPU), seconds' -r
complete -c woof-shepherd -l memory -d 'Address-space limit (RLIMIT_AS), bytes with optional K/M/G suffix' -r
complete -c woof-shepherd -l files -d 'Open files limit (RLIMIT_NOFILE)' -r
complete -c woof-shepherd -l file-size -d 'Largest file the handler may write (RLIMIT_FSIZE), bytes with K/M/G suffix' -r
complete -c woof-shepherd -l env -d 'Pass variable NAME to the handler, with VALUE or the shepherd\'s own (repeatable; HOME, LANG, WOOF_KEYS and WOOF_TIMEOUT are passed when set)' -r
complete -c woof-shepherd -s N -l namespace -d 'Namespace directory [default: $WOOF_NAMESPACE, else the current directory]' -r -F
complete -c woof-shepherd -l serve -d 'Serve the platform: run the jobs it sends on stdin (internal)'
complete -c woof-shepherd -l isolate -d 'Run in new user, mount and network namespaces: no network, private /tmp, everything but the namespace directory read-only. Fails if the kernel refuses'
complete -c woof-shepherd -s h -l help -d 'Print help (see more with \'--help\')'
complete -c woof-shepherd -s V -l version -d 'Print version'

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
complete -c woof-shepherd -l persistent -x -a '(__woof_handlers)'
complete -c woof-shepherd -n 'not string match -q -- "-*" (commandline -ct)' -a '(__woof_woofs)'
