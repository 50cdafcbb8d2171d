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
