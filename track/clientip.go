package track

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the address of the visitor: the peer address, or, when the peer is one of the trusted
// proxies, the right-most address of X-Forwarded-For that is not itself a trusted proxy. Addresses left
// of that one were written by the client and cannot be believed. An unparsable entry stops the walk and
// the last address known to be good (a trusted hop) is used. The zero Addr means the peer address could
// not be parsed.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	var ip netip.Addr
	if err == nil {
		ip = ap.Addr().Unmap()
	} else if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		ip = a.Unmap()
	} else {
		return netip.Addr{}
	}
	if len(trusted) == 0 || !isTrusted(ip, trusted) {
		return ip
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var part string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				part, v = v[j+1:], v[:j]
			} else {
				part, v = v, ""
			}
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			a, err := netip.ParseAddr(part)
			if err != nil {
				return ip
			}
			ip = a.Unmap()
			if !isTrusted(ip, trusted) {
				return ip
			}
		}
	}
	return ip
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
