package gateway

import (
	"net"
	"sync"
)

// capConns bounds a listener's open connections, in all and per client
// address: past either cap a new connection is closed at once, so neither
// many clients nor one client holding slow connections can exhaust the
// node's file descriptors. A cap of 0 means none.
func capConns(ln net.Listener, total, perIP int) net.Listener {
	if total == 0 && perIP == 0 {
		return ln
	}
	return &cappedListener{Listener: ln, total: total, perIP: perIP, byIP: map[string]int{}}
}

type cappedListener struct {
	net.Listener
	total, perIP int

	mu   sync.Mutex
	open int
	byIP map[string]int // only addresses with open connections: bounded by open
}

func (l *cappedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if l.take(ip) {
			return &cappedConn{Conn: c, l: l, ip: ip}, nil
		}
		c.Close()
	}
}

func (l *cappedListener) take(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total > 0 && l.open >= l.total || l.perIP > 0 && l.byIP[ip] >= l.perIP {
		return false
	}
	l.open++
	l.byIP[ip]++
	return true
}

func (l *cappedListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

type cappedConn struct {
	net.Conn
	l    *cappedListener
	ip   string
	once sync.Once
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}
