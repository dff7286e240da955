package paypalsim

import (
	"net/http"
	"sort"
	"strconv"
	"time"
)

// txn is one line of a merchant's transaction history.
type txn struct {
	id, eventCode, refID   string
	amount, fee            int64 // signed, as transaction search shows them
	currency               string
	invoiceID, customField string
	payerID                string
	at                     time.Time
}

// recordPayment adds a completed capture (T0006, PayPal Checkout APIs).
// Called with s.mu held.
func (s *Sim) recordPayment(o *order, c *capture) {
	s.txns[o.merchantID] = append(s.txns[o.merchantID], txn{id: c.id, eventCode: "T0006", amount: c.amount, fee: -c.fee,
		currency: o.currency, invoiceID: c.invoiceID, customField: o.customID, payerID: o.payerID, at: c.created})
}

// recordRefund adds a merchant-initiated refund (T1107). PayPal keeps its
// fee on refunds, so the line has none. Called with s.mu held.
func (s *Sim) recordRefund(o *order, c *capture, rf *refund) {
	s.txns[o.merchantID] = append(s.txns[o.merchantID], txn{id: rf.id, eventCode: "T1107", refID: c.id, amount: -rf.amount,
		currency: o.currency, invoiceID: rf.invoiceID, customField: rf.customID, payerID: o.payerID, at: rf.created})
}

// searchTime is transaction search's time format (offset without colon).
func searchTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-0700") }

// transactions is GET /v1/reporting/transactions: start_date and end_date
// (RFC 3339, at most 31 days apart) are required; page_size up to 500.
func (s *Sim) transactions(w http.ResponseWriter, r *http.Request, m *Merchant) {
	q := r.URL.Query()
	start, err1 := time.Parse(time.RFC3339, q.Get("start_date"))
	end, err2 := time.Parse(time.RFC3339, q.Get("end_date"))
	if err1 != nil || err2 != nil {
		apiError(w, 400, "INVALID_REQUEST", "start_date and end_date are required, in RFC 3339.", "start_date")
		return
	}
	if end.Before(start) || end.Sub(start) > 31*24*time.Hour {
		apiError(w, 400, "INVALID_REQUEST", "Date range is greater than 31 days or end_date is before start_date.", "end_date")
		return
	}
	size, page := 100, 1
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			apiError(w, 400, "INVALID_REQUEST", "page_size must be between 1 and 500.", "page_size")
			return
		}
		size = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, 400, "INVALID_REQUEST", "page must be at least 1.", "page")
			return
		}
		page = n
	}
	s.mu.Lock()
	var sel []txn
	for _, t := range s.txns[m.MerchantID] {
		if !t.at.Before(start) && !t.at.After(end) {
			sel = append(sel, t)
		}
	}
	s.mu.Unlock()
	sort.SliceStable(sel, func(i, j int) bool { return sel[i].at.Before(sel[j].at) })
	details := []map[string]any{}
	for i := (page - 1) * size; i < len(sel) && i < page*size; i++ {
		t := sel[i]
		info := map[string]any{"paypal_account_id": t.payerID, "transaction_id": t.id, "transaction_event_code": t.eventCode,
			"transaction_initiation_date": searchTime(t.at), "transaction_updated_date": searchTime(t.at),
			"transaction_amount": mk(t.amount, t.currency), "transaction_status": "S", "invoice_id": t.invoiceID,
			"custom_field": t.customField, "protection_eligibility": "01"}
		if t.fee != 0 {
			info["fee_amount"] = mk(t.fee, t.currency)
		}
		if t.refID != "" {
			info["paypal_reference_id"], info["paypal_reference_id_type"] = t.refID, "TXN"
		}
		details = append(details, map[string]any{"transaction_info": info})
	}
	pages := (len(sel) + size - 1) / size
	writeJSON(w, http.StatusOK, map[string]any{"transaction_details": details, "account_number": m.MerchantID,
		"start_date": searchTime(start), "end_date": searchTime(end), "last_refreshed_datetime": searchTime(s.now()),
		"page": page, "total_items": len(sel), "total_pages": pages,
		"links": []link{{s.baseURL() + r.URL.RequestURI(), "self", "GET"}}})
}
