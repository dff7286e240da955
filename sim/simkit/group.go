package simkit

import (
	"context"
	"sync"
	"time"
)

// Group runs a simulator's background work (notification retries, a buyer
// confirming on the phone later): Close stops all of it and waits. The
// zero value is ready to use. Safe for concurrent use; its lock is a leaf,
// so a simulator may call Go while holding its own.
type Group struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func (g *Group) init() {
	g.once.Do(func() { g.ctx, g.cancel = context.WithCancel(context.Background()) })
}

// Context is cancelled by Close.
func (g *Group) Context() context.Context {
	g.init()
	return g.ctx
}

// Go runs f in a goroutine that Close waits for; once the group is closed
// it does nothing. Checking closed and adding to the WaitGroup under the
// lock Close takes is what keeps Add from racing with Wait.
func (g *Group) Go(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
}

// Sleep waits d, or until Close; it reports whether d passed.
func (g *Group) Sleep(d time.Duration) bool {
	select {
	case <-g.Context().Done():
		return false
	case <-time.After(d): // collected once unreferenced (Go 1.23)
		return true
	}
}

// Close cancels the group's context and waits for its goroutines. It may
// be called more than once.
func (g *Group) Close() {
	g.init()
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
}
