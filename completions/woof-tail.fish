complete -c woof-tail -s n -l lines -d 'How many of the latest elements to print first [default: 10]; +N: from seqno N on (or the oldest held, if N is gone), as tail\'s +N' -r
complete -c woof-tail -s C -l count -d 'Stop after printing N elements (counting the first ones), as mosquitto_sub -C' -r
complete -c woof-tail -s W -l within -d 'With -f/-F: give up, exit 75, when DURATION passes without a new element (from the start, then from the last one printed)' -r
complete -c woof-tail -l after -d 'Start right after this seqno (instead of the last N)' -r
complete -c woof-tail -l since -d 'Start at the first element put at or after TIME (as woof-get --since)' -r
complete -c woof-tail -l until -d 'Stop (exit 0) at the first element put after TIME; with -f, wait for it' -r
complete -c woof-tail -l cursor -d 'Resume after the seqno stored in FILE, and keep FILE up to date' -r -F
complete -c woof-tail -l format -d 'Output format: raw, hex, dump, text, table, csv, json, or a template such as \'%t %s %{celsius}\' (%s seqno, %t put time, %T put time in ns, %x hex, %v text, %{FIELD} a typed field, %% a percent) [default: for a typed woof, table on a terminal and csv with a header otherwise; for another, dump on a terminal and raw otherwise]' -r
complete -c woof-tail -l time-format -d 'How times are printed (put times, timestamp fields, results\' start, --info\'s created)' -r -f -a "rfc3339\t'2026-11-22T06:00:00.000000000Z (UTC, nanoseconds)'
unix\t'Seconds since the Unix epoch with nine decimals: 1795327200.000000000'
unix-ns\t'Nanoseconds since the Unix epoch: 1795327200000000000'
relative\t'Relative to now, as woof-put accepts it: -5m3s250ms'
local\t'RFC 3339 in the system\'s time zone (TZ, else /etc/localtime), with its offset: 2026-11-22T07:00:00.000000000+01:00'"
complete -c woof-tail -s N -l namespace -d 'Namespace directory [default: $WOOF_NAMESPACE, else the current directory]' -r -F
complete -c woof-tail -l timeout -d 'With a woof:// URI: give up on an unreachable or silent proxy after DURATION (exit 69)' -r
complete -c woof-tail -l keys -d 'With a woof:// URI: key directory (own key pair, servers\' public keys) [default: $WOOF_KEYS, else ~/.woof/keys]' -r -F
complete -c woof-tail -l results -d 'Read the handler results log of the namespace instead of a woof'
complete -c woof-tail -s f -l follow -d 'Keep printing new elements as they are put'
complete -c woof-tail -s F -l follow-retry -d 'Follow, and keep following across what may come back (like tail -F): a woof-proxy that restarts or is unreachable for a while, a local woof missing for a while or replaced by woof-create --force (followed from its start)'
complete -c woof-tail -l header -d 'With --format csv: print a header line of column names first'
complete -c woof-tail -l utc -d 'Times without an offset in --since/--until (a date, `2026-11-22 06:00`, today, yesterday) are UTC, not the system\'s time zone (TZ); and no time is printed in local time'
complete -c woof-tail -s h -l help -d 'Print help (see more with \'--help\')'
complete -c woof-tail -s V -l version -d 'Print version'

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
complete -c woof-tail -n 'not string match -q -- "-*" (commandline -ct)' -a '(__woof_woofs)'
