complete -c woof-get -l format -d 'Output format: raw, hex, dump, text, table, csv, json, or a template such as \'%t %s %{celsius}\' (%s seqno, %t put time, %T put time in ns, %x hex, %v text, %{FIELD} a typed field, %% a percent) [default: for a typed woof, table on a terminal and csv with a header otherwise; for another, dump on a terminal and raw otherwise]' -r
complete -c woof-get -l time-format -d 'How times are printed (put times, timestamp fields, results\' start, --info\'s created)' -r -f -a "rfc3339\t'2026-11-22T06:00:00.000000000Z (UTC, nanoseconds)'
unix\t'Seconds since the Unix epoch with nine decimals: 1795327200.000000000'
unix-ns\t'Nanoseconds since the Unix epoch: 1795327200000000000'
relative\t'Relative to now, as woof-put accepts it: -5m3s250ms'
local\t'RFC 3339 in the system\'s time zone (TZ, else /etc/localtime), with its offset: 2026-11-22T07:00:00.000000000+01:00'"
complete -c woof-get -l since -d 'Only elements put at or after TIME: RFC 3339 (any offset), `2026-11-22 06:00`, a date, today, yesterday (in the system\'s time zone; UTC with --utc), Unix seconds, now, or -1h (relative)' -r
complete -c woof-get -l until -d 'Only elements put at or before TIME (as --since)' -r
complete -c woof-get -l time-field -d 'Select (--since/--until), consolidate (--every) and plot (--plot) by this timestamp field of the schema instead of put time (a scan of the window, as such a field need not be in order)' -r
complete -c woof-get -l every -d 'Consolidate: one row per DURATION of put time (of the selection, or of all the woof holds), with --agg of each numeric field' -r
complete -c woof-get -l agg -d 'With --every: the consolidation functions [default: avg]' -r -f -a "avg\t''
min\t''
max\t''
last\t''
sum\t''
count\t''"
complete -c woof-get -l field -d 'With --every: the fields to consolidate [default: every numeric one]' -r
complete -c woof-get -l plot -d 'Chart these numeric fields in the terminal (sized to COLUMNS and LINES), by put time (or --time-field) from the first element of the selection, or of all the woof holds' -r
complete -c woof-get -l output -d 'With --plot: draw into FILE instead of the terminal, a PNG (FILE.png) or an SVG (FILE.svg); the time axis in UTC, or local with --time-format local' -r -F
complete -c woof-get -l size -d 'With --output: the image\'s width and height in pixels' -r
complete -c woof-get -s N -l namespace -d 'Namespace directory [default: $WOOF_NAMESPACE, else the current directory]' -r -F
complete -c woof-get -l timeout -d 'With a woof:// URI: give up on an unreachable or silent proxy after DURATION (exit 69)' -r
complete -c woof-get -l keys -d 'With a woof:// URI: key directory (own key pair, servers\' public keys) [default: $WOOF_KEYS, else ~/.woof/keys]' -r -F
complete -c woof-get -l results -d 'Read the handler results log of the namespace instead of a woof'
complete -c woof-get -l header -d 'With --format csv: print a header line of column names first'
complete -c woof-get -l utc -d 'Times without an offset in --since/--until (a date, `2026-11-22 06:00`, today, yesterday) are UTC, not the system\'s time zone (TZ); and no time is printed in local time'
complete -c woof-get -l info -d 'Describe the woof instead (with --format json: as one JSON object)'
complete -c woof-get -s h -l help -d 'Print help (see more with \'--help\')'
complete -c woof-get -s V -l version -d 'Print version'

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
complete -c woof-get -n 'not string match -q -- "-*" (commandline -ct)' -a '(__woof_woofs)'
