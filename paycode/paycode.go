// Package paycode is polypay's own payment code (付款码): the customer
// shows it, the merchant scans it, and polypay debits the customer's
// balance in the account system. It works online (a single-use code
// polypay issued) and offline (a code the customer's device derives from
// a per-device secret and the time, RFC 6238 TOTP).
//
// A code is 19 digits:
//
//	9 | v | iiiiiiii | tttttttt | c
//
// "9" marks polypay's codes (Alipay's start with 25-30, WeChat's with
// 10-15, UnionPay's with 62). v is the version: 0 for an online code,
// whose next 16 digits are random; 1 and up name the offline algorithm.
// For an offline code t is the device's 8-digit TOTP for the time step
// and i is the device's index plus t, mod 10^8, so that the server finds
// the device in one lookup while consecutive codes of one device share no
// visible digits. c is a Luhn check digit over the first 18, so a
// mistyped or misread code is refused before anything is looked up.
package paycode

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Length is a code's number of digits.
const Length = 19

// Prefix is the first digit of every polypay code.
const Prefix = '9'

// Online is the version digit of a code polypay issued online.
const Online = 0

// indexSpace bounds device indexes (8 digits).
const indexSpace = 100_000_000

// Period is the offline codes' time step; a code is accepted in its step
// and the one before and after it (clock drift).
const Period = 30 * time.Second

// Skew is the steps of drift accepted each way.
const Skew = 1

// Algorithm is an offline code version's TOTP algorithm.
type Algorithm struct {
	Version int
	Hash    otp.Algorithm
}

// Algorithms are the offline versions polypay knows; a node may accept a
// subset (retiring an old one once its clients have upgraded).
var Algorithms = map[int]Algorithm{
	1: {Version: 1, Hash: otp.AlgorithmSHA1},
	2: {Version: 2, Hash: otp.AlgorithmSHA256},
}

// Code is a parsed code.
type Code struct {
	Version int
	// Offline: the device index and the TOTP digits.
	Index uint32
	OTP   string
}

// ErrFormat is any code that is not a well-formed polypay code.
var ErrFormat = errors.New("paycode: not a polypay payment code")

// Is reports whether s looks like a polypay code (19 digits starting with
// 9); Parse checks the rest.
func Is(s string) bool { return len(s) == Length && s[0] == Prefix && digits(s) }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Parse checks a code's form and check digit and reads its parts.
func Parse(s string) (Code, error) {
	if !Is(s) || luhn(s[:Length-1]) != s[Length-1] {
		return Code{}, ErrFormat
	}
	c := Code{Version: int(s[1] - '0')}
	if c.Version == Online {
		return c, nil
	}
	obf, _ := strconv.Atoi(s[2:10])
	t, _ := strconv.Atoi(s[10:18])
	c.OTP = s[10:18]
	c.Index = uint32((obf - t + indexSpace) % indexSpace)
	return c, nil
}

// NewOnline makes an online code from 16 random digits.
func NewOnline(random string) (string, error) {
	if len(random) != 16 || !digits(random) {
		return "", fmt.Errorf("paycode: an online code needs 16 random digits")
	}
	body := string(Prefix) + "0" + random
	return body + string(luhn(body)), nil
}

// Generate derives the offline code of a device (its base32 secret and
// index) for a version at time at: what the customer's device shows.
func Generate(secret string, index uint32, version int, at time.Time) (string, error) {
	a, ok := Algorithms[version]
	if !ok || index >= indexSpace {
		return "", fmt.Errorf("paycode: no version %d or index %d out of range", version, index)
	}
	t, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: uint(Period / time.Second), Digits: otp.DigitsEight, Algorithm: a.Hash})
	if err != nil {
		return "", err
	}
	n, _ := strconv.Atoi(t)
	body := fmt.Sprintf("%c%d%08d%s", Prefix, version, (int(index)+n)%indexSpace, t)
	return body + string(luhn(body)), nil
}

// Verify reports the time step whose TOTP the code carries, within Skew
// steps of now, or false. Comparisons take the same time whatever matches.
func Verify(secret string, c Code, now time.Time) (step int64, ok bool) {
	a, known := Algorithms[c.Version]
	if !known {
		return 0, false
	}
	cur := now.Unix() / int64(Period/time.Second)
	for d := int64(-Skew); d <= Skew; d++ {
		at := time.Unix((cur+d)*int64(Period/time.Second), 0)
		want, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: uint(Period / time.Second), Digits: otp.DigitsEight, Algorithm: a.Hash})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(c.OTP)) == 1 && !ok {
			step, ok = cur+d, true
		}
	}
	return step, ok
}

// luhn is the Luhn check digit of a string of digits.
func luhn(s string) byte {
	sum := 0
	double := true
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}
