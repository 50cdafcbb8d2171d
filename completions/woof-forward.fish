complete -c woof-forward -s N -l namespace -d 'Namespace directory [default: $WOOF_NAMESPACE, else the current directory]' -r -F
complete -c woof-forward -s H -l handler -d 'Fire HANDLER at the destination on each forwarded element, as `woof-put -H` would' -r
complete -c woof-forward -l skip-to -d 'Start at source seqno SEQNO instead of where the destination is; the elements skipped are counted as a gap (to move past an element the destination refuses)' -r
complete -c woof-forward -l window -d 'Batches in flight per source before waiting for an acknowledgement' -r
complete -c woof-forward -l format -d 'What a message to an engine carries: the element\'s bytes, or for a typed woof a JSON object or CSV row as woof-get prints it [default: raw]' -r -f -a "raw\t'The element\'s bytes as they are'
json\t'One JSON object per element (typed woofs): seqno, put_time, fields'
csv\t'One CSV row per element (typed woofs): seqno,put_time,fields'"
complete -c woof-forward -l rate -d 'Send at most N elements a second per source (catching up after an outage without filling a slow link) [default: as fast as the destination acknowledges]' -r
complete -c woof-forward -l heartbeat -d 'With no element to send, check the connection this often' -r
complete -c woof-forward -l origin -d 'The name this host forwards as [default: /etc/machine-id, else the host name]; keep it when moving the namespace to new hardware' -r
complete -c woof-forward -l mqtt -d 'The MQTT version to speak' -r -f -a "5\t'MQTT 5: user properties carry each element\'s identity'
3.1.1\t'MQTT 3.1.1, for brokers that speak only it: no properties, so a redelivered message cannot be told from a new one'"
complete -c woof-forward -l tls-ca -d 'With mqtts://: trust the CA certificates in FILE (PEM) instead of the system\'s (SSL_CERT_FILE, else /etc/ssl/certs/ca-certificates.crt)' -r -F
complete -c woof-forward -l tls-cert -d 'With mqtts://: present this client certificate (PEM), with --tls-key' -r -F
complete -c woof-forward -l tls-key -d 'With mqtts://: the private key of --tls-cert (PEM)' -r -F
complete -c woof-forward -l timeout -d 'With a woof:// URI: give up on an unreachable or silent proxy after DURATION (exit 69)' -r
complete -c woof-forward -l keys -d 'With a woof:// URI: key directory (own key pair, servers\' public keys) [default: $WOOF_KEYS, else ~/.woof/keys]' -r -F
complete -c woof-forward -l all -d 'Forward every woof of the namespace (and those created later) to the woofs of the same names in the namespace DEST'
complete -c woof-forward -l status -d 'Print, per source and destination: the last acknowledged seqno, the lag, the gaps, the state, the last error and since when; then exit'
complete -c woof-forward -l once -d 'Forward what the sources hold now, then exit 0 (for cron); any error ends it with that error\'s status instead of a retry'
complete -c woof-forward -l create -d 'Create a missing destination woof like its source (element size, history, durability, schema)'
complete -c woof-forward -l new-incarnation -d 'After a source was re-created (woof-create --force), forward the new one from its first element (the destination starts counting this origin afresh)'
complete -c woof-forward -l csv -d 'From an MQTT filter into a woof: each message is a CSV record of the woof\'s schema'
complete -c woof-forward -l json -d 'From an MQTT filter into a woof: each message is a JSON object of the woof\'s schema'
complete -c woof-forward -l skip-bad -d 'From an MQTT filter into a woof: a message that cannot be put (does not parse, wrong size) is counted, logged with its topic and acknowledged, instead of stopping with it unacknowledged'
complete -c woof-forward -s h -l help -d 'Print help (see more with \'--help\')'
complete -c woof-forward -s V -l version -d 'Print version'

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
complete -c woof-forward -s H -l handler -x -a '(__woof_handlers)'
complete -c woof-forward -n 'not string match -q -- "-*" (commandline -ct)' -a '(__woof_woofs)'
