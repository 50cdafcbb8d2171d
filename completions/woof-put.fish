complete -c woof-put -s N -l namespace -d 'Namespace directory [default: $WOOF_NAMESPACE, else the current directory]' -r -F
complete -c woof-put -s H -l handler -d 'Run handler HANDLER (an executable in the namespace\'s handlers/) on each element put, through woof-platform' -r
complete -c woof-put -l durability -d 'Durability of these puts [default: the woof\'s own]' -r -f -a "none\t'Survives a process crash; no sync (fastest)'
batch\t'Group commit: synced per run of puts, at least every --commit-interval'
always\t'Synced before each put (or each group of a batch) is acknowledged'"
complete -c woof-put -l commit-interval -d 'With --batch/--lines and durability batch: sync at least this often' -r
complete -c woof-put -l timeout -d 'With a woof:// URI: give up on an unreachable or silent proxy after DURATION (exit 69)' -r
complete -c woof-put -l keys -d 'With a woof:// URI: key directory (own key pair, servers\' public keys) [default: $WOOF_KEYS, else ~/.woof/keys]' -r -F
complete -c woof-put -l pad -d 'Zero-pad input shorter than the element size'
complete -c woof-put -l batch -d 'Stream fixed-size elements from stdin (with --csv/--json: implied)'
complete -c woof-put -l csv -d 'Typed records: one CSV record per element (needs a schema)'
complete -c woof-put -l json -d 'Typed records: one JSON object per line (or over several, as jq prints them), one element each (needs a schema)'
complete -c woof-put -l no-header -d 'With --csv: the first record is data, even when it names columns'
complete -c woof-put -l skip-bad -d 'With --csv/--json: report bad records on stderr and put the others (exit 65 at the end) instead of stopping at the first'
complete -c woof-put -l lines -d 'Stream one element per line from stdin (the newline, and a CR before it, is not stored; a blank line is an empty element: zeros with --pad, else an error)'
complete -c woof-put -s h -l help -d 'Print help (see more with \'--help\')'
complete -c woof-put -s V -l version -d 'Print version'

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
complete -c woof-put -s H -l handler -x -a '(__woof_handlers)'
complete -c woof-put -n 'not string match -q -- "-*" (commandline -ct)' -a '(__woof_woofs)'
