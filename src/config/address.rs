//! Addresses in profiles that more than one layer reads.

/// `srt://host:port`, with an optional `?streamid=…`: where the contribution encoder listens.
pub fn srt_listener(address: &str) -> Option<(String, u16, Option<String>)> {
    let rest = address.strip_prefix("srt://")?;
    let (hostport, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let (host, port) = hostport.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    if host.is_empty() || host.contains('/') {
        return None;
    }
    let stream_id = query.and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("streamid="))
            .map(String::from)
    });
    Some((host.to_string(), port, stream_id))
}

#[cfg(test)]
mod tests {
    use super::srt_listener;

    #[test]
    fn an_srt_listener_is_a_host_and_a_port_with_an_optional_stream_id() {
        assert_eq!(
            srt_listener("srt://contrib.example.net:9000?streamid=cam1&latency=200"),
            Some(("contrib.example.net".into(), 9000, Some("cam1".into())))
        );
        assert_eq!(
            srt_listener("srt://203.0.113.9:9000"),
            Some(("203.0.113.9".into(), 9000, None))
        );
        for bad in [
            "srt://host",
            "srt://:9000",
            "srt://host:0",
            "srt://h/x:1",
            "udp://h:1",
            "",
        ] {
            assert_eq!(srt_listener(bad), None, "{bad}");
        }
    }
}
