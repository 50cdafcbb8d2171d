complete -c woof-proxy -l export -d 'Namespace directory to serve (repeatable)' -r -F
complete -c woof-proxy -l listen -d 'Serve on ENDPOINT (tcp://ADDR:PORT, port 0 = any free one) instead of the namespaces\' CSPOT ports (repeatable)' -r
complete -c woof-proxy -l bind -d 'Address the CSPOT ports bind [default: 127.0.0.1, or every interface with --keys or --insecure]' -r
complete -c woof-proxy -l keys -d 'Key directory: CURVE secret key, allowed clients and ACL (see woof(7))' -r -F
complete -c woof-proxy -l anonymous -d 'Rights of clients without keys (comma-separated: read, write, trigger, create, or all)' -r
complete -c woof-proxy -l timeout -d 'Longest a follow request may wait (replies a client does not read are dropped beyond 256 MiB waiting, never waited for)' -r
complete -c woof-proxy -l workers -d 'Threads serving requests (puts, gets, info, create)' -r
complete -c woof-proxy -l followers -d 'Follow requests that may wait at once (parked on their woofs, answered by a few threads: a waiting follow costs memory, about 1 kB, not a thread). A follow beyond them is answered "busy" at once, unless there is something to return already, and woof-tail retries it: followers never see a false "unreachable"' -r
complete -c woof-proxy -l uplink -d 'Dial the cloud proxy at ENDPOINT (tcp://HOST:PORT) and keep one CURVE connection to it, over which the cloud\'s clients reach this proxy\'s exports as woof://CLOUD/@NAME/namespace/woof (NAME: this edge\'s key name in the cloud\'s clients/). For an edge behind NAT; needs --keys (its own key pair, and the cloud\'s id.pub in servers/HOST:PORT.pub). This proxy\'s ACL decides what the cloud\'s clients may do, by the names the cloud authenticated them as' -r
complete -c woof-proxy -l gen-keys -d 'Make a CURVE key pair in DIR (id.key, id.pub) and exit' -r -F
complete -c woof-proxy -l insecure -d 'Serve without keys on non-loopback addresses (anyone who can connect gets the --anonymous rights)'
complete -c woof-proxy -l accept-uplinks -d 'Let edges dial in (--uplink) and route requests for /@NAME/... to edge NAME. Needs --keys; also binds the uplink port (UPLINK_PORT in woof(7)) unless --listen is given, in which case every endpoint accepts uplinks'
complete -c woof-proxy -s h -l help -d 'Print help (see more with \'--help\')'
complete -c woof-proxy -s V -l version -d 'Print version'
