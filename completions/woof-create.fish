complete -c woof-create -s s -l element-size -d 'Bytes per element (1 to 64 MiB; 4K = 4096, 1kB = 1000); with --schema, may be left out' -r
complete -c woof-create -s n -l history -d 'How many of the latest elements to keep (1 to 2^32; 1M = 1048576, 1MB = 1000000)' -r
complete -c woof-create -l durability -d 'Default durability of puts' -r -f -a "none\t'Survives a process crash; no sync (fastest)'
batch\t'Group commit: synced per run of puts, at least every --commit-interval'
always\t'Synced before each put (or each group of a batch) is acknowledged'"
complete -c woof-create -l schema -d 'Typed records: NAME:TYPE[=DEFAULT] fields, comma-separated' -r
complete -c woof-create -s N -l namespace -d 'Namespace directory [default: $WOOF_NAMESPACE, else the current directory]' -r -F
complete -c woof-create -l timeout -d 'With a woof:// URI: give up on an unreachable or silent proxy after DURATION (exit 69)' -r
complete -c woof-create -l keys -d 'With a woof:// URI: key directory (own key pair, servers\' public keys) [default: $WOOF_KEYS, else ~/.woof/keys]' -r -F
complete -c woof-create -l force -d 'Replace an existing woof (its elements are discarded); a file that is not a woof is never replaced'
complete -c woof-create -l yes -d 'Create it even when it needs more disk than the file system says is free (a thin-provisioned or compressing one, say)'
complete -c woof-create -s h -l help -d 'Print help (see more with \'--help\')'
complete -c woof-create -s V -l version -d 'Print version'

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
complete -c woof-create -n 'not string match -q -- "-*" (commandline -ct)' -a '(__woof_woofs)'
