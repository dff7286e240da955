package polypay

import (
	"crypto/rand"
	"sync"
	"time"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var idMu sync.Mutex
var lastMS, seq int64

// NewID returns prefix + 24 base62 characters: 8 encode the creation time in
// milliseconds and 3 a sequence within the millisecond, so ids of one kind
// made by one process sort by creation (lists page by id, newest first)
// without a shared counter; the last 13 are random (77 bits).
func NewID(prefix string) string {
	return prefix + newBody(24)
}

// NewAppID returns "app_" + 16 characters, Ping++'s app id shape.
func NewAppID() string { return "app_" + newBody(16) }

func newBody(n int) string {
	idMu.Lock()
	ms := time.Now().UnixMilli()
	if ms <= lastMS {
		ms = lastMS // keep the time part monotonic within a process
		seq++
		if seq >= 62*62*62 { // sequence exhausted: borrow the next millisecond
			ms++
			seq = 0
		}
	} else {
		seq = 0
	}
	lastMS = ms
	sq := seq
	idMu.Unlock()
	b := make([]byte, n)
	for i := 7; i >= 0; i-- {
		b[i] = base62[ms%62]
		ms /= 62
	}
	for i := 10; i >= 8; i-- {
		b[i] = base62[sq%62]
		sq /= 62
	}
	RandomBase62(b[11:])
	return string(b)
}

// RandomBase62 fills b with uniformly random base62 characters.
func RandomBase62(b []byte) {
	var buf [64]byte
	i := len(buf)
	for j := range b {
		for {
			if i == len(buf) {
				if _, err := rand.Read(buf[:]); err != nil {
					panic("polypay: crypto/rand failed: " + err.Error())
				}
				i = 0
			}
			c := buf[i]
			i++
			if c < 248 { // 248 = 4*62: reject the rest to stay uniform
				b[j] = base62[c%62]
				break
			}
		}
	}
}
