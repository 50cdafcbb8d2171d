//! The seeds are what they claim to be: the fuzzers start from inputs that reach
//! deep into each decoder, not from inputs refused at the first byte.

use woof_fuzz::seeds;
use woof_net::zmtp::NetErrorKind;

#[test]
fn proxy_seeds_are_served_except_create() {
    for (name, req) in seeds::proxy_requests() {
        let reply = woof_fuzz::proxy_request::reply(&req);
        let head = reply.first().map(Vec::as_slice);
        let text = format!(
            "{name}: {:?}",
            reply
                .iter()
                .map(|f| f.escape_ascii().to_string())
                .collect::<Vec<_>>()
        );
        if name == "create" {
            // The fuzzed proxy has no create right (see proxy_request.rs).
            assert!(text.contains("denied"), "{text}");
        } else if name.starts_with("cspot") {
            // CSPOT replies are a number, never the failure value.
            assert!(
                head.is_some_and(|h| h != b"18446744073709551615\0"),
                "{text}"
            );
        } else {
            assert_eq!(head, Some(&b"OK"[..]), "{text}");
        }
    }
}

#[test]
fn zmtp_seeds_handshake_and_reply() {
    for (name, stream) in seeds::zmtp_streams() {
        let (replies, err) = woof_fuzz::zmtp_client::replies(&stream);
        match name {
            // Two replies (a PING between them), then the server's end of stream.
            "null-at-once" | "null-careful" => {
                assert_eq!(replies.len(), 2, "{name}: {err:?}");
                assert_eq!(replies[0], [b"OK".to_vec(), b"8 16 5 1".to_vec()]);
                assert!(
                    err.is_some_and(|e| e.kind() == NetErrorKind::Closed),
                    "{name}"
                );
            }
            "null-error" => assert!(
                err.as_ref()
                    .is_some_and(|e| e.to_string().contains("no access")),
                "{name}: {err:?}"
            ),
            // A WELCOME that does not open under the server key the client has.
            "curve-welcome" => assert!(
                err.as_ref()
                    .is_some_and(|e| e.to_string().contains("WELCOME")),
                "{name}: {err:?}"
            ),
            other => panic!("no expectation for zmtp seed {other}"),
        }
    }
}
