package core

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/paycode"
	"github.com/polypay/polypay/store"
	"github.com/polypay/polypay/wire"
)

// polypay's own payment codes (package paycode) debit a user's balance
// through the balance channel: a charge with extra.scan_code (the code the
// merchant scanned) and extra.terminal_id instead of extra.user. The code
// is resolved to its user in the transaction that debits the balance and
// records the code's use, so a code pays once across every node.

// Payment-code limits and lockouts.
const (
	OnlineCodeTTL        = 60 * time.Second
	DefaultPaycodeAmount = 50000 // an offline code pays at most ¥500.00 unless the device says otherwise
	DefaultPaycodeDaily  = 20    // offline codes a device may pay with per day (Beijing time)
	paycodeMaxFailures   = 5     // wrong codes in paycodeFailWindow before a lockout
	paycodeFailWindow    = 10 * 60
	paycodeLockFor       = 15 * 60
)

// beijing is the day a device's daily count resets in.
var beijing = time.FixedZone("CST", 8*3600)

// PaycodeDeviceParams register a device.
type PaycodeDeviceParams struct {
	Version    int
	MaxAmount  int64
	DailyCount int
}

// paycodeVersions are the offline versions this node accepts: all it
// knows unless the operator retired some (Service.PaycodeVersions).
func (s *Service) paycodeVersions() []int {
	if len(s.PaycodeVersions) > 0 {
		return s.PaycodeVersions
	}
	var out []int
	for v := range paycode.Algorithms {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// RegisterPaycodeDevice gives a user's device its secret and index.
func (s *Service) RegisterPaycodeDevice(ctx context.Context, who Caller, user string, p PaycodeDeviceParams, hook Hook) (any, error) {
	if s.Box == nil {
		return nil, polypay.Errorf(polypay.ENotSupported, "this node has no master key to seal a payment-code device's secret")
	}
	if p.Version == 0 {
		p.Version = s.paycodeVersions()[len(s.paycodeVersions())-1]
	}
	if !slices.Contains(s.paycodeVersions(), p.Version) {
		return nil, polypay.ParamError("version", "付款码版本须为 %v 之一", s.paycodeVersions())
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	secret := base32.StdEncoding.EncodeToString(key)
	d := &store.PaycodeDevice{ID: polypay.NewID("pcd_"), AppID: who.App.ID, Livemode: who.Live, User: user, Version: p.Version,
		MaxAmount: p.MaxAmount, DailyCount: p.DailyCount}
	d.SealedSecret = s.Box.Seal("paycode_device:"+d.ID, []byte(secret))
	var out *wire.PaycodeDevice
	err := drawAgain(func() error { // a random index the app already has: draw again
		return s.write(ctx, func(tx Tx) error {
			if _, err := activeUser(ctx, tx, who, user, "user"); err != nil {
				return err
			}
			n, err := rand.Int(rand.Reader, big.NewInt(1e8))
			if err != nil {
				return err
			}
			d.Index, d.Created = n.Int64(), tx.Now()
			if err := tx.InsertPaycodeDevice(ctx, d); err != nil {
				return err
			}
			out = renderDevice(d)
			out.Secret = &secret
			link := s.walletURL(d, secret)
			out.WalletURL = &link
			return runHook(hook, tx, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// walletURL enrolls a device in the browser wallet: its parameters as
// base64url JSON in the fragment, which never reaches a server's logs.
func (s *Service) walletURL(d *store.PaycodeDevice, secret string) string {
	b, _ := json.Marshal(map[string]any{"device": d.ID, "user": d.User, "index": d.Index, "version": d.Version,
		"secret": secret, "max_amount": d.MaxAmount, "live": d.Livemode})
	return s.BaseURL + "/wallet/#enroll=" + base64.RawURLEncoding.EncodeToString(b)
}

func renderDevice(d *store.PaycodeDevice) *wire.PaycodeDevice {
	w := &wire.PaycodeDevice{ID: d.ID, Object: "payment_code_device", App: d.AppID, Livemode: d.Livemode, User: d.User,
		Index: d.Index, Version: d.Version, MaxAmount: d.MaxAmount, DailyCount: d.DailyCount, Revoked: d.Revoked != 0,
		Created: d.Created}
	if d.LockedUntil > 0 {
		w.LockedUntil = &d.LockedUntil
	}
	return w
}

// ListPaycodeDevices lists a user's devices.
func (s *Service) ListPaycodeDevices(ctx context.Context, who Caller, url, user string) (wire.List, error) {
	var list wire.List
	err := s.read(ctx, func(tx Tx) error {
		if _, err := tx.GetUser(ctx, who.App.ID, who.Live, user); err != nil {
			return err
		}
		ds, err := tx.ListPaycodeDevices(ctx, who.App.ID, who.Live, user)
		data := make([]any, 0, len(ds))
		for _, d := range ds {
			data = append(data, renderDevice(d))
		}
		list = wire.NewList(url, false, data)
		return err
	})
	return list, err
}

// GetPaycodeDevice answers one of a user's devices.
func (s *Service) GetPaycodeDevice(ctx context.Context, who Caller, user, id string) (any, error) {
	var out any
	err := s.read(ctx, func(tx Tx) error {
		d, err := tx.GetPaycodeDevice(ctx, who.App.ID, who.Live, user, id)
		if err == nil && d == nil {
			err = polypay.NotFound("payment_code_device", id)
		}
		if err == nil {
			out = renderDevice(d)
		}
		return err
	})
	return out, err
}

// RevokePaycodeDevice revokes a device: its codes are refused from now on,
// on every node.
func (s *Service) RevokePaycodeDevice(ctx context.Context, who Caller, user, id string) (any, error) {
	var out any
	err := s.write(ctx, func(tx Tx) error {
		d, err := tx.GetPaycodeDevice(ctx, who.App.ID, who.Live, user, id)
		if err == nil && d == nil {
			err = polypay.NotFound("payment_code_device", id)
		}
		if err != nil {
			return err
		}
		if d.Revoked == 0 {
			d.Revoked = tx.Now()
			if err := tx.SetPaycodeDeviceGuard(ctx, d); err != nil {
				return err
			}
		}
		out = renderDevice(d)
		return nil
	})
	return out, err
}

// IssuePaycode issues an online payment code for a user: single use,
// valid for OnlineCodeTTL.
func (s *Service) IssuePaycode(ctx context.Context, who Caller, user string, hook Hook) (any, error) {
	var out *wire.PaymentCode
	err := drawAgain(func() error { // the random digits of a live code: draw again
		return s.write(ctx, func(tx Tx) error {
			if _, err := activeUser(ctx, tx, who, user, "user"); err != nil {
				return err
			}
			n, err := rand.Int(rand.Reader, big.NewInt(1e16))
			if err != nil {
				return err
			}
			code, _ := paycode.NewOnline(fmt.Sprintf("%016d", n.Int64()))
			now := tx.Now()
			exp := now + int64(OnlineCodeTTL/time.Second)
			if err := tx.InsertPaycodeOnline(ctx, who.App.ID, who.Live, user, code, exp, now); err != nil {
				return err
			}
			out = &wire.PaymentCode{Object: "payment_code", App: who.App.ID, Livemode: who.Live, User: user, Code: code,
				Expires: exp, Created: now}
			return runHook(hook, tx, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// drawAgain runs a write that stores a random draw (an index, a code's
// digits) up to five times while the draw collides with a stored one.
func drawAgain(write func() error) error {
	var err error
	for range 5 {
		if err = write(); !store.IsUniqueViolation(err) {
			break
		}
	}
	return err
}

// paycodeRefusal is a wrong code: counted against its device (when one
// was found) and terminal after the transaction that refused it.
type paycodeRefusal struct {
	err              error
	device, terminal string
}

func (r *paycodeRefusal) Error() string { return r.err.Error() }
func (r *paycodeRefusal) Unwrap() error { return r.err }

func refuseCode(deviceID, terminal string) error {
	return &paycodeRefusal{err: polypay.ParamError("extra[scan_code]", "付款码无效、已过期或已使用"), device: deviceID, terminal: terminal}
}

// resolvePaycode finds the user a scanned code debits and records its use,
// in the caller's transaction; amount is the charge's.
func (s *Service) resolvePaycode(ctx context.Context, tx Tx, who Caller, code, terminal string, amount int64, chargeID string) (string, error) {
	now := tx.Now()
	t, err := tx.GetPaycodeTerminal(ctx, who.App.ID, who.Live, terminal)
	if err != nil {
		return "", err
	}
	if t.LockedUntil > now {
		return "", polypay.ParamError("extra[terminal_id]", "终端 %s 扫到的无效付款码过多，已暂停至 %s", terminal,
			time.Unix(t.LockedUntil, 0).In(beijing).Format("15:04"))
	}
	c, err := paycode.Parse(code)
	if err != nil {
		return "", refuseCode("", terminal)
	}
	if c.Version == paycode.Online {
		user, err := tx.UsePaycodeOnline(ctx, who.App.ID, who.Live, code, now)
		if err == nil && user == "" {
			err = refuseCode("", terminal)
		}
		return user, err
	}
	return s.resolveOffline(ctx, tx, who, c, terminal, amount, chargeID)
}

func (s *Service) resolveOffline(ctx context.Context, tx Tx, who Caller, c paycode.Code, terminal string, amount int64, chargeID string) (string, error) {
	now := tx.Now()
	if !slices.Contains(s.paycodeVersions(), c.Version) {
		return "", polypay.ParamError("extra[scan_code]", "付款码版本 %d 已停用，请用户升级客户端", c.Version)
	}
	d, err := tx.PaycodeDeviceByIndex(ctx, who.App.ID, who.Live, int64(c.Index))
	if err != nil {
		return "", err
	}
	switch {
	case d == nil || d.Version != c.Version:
		return "", refuseCode("", terminal)
	case d.Revoked != 0:
		return "", polypay.ParamError("extra[scan_code]", "付款码所属设备已注销")
	case d.LockedUntil > now:
		return "", polypay.ParamError("extra[scan_code]", "该设备的无效付款码过多，已暂停使用")
	}
	secret, err := s.Box.Open("paycode_device:"+d.ID, d.SealedSecret)
	if err != nil {
		return "", err
	}
	step, ok := paycode.Verify(string(secret), c, time.Unix(now, 0))
	if !ok {
		return "", refuseCode(d.ID, terminal)
	}
	if err := s.offlineLimits(ctx, tx, d, amount, now); err != nil {
		return "", err
	}
	if used, err := tx.PaycodeStepUsed(ctx, d.ID, step); err != nil || used {
		if err == nil {
			err = refuseCode("", terminal) // a replay: this device's code of this step paid already
		}
		return "", err
	}
	if err := tx.InsertPaycodeUse(ctx, d.ID, step, chargeID, amount, now); err != nil {
		return "", err
	}
	if d.Failures > 0 {
		d.Failures, d.FailedSince = 0, 0
		if err := tx.SetPaycodeDeviceGuard(ctx, d); err != nil {
			return "", err
		}
	}
	return d.User, nil
}

// offlineLimits holds an offline code to its device's amount and daily
// count: an offline code is a bearer token, so what it can spend is small.
func (s *Service) offlineLimits(ctx context.Context, tx Tx, d *store.PaycodeDevice, amount, now int64) error {
	if amount > d.MaxAmount {
		return polypay.ParamError("amount", "超过该设备离线付款码的单笔限额 %d", d.MaxAmount)
	}
	day := time.Unix(now, 0).In(beijing)
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, beijing).Unix()
	n, err := tx.PaycodeUsesSince(ctx, d.ID, start)
	if err == nil && n >= d.DailyCount {
		err = polypay.ParamError("extra[scan_code]", "该设备今日离线付款次数已达上限 %d", d.DailyCount)
	}
	return err
}

// recordPaycodeFailure counts a wrong code against its device and
// terminal, locking either after paycodeMaxFailures in paycodeFailWindow.
func (s *Service) recordPaycodeFailure(ctx context.Context, who Caller, r *paycodeRefusal) {
	err := s.write(ctx, func(tx Tx) error {
		now := tx.Now()
		if r.device != "" {
			d, err := tx.PaycodeDeviceByID(ctx, r.device)
			if err != nil || d == nil {
				return err
			}
			d.Failures, d.FailedSince, d.LockedUntil = countFailure(d.Failures, d.FailedSince, d.LockedUntil, now)
			if err := tx.SetPaycodeDeviceGuard(ctx, d); err != nil {
				return err
			}
		}
		if r.terminal == "" {
			return nil
		}
		t, err := tx.GetPaycodeTerminal(ctx, who.App.ID, who.Live, r.terminal)
		if err != nil {
			return err
		}
		t.Failures, t.FailedSince, t.LockedUntil = countFailure(t.Failures, t.FailedSince, t.LockedUntil, now)
		return tx.PutPaycodeTerminal(ctx, who.App.ID, who.Live, r.terminal, t)
	})
	if err != nil {
		s.Log.Warn("recording a wrong payment code", "err", err)
	}
}

// countFailure adds a failure to a window and locks at the limit.
func countFailure(failures int, since, locked, now int64) (int, int64, int64) {
	if now-since > paycodeFailWindow {
		failures, since = 0, now
	}
	failures++
	if failures >= paycodeMaxFailures {
		locked, failures, since = now+paycodeLockFor, 0, 0
	}
	return failures, since, locked
}

// asPaycodeRefusal is the refusal in err, if any.
func asPaycodeRefusal(err error) (*paycodeRefusal, bool) {
	var r *paycodeRefusal
	ok := errors.As(err, &r)
	return r, ok
}
