// Package tcpproxy is a TCP forwarder for tests that need a server to go away under a client: Cut closes
// every connection at once (as a crash of the server or of the network does), Stall stops moving bytes
// without closing anything (as a lost network does, where neither end hears of it), Close stops
// listening too.
package tcpproxy

import (
	"net"
	"sync"
)

// Proxy forwards each connection it accepts to a target address.
type Proxy struct {
	l      net.Listener
	target string

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	stalled chan struct{} // closed while bytes flow; a new open channel while stalled
	closed  bool
	wg      sync.WaitGroup
}

// Start listens on a free loopback port and forwards to target ("host:port").
func Start(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	flowing := make(chan struct{})
	close(flowing)
	p := &Proxy{l: l, target: target, conns: map[net.Conn]struct{}{}, stalled: flowing}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's "host:port".
func (p *Proxy) Addr() string { return p.l.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			c.Close()
			up.Close()
			return
		}
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// pipe copies from src to dst, holding each chunk, and the end of src, while the proxy is stalled; when
// either side ends it closes both.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer p.drop(dst, src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		// Bytes and the end of the stream alike wait while the proxy is stalled.
		p.mu.Lock()
		gate := p.stalled
		p.mu.Unlock()
		<-gate
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) drop(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
}

// Cut closes every connection; new ones are accepted as before.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Stall stops forwarding bytes on every connection, old and new, until Resume; nothing is closed, and a
// side that closes is not heard of by the other.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stalled:
		p.stalled = make(chan struct{})
	default: // stalled already
	}
}

// Resume forwards again what Stall held.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stalled:
	default:
		close(p.stalled)
	}
}

// Close stops listening, closes every connection and waits for the forwarding goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.l.Close()
	p.Resume()
	p.Cut()
	p.wg.Wait()
}
