package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/time/rate"

	"github.com/polypay/polypay/store"
)

// Role is what a console user may do.
type Role string

const (
	RoleOwner    Role = "owner"
	RoleAdmin    Role = "admin"
	RoleFinance  Role = "finance"
	RoleReadOnly Role = "read_only"
	// RoleCashier works the counter page: takes payments at the shop, and
	// may read, but changes nothing else.
	RoleCashier Role = "cashier"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleOwner, RoleAdmin, RoleFinance, RoleReadOnly, RoleCashier:
		return true
	}
	return false
}

// Action is something that changes state; every POST route names one.
type Action string

const (
	ActCreateApp   Action = "create_app"
	ActSetChannel  Action = "set_channel"
	ActRefund      Action = "refund"
	ActResend      Action = "resend_webhook"
	ActResolve     Action = "resolve_discrepancy"
	ActManageUsers Action = "manage_users"
	ActRollKeys    Action = "roll_keys"
	ActWebhooks    Action = "manage_webhooks"
	ActManageRisk  Action = "manage_risk" // rules, lists, lifting blocks
	ActReviewRisk  Action = "review_risk" // approving or rejecting held charges
	// ActApprovePayout approves (sends) or cancels a scheduled transfer or
	// batch. Finance and owners only: an admin can roll the app's API keys
	// and so create payouts through the API, which would let one person
	// both ask for and release money (core refuses only a payout's
	// recorded creator, and API payouts are recorded as "api").
	ActApprovePayout  Action = "approve_payout"
	ActPayoutSettings Action = "payout_settings"  // the approval threshold and batch rule
	ActCounter        Action = "counter"          // take a payment at the counter page
	ActQRCodes        Action = "manage_qr_codes"  // make shop QR codes (each a way to pay the app)
	ActRecurring      Action = "manage_recurring" // cancel debit agreements and subscriptions
	ActSubApps        Action = "manage_sub_apps"  // add sub-merchants, rename, suspend or activate them
)

// Can is the permission table: read_only can do none of these.
func (r Role) Can(a Action) bool {
	switch a {
	case ActCreateApp, ActSetChannel, ActResend, ActRollKeys, ActWebhooks, ActManageRisk, ActReviewRisk, ActQRCodes, ActSubApps:
		return r == RoleOwner || r == RoleAdmin
	case ActRefund, ActResolve, ActRecurring:
		return r == RoleOwner || r == RoleAdmin || r == RoleFinance
	case ActApprovePayout:
		return r == RoleOwner || r == RoleFinance
	case ActPayoutSettings:
		return r == RoleOwner || r == RoleAdmin
	case ActCounter:
		return r == RoleOwner || r == RoleAdmin || r == RoleFinance || r == RoleCashier
	case ActManageUsers:
		// Admins manage users too, but not owners (see manageable).
		return r == RoleOwner || r == RoleAdmin
	}
	return false
}

// Argon2id parameters for new hashes: RFC 9106's second recommended
// option scaled to OWASP's minimum memory (19 MiB, t=2, p=1) so a sign-in
// stays cheap on a small machine. Verification reads the parameters stored
// with each hash, so raising these later keeps old hashes working.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashPassword returns an encoded Argon2id hash with a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (PHC string format).
func HashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword compares a password with an encoded hash in constant time.
func CheckPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<21 || t == 0 || t > 16 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is compared against when the email is unknown, so that a
// sign-in takes as long whether or not the account exists.
var dummyHash = sync.OnceValue(func() string { return HashPassword("polypay-no-such-user") })

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// AddUser creates a console user. EInvalid for a bad email, role or a
// password shorter than MinPasswordLen; EConflict when the email is taken.
func AddUser(ctx context.Context, db *store.DB, email string, role Role, password string) error {
	return AddScopedUser(ctx, db, email, role, password, nil)
}

// Sign-in throttling. Failures are counted per (email, source) in the
// store, so every node sees them: after freeFailures failures from one
// source for one email, that source waits firstDelay before its next try
// for that email, and twice as long after each further failure, up to
// maxDelay; a success clears the count and a quiet forgetAfter does too.
// Nothing locks an account, so an attacker cannot lock its owner out from
// the owner's own address; the email need not exist (unknown ones are
// counted and answered alike). A source is the TCP peer's address (an IPv6
// /64 counts as one: whoever has one address usually has the whole
// prefix). Besides, one source gets ipBurst attempts, refilled at one per
// ipEvery, whatever the emails; that limit is kept in memory per node, in
// front of any store work, for at most ipTracked sources.
const (
	freeFailures = 5
	firstDelay   = time.Minute
	maxDelay     = time.Hour
	forgetAfter  = 24 * time.Hour
	ipBurst      = 20
	ipEvery      = 6 * time.Second
	ipTracked    = 10000
)

// signInDelay is how long a source waits after its failed-th failure for
// an email.
func signInDelay(failed int) time.Duration {
	if failed < freeFailures {
		return 0
	}
	d := firstDelay
	for i := freeFailures; i < failed && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// errSignIn is the one answer for every refused sign-in, so that the page
// does not tell which emails exist.
var errSignIn = errors.New("sign-in refused")

// throttled is a refusal for too many attempts; retry is when the next
// attempt may come (the Retry-After header).
type throttled struct{ retry time.Duration }

func (*throttled) Error() string { return "too many attempts" }

// sourceOf is the throttling key of a peer address: the address itself,
// an IPv6 address's /64 prefix.
func sourceOf(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// signInKey names one email from one source in the store; hashed so that
// made-up emails make rows of one size.
func signInKey(email, source string) string {
	h := sha256.Sum256([]byte(email + "\x00" + source))
	return hex.EncodeToString(h[:])
}

// ipLimiter is the per-source limit, whatever the emails.
type ipLimiter struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// allow takes an attempt from ip's bucket, or says how long until one is
// there.
func (l *ipLimiter) allow(ip string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*rate.Limiter{}
	}
	lim, ok := l.m[ip]
	if !ok {
		if len(l.m) >= ipTracked {
			l.evict(now)
		}
		lim = rate.NewLimiter(rate.Every(ipEvery), ipBurst)
		l.m[ip] = lim
	}
	if lim.AllowN(now, 1) {
		return true, 0
	}
	return false, time.Duration((1 - lim.TokensAt(now)) * float64(ipEvery))
}

// evict bounds the map under a spray of addresses: it forgets the sources
// whose bucket is full again (that changes nothing), then, while the map is
// still over half the bound, those closest to full, so a source that is
// being limited is forgotten last. Emptying the map instead would hand
// every limited source a fresh burst.
func (l *ipLimiter) evict(now time.Time) {
	type entry struct {
		ip     string
		tokens float64
	}
	all := make([]entry, 0, len(l.m))
	for ip, lim := range l.m {
		all = append(all, entry{ip, lim.TokensAt(now)})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].tokens > all[j].tokens })
	for _, e := range all {
		if e.tokens < ipBurst && len(l.m) < ipTracked/2 {
			break
		}
		delete(l.m, e.ip)
	}
}

// signIn checks credentials and opens a session; it returns the cookie
// value (only its hash is stored). ip is the TCP peer's address. A refusal
// is errSignIn or *throttled, the same for an unknown email as for a known
// one, after the same work (a password hash either way).
func (c *Console) signIn(ctx context.Context, email, password, ip string) (string, error) {
	now := c.now()
	source := sourceOf(ip)
	if ok, wait := c.ips.allow(source, now); !ok {
		return "", &throttled{retry: wait}
	}
	c.sweepSignIns(ctx, now)
	email = strings.ToLower(strings.TrimSpace(email))
	key := signInKey(email, source)
	// Count the attempt as failed before checking the password: parallel
	// attempts cannot all pass the check before any failure is recorded.
	var allowed bool
	var failed int
	var nextAt int64
	if err := c.cfg.DB.Write(ctx, func(tx *store.Tx) (err error) {
		allowed, failed, nextAt, err = tx.CountConsoleSignIn(ctx, key, now.Unix(), int64(forgetAfter/time.Second),
			func(failed int) int64 { return int64(signInDelay(failed) / time.Second) })
		return err
	}); err != nil {
		return "", err
	}
	if !allowed {
		return "", &throttled{retry: time.Duration(nextAt-now.Unix()) * time.Second}
	}
	var u *store.ConsoleUser
	if err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		u, err = tx.ConsoleUserByEmail(ctx, email)
		return
	}); err != nil {
		return "", err
	}
	hash := dummyHash()
	if u != nil {
		hash = u.Password
	}
	if !CheckPassword(hash, password) || u == nil || u.Disabled {
		if nextAt == 0 {
			return "", errSignIn
		}
		if failed == freeFailures {
			userID := ""
			if u != nil {
				userID = u.ID
			}
			c.log().Warn("console: sign-ins from one address throttled after failed passwords", "ip", source, "user", userID)
		}
		return "", &throttled{retry: time.Duration(nextAt-now.Unix()) * time.Second}
	}
	raw := make([]byte, 32) // 256 bits
	rand.Read(raw)
	id := base64.RawURLEncoding.EncodeToString(raw)
	s := &store.ConsoleSession{IDHash: sessionHash(id), UserID: u.ID, CSRF: randomToken(), Created: now.Unix(), Seen: now.Unix()}
	err := c.cfg.DB.Write(ctx, func(tx *store.Tx) error {
		if err := tx.ClearConsoleSignIn(ctx, key); err != nil {
			return err
		}
		// Sweep expired sessions now and then; sign-in is rare enough.
		if err := tx.DeleteStaleConsoleSessions(ctx, now.Add(-c.idle()).Unix(), now.Add(-c.maxAge()).Unix()); err != nil {
			return err
		}
		return tx.InsertConsoleSession(ctx, s)
	})
	return id, err
}

// sweepSignIns deletes expired failure counts, at most once a minute per
// node, in its own transaction (sweeping inside the counting one could
// deadlock two nodes on PostgreSQL). A failure waits for the next sweep.
func (c *Console) sweepSignIns(ctx context.Context, now time.Time) {
	last := c.swept.Load()
	if now.Unix()-last < 60 || !c.swept.CompareAndSwap(last, now.Unix()) {
		return
	}
	if err := c.cfg.DB.Write(ctx, func(tx *store.Tx) error { return tx.DeleteExpiredConsoleSignIns(ctx, now.Unix()) }); err != nil {
		c.log().Error("console: sweep sign-in counts", "err", err)
	}
}

func sessionHash(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// session is a signed-in request's identity.
type session struct {
	hash string
	csrf string
	user *store.ConsoleUser
	role Role
}

// loadSession returns the request's valid session, or nil. An expired one
// is deleted.
func (c *Console) loadSession(ctx context.Context, id string) (*session, error) {
	if id == "" || len(id) > 64 {
		return nil, nil
	}
	h := sessionHash(id)
	var s *store.ConsoleSession
	var u *store.ConsoleUser
	if err := c.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		s, u, err = tx.ConsoleSession(ctx, h)
		return
	}); err != nil || s == nil {
		return nil, err
	}
	now := c.now().Unix()
	if now-s.Seen > int64(c.idle()/time.Second) || now-s.Created > int64(c.maxAge()/time.Second) {
		return nil, c.cfg.DB.Write(ctx, func(tx *store.Tx) error { return tx.DeleteConsoleSession(ctx, h) })
	}
	// Record activity at most once a minute: the idle limit is coarse and
	// every page view need not be a write.
	if now-s.Seen >= 60 {
		if err := c.cfg.DB.Write(ctx, func(tx *store.Tx) error { return tx.TouchConsoleSession(ctx, h, now) }); err != nil {
			return nil, err
		}
	}
	return &session{hash: h, csrf: s.CSRF, user: u, role: Role(u.Role)}, nil
}

func tokenEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
