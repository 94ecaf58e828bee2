//! Which address to connect to, and when it is stable enough to use.
//!
//! The Go plugin read only the first IP of the first NIC, accepted link-local (APIPA) addresses
//! that Windows reports before DHCP answers, and could not stop waiting (#404, #249). Here every
//! NIC and every address is considered, in NIC order; link-local and unspecified addresses never
//! qualify; `ip_wait_address` is honoured; and an address must be reported unchanged for
//! `ip_settle_timeout` before it is used. Time is an input, so all of it is tested directly.

use std::net::IpAddr;
use std::time::Duration;

use nutanix_config::IpFilter;
use tokio::time::Instant;

/// Addresses Prism reports for a VM, split into those that qualify and those that do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Candidates {
    /// Usable addresses, in NIC order.
    pub(crate) usable: Vec<IpAddr>,
    /// Everything else Prism reported (for the timeout message).
    pub(crate) rejected: Vec<String>,
}

/// Splits the reported addresses (as strings, in NIC order) by the rules above.
pub(crate) fn candidates(reported: &[String], filter: &IpFilter) -> Candidates {
    let mut out = Candidates::default();
    for text in reported {
        let parsed: Option<IpAddr> = text.trim().parse().ok();
        match parsed {
            Some(ip) if usable(ip) && filter.accepts(ip) => {
                if !out.usable.contains(&ip) {
                    out.usable.push(ip);
                }
            }
            _ => {
                if !out.rejected.contains(text) {
                    out.rejected.push(text.clone());
                }
            }
        }
    }
    out
}

/// Why a reported address is not used, for the build's output.
pub(crate) fn why_not(text: &str, filter: &IpFilter) -> &'static str {
    match text.trim().parse::<IpAddr>() {
        Err(_) => "not an IP address",
        Ok(ip) if ip.is_unspecified() => "unspecified",
        Ok(IpAddr::V4(v4)) if v4.is_link_local() => {
            "link-local: an APIPA address Windows gives itself while DHCP has not answered"
        }
        Ok(IpAddr::V6(v6)) if (v6.segments()[0] & 0xffc0) == 0xfe80 => "IPv6 link-local",
        Ok(ip) if !usable(ip) => "not reachable from outside the VM",
        Ok(ip) if !filter.accepts(ip) => {
            "outside ip_wait_address (IPv4 only unless ip_wait_address says otherwise)"
        }
        Ok(_) => "usable",
    }
}

/// Link-local (169.254/16, fe80::/10) and unspecified addresses cannot reach the VM from
/// outside. Loopback is allowed: the simulator reports 127.0.0.1 for a local sshd.
fn usable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_link_local() && !v4.is_unspecified() && !v4.is_broadcast(),
        IpAddr::V6(v6) => {
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            !link_local && !v6.is_unspecified()
        }
    }
}

/// Waits for one address to stay the same for the settle time.
#[derive(Debug, Clone)]
pub(crate) struct Settle {
    settle: Duration,
    current: Option<(IpAddr, Instant)>,
}

impl Settle {
    /// A settle window of `settle` (zero: the first usable address wins at once).
    pub(crate) fn new(settle: Duration) -> Self {
        Self {
            settle,
            current: None,
        }
    }

    /// Feeds the first usable address seen at `now` (or none); returns the address once it has
    /// been seen continuously for the settle time. A change of address restarts the window.
    pub(crate) fn observe(&mut self, now: Instant, ip: Option<IpAddr>) -> Option<IpAddr> {
        let Some(ip) = ip else {
            self.current = None;
            return None;
        };
        let since = match self.current {
            Some((seen, since)) if seen == ip => since,
            _ => {
                self.current = Some((ip, now));
                now
            }
        };
        (now.saturating_duration_since(since) >= self.settle).then_some(ip)
    }

    /// When to look again: soon after a new address (to confirm it the moment the window ends),
    /// otherwise `idle`.
    pub(crate) fn next_poll(&self, now: Instant, idle: Duration) -> Duration {
        match self.current {
            Some((_, since)) => {
                let remaining = (since + self.settle).saturating_duration_since(now);
                remaining.min(idle).max(Duration::from_millis(50))
            }
            None => idle,
        }
    }

    /// The address being watched, if any.
    pub(crate) fn watching(&self) -> Option<IpAddr> {
        self.current.map(|(ip, _)| ip)
    }
}

/// Poll interval while no address is reported: fast at first (a VM that already has an
/// address is seen at once), then backing off to a few seconds so a long boot costs little.
pub(crate) fn idle_poll(previous: Option<Duration>) -> Duration {
    match previous {
        None => Duration::from_millis(200),
        Some(d) => (d.mul_f64(1.5)).min(Duration::from_secs(5)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any() -> IpFilter {
        IpFilter(None)
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn link_local_and_junk_are_skipped_every_nic_is_read() {
        let c = candidates(
            &s(&[
                "169.254.10.2",
                "fe80::1",
                "not-an-ip",
                "0.0.0.0",
                "10.0.0.7",
                "fd00::5",
            ]),
            &any(),
        );
        assert_eq!(
            c.usable,
            vec![
                "10.0.0.7".parse::<IpAddr>().unwrap(),
                "fd00::5".parse().unwrap()
            ]
        );
        assert_eq!(
            c.rejected,
            s(&["169.254.10.2", "fe80::1", "not-an-ip", "0.0.0.0"])
        );
    }

    #[test]
    fn skipped_addresses_say_why() {
        let f = IpFilter::default();
        assert!(why_not("169.254.7.9", &f).starts_with("link-local: an APIPA address"));
        assert_eq!(why_not("fe80::1", &f), "IPv6 link-local");
        assert_eq!(why_not("0.0.0.0", &f), "unspecified");
        assert_eq!(why_not("x", &f), "not an IP address");
        assert!(why_not("fd00::5", &f).starts_with("outside ip_wait_address"));
        assert_eq!(why_not("10.0.0.7", &f), "usable");
    }

    #[test]
    fn ip_wait_address_is_honoured() {
        let filter = IpFilter(Some(nutanix_config::parse_cidr("10.42.100.0/24").unwrap()));
        let c = candidates(&s(&["10.0.0.7", "10.42.100.51"]), &filter);
        assert_eq!(c.usable, vec!["10.42.100.51".parse::<IpAddr>().unwrap()]);
        assert_eq!(c.rejected, s(&["10.0.0.7"]));
        // The default filter (0.0.0.0/0) is IPv4 only, as in the Go plugin.
        let c = candidates(&s(&["fd00::5", "127.0.0.1"]), &IpFilter::default());
        assert_eq!(c.usable, vec!["127.0.0.1".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn address_must_stay_the_same_for_the_settle_time() {
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.7".parse().unwrap();
        let b: IpAddr = "10.0.0.8".parse().unwrap();
        let mut st = Settle::new(Duration::from_secs(5));
        assert_eq!(st.observe(t0, Some(a)), None);
        assert_eq!(st.observe(t0 + Duration::from_secs(3), Some(a)), None);
        // Changed: the window restarts.
        assert_eq!(st.observe(t0 + Duration::from_secs(4), Some(b)), None);
        assert_eq!(st.observe(t0 + Duration::from_secs(8), Some(b)), None);
        assert_eq!(st.observe(t0 + Duration::from_secs(9), Some(b)), Some(b));
        // Gone: the window restarts too.
        let mut st = Settle::new(Duration::from_secs(5));
        st.observe(t0, Some(a));
        assert_eq!(st.observe(t0 + Duration::from_secs(2), None), None);
        assert_eq!(st.observe(t0 + Duration::from_secs(6), Some(a)), None);
        assert_eq!(st.observe(t0 + Duration::from_secs(11), Some(a)), Some(a));
    }

    #[test]
    fn zero_settle_takes_the_first_address() {
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.7".parse().unwrap();
        assert_eq!(Settle::new(Duration::ZERO).observe(t0, Some(a)), Some(a));
    }

    #[test]
    fn polls_back_off_and_wake_for_the_settle_deadline() {
        assert_eq!(idle_poll(None), Duration::from_millis(200));
        let mut d = None;
        for _ in 0..20 {
            d = Some(idle_poll(d));
        }
        assert_eq!(d, Some(Duration::from_secs(5)));
        let t0 = Instant::now();
        let mut st = Settle::new(Duration::from_secs(2));
        st.observe(t0, Some("10.0.0.7".parse().unwrap()));
        assert_eq!(
            st.next_poll(t0 + Duration::from_millis(500), Duration::from_secs(5)),
            Duration::from_millis(1500)
        );
        assert_eq!(st.watching(), Some("10.0.0.7".parse().unwrap()));
    }
}
