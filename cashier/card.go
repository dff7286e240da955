package cashier

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/polypay/polypay"
	"github.com/polypay/polypay/risk"
	"github.com/polypay/polypay/vault"
)

// payCard takes the cashier's card form: the card goes straight into the
// vault (the merchant's page never sees it, even when it embeds the
// cashier), and the order is charged with the single-use token. A card
// that needs 3-D Secure continues on the issuer's page; the result page
// still waits for the processor's signed word.
func (c *Cashier) payCard(w http.ResponseWriter, r *http.Request) {
	o, cs, em, ok := c.postedOrder(w, r, 8<<10)
	if !ok {
		return
	}
	card := presentedAs(polypay.PresentCardForm)
	if c.cfg.Vault == nil || card == "" || !contains(c.visibleChannels(o, cs, r.UserAgent()), card) {
		http.Redirect(w, r, c.selfURL(o, append(em, "err", "channel")...), http.StatusSeeOther)
		return
	}
	back := func(code string) {
		http.Redirect(w, r, c.selfURL(o, append(em, "card", "1", "err", code)...), http.StatusSeeOther)
	}
	month, err1 := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("exp_month")))
	year, err2 := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("exp_year")))
	if err1 != nil || err2 != nil {
		back("card")
		return
	}
	if year < 100 {
		year += 2000
	}
	facts := risk.Facts{AppID: o.AppID, Live: o.Livemode, Route: risk.RouteCashier, Channel: card, Amount: o.Amount,
		Currency: o.Currency, IP: c.clientIP(r), Customer: o.UID,
		Card: c.cfg.Vault.NumberFingerprint(o.AppID, o.Livemode, r.PostForm.Get("number"))}
	if n, err := vault.NormalizeNumber(r.PostForm.Get("number")); err == nil {
		facts.BINCountry = vault.Country(n)
	}
	if blocked, err := c.screen(r.Context(), facts); err != nil || blocked {
		back(map[bool]string{true: "risk", false: "channel_down"}[blocked]) // never which rule
		return
	}
	tok, err := c.cfg.Vault.Tokenize(r.Context(), o.AppID, o.Livemode, vault.CardInput{
		Number: r.PostForm.Get("number"), ExpMonth: month, ExpYear: year,
		CVC: strings.TrimSpace(r.PostForm.Get("cvc")), Name: strings.TrimSpace(r.PostForm.Get("name"))}, "")
	if err != nil {
		c.cardTestFailed(r.Context(), facts, err)
		back("card") // the vault's message names the field; never echo the card
		return
	}
	extra := map[string]any{"source": tok.ID}
	for _, k := range cashierInfo(card).ReturnURLParams {
		extra[k] = c.selfURL(o, append(em, "ch", card)...)
	}
	if _, err := c.cfg.Svc.PayOrder(r.Context(), o, card, c.clientIP(r), extra); err != nil {
		var pe *polypay.Error
		code := "channel_down"
		if errors.As(err, &pe) && pe.Code == polypay.EChannel && pe.ChannelCode != "" && pe.ChannelCode != "channel_timeout" {
			code = "declined"
		} else if polypay.ErrorCode(err) == polypay.EInvalid {
			code = "card"
		} else if polypay.ErrorCode(err) == polypay.ERiskBlocked {
			code = "risk"
		}
		c.cfg.Log.Warn("cashier: card charge", "order", o.ID, "code", code)
		back(code)
		return
	}
	http.Redirect(w, r, c.selfURL(o, append(em, "ch", card)...), http.StatusSeeOther)
}
