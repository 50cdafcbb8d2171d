complete -c woof-platform -s N -l namespace -d 'Namespace directory [default: $WOOF_NAMESPACE, else the current directory]' -r -F
complete -c woof-platform -l workers -d 'Handlers run at once' -r
complete -c woof-platform -l timeout -d 'Kill a handler\'s process group after it runs this long' -r
complete -c woof-platform -l grace -d 'At shutdown, wait this long for running handlers before killing them' -r
complete -c woof-platform -l persistent -d 'Run HANDLER as one long-lived process fed framed elements (repeatable)' -r
complete -c woof-platform -l cpu -d 'Handler CPU time limit, seconds' -r
complete -c woof-platform -l memory -d 'Handler address-space limit, bytes with optional K/M/G suffix' -r
complete -c woof-platform -l env -d 'Pass variable NAME to handlers, with VALUE or the platform\'s own (repeatable; HOME, LANG, WOOF_KEYS and WOOF_TIMEOUT are passed when set)' -r
complete -c woof-platform -l isolate -d 'Run handlers isolated (see woof-shepherd --isolate)'
complete -c woof-platform -l status -d 'Say what the namespace\'s platform is doing (serving or not, triggers put, finished, running and waiting) and exit; takes nothing from a running one'
complete -c woof-platform -s h -l help -d 'Print help (see more with \'--help\')'
complete -c woof-platform -s V -l version -d 'Print version'

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
complete -c woof-platform -l persistent -x -a '(__woof_handlers)'
