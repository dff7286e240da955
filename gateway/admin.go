package gateway

import (
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/polypay/polypay/metrics"
)

// serveAdmin starts the operator's listener: Prometheus metrics and Go's
// pprof. It is separate from the public one because both reveal what
// tenants do (app ids, channels, volumes) and pprof costs CPU on demand.
func (n *Node) serveAdmin(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	m := http.NewServeMux()
	m.Handle("GET /metrics", metrics.Handler(backlog{n.DB}))
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	n.AdminURL = "http://" + ln.Addr().String()
	n.adminSrv = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go n.adminSrv.Serve(ln)
	n.log.Info("polypay admin listening (metrics, pprof)", "url", n.AdminURL)
	return nil
}
