package unionpaysim

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"time"
)

// file answers the file transfer request (txnType 76, fileType 00): the
// settlement day's zip, holding the general transaction detail file
// INN<yyMMdd>88ZM_<merId>, deflated (zlib) and base64-encoded in
// fileContent.
func (s *Sim) file(v map[string]string) (map[string]string, *apiError) {
	if v["txnType"] != "76" || v["bizType"] != "000000" || v["fileType"] != "00" {
		return nil, fail("10", "txnType/bizType/fileType")
	}
	md := v["settleDate"]
	if len(md) != 4 || strings.Trim(md, "0123456789") != "" {
		return nil, fail("10", "settleDate")
	}
	// MMDD names the most recent such settlement day. After 23:00 Beijing
	// time today's trades settle on tomorrow's date, so "most recent" is
	// measured against the current settlement day, not the calendar day.
	today := settleDay(s.now())
	day, err := time.ParseInLocation("20060102", fmt.Sprint(today.Year())+md, cst)
	if err != nil {
		return nil, fail("10", "settleDate")
	}
	if day.After(today) {
		day = day.AddDate(-1, 0, 0)
	}
	s.mu.Lock()
	var ts []*trade
	for _, t := range s.trades {
		if t.merID == v["merId"] && t.origRespCode == "00" && settleDay(t.at).Equal(day) {
			ts = append(ts, t)
		}
	}
	s.mu.Unlock()
	if len(ts) == 0 {
		return nil, fail("98", "")
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].at.Before(ts[j].at) })
	var zm bytes.Buffer
	for _, t := range ts {
		zm.WriteString(zmLine(t))
		zm.WriteString("\r\n")
	}
	name := "INN" + day.Format("060102") + "88ZM_" + v["merId"]
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	f, _ := zw.Create(name)
	f.Write(zm.Bytes())
	zw.Close()
	var deflated bytes.Buffer
	w := zlib.NewWriter(&deflated)
	w.Write(zb.Bytes())
	w.Close()
	return map[string]string{"settleDate": md, "fileType": "00",
		"fileName":    "Z" + day.Format("20060102") + "_" + v["merId"] + ".zip",
		"fileContent": base64.StdEncoding.EncodeToString(deflated.Bytes())}, nil
}

// fee is the sim's merchant discount rate, 0.6%, rounded half up, on
// purchases and pre-authorization completions; refunds and cancellations
// hand nothing back, holds (02, 32) move no money, and payouts (12) are
// free in the sim.
func fee(t *trade) string {
	if !collects(t) {
		return "C000000000000"
	}
	return fmt.Sprintf("D%012d", (t.amount*6+500)/1000)
}

// collects: purchases and completions bring money in.
func collects(t *trade) bool { return t.txnType == "01" || t.txnType == "03" }

// zmLine writes a record's columns: fixed widths, left-aligned text,
// zero-padded amounts, one space between columns.
func zmLine(t *trade) string {
	// The trade codes of 02, 03, 32 and 12 are the sim's own; readers go
	// by the txnType column.
	code := map[string]string{"01": "S22", "02": "S10", "03": "S24", "04": "S30", "31": "S31", "32": "S11", txnPayout: "S56"}[t.txnType]
	biz, subType := "000201", "00"
	if t.txnType == txnPayout {
		biz = bizPayout
	}
	settle, settleAmt := "C", t.amount
	switch {
	case t.txnType == "02" || t.txnType == "32":
		settleAmt = 0
	case !collects(t):
		settle = "D"
	}
	cols := []struct {
		v string
		w int
	}{
		{code, 3}, {"00010000", 11}, {"00010000", 11}, {t.traceNo, 6}, {t.at.In(cst).Format("0102150405"), 10},
		{t.accNo, 19}, {fmt.Sprintf("%012d", t.amount), 12}, {"5811", 4}, {"07", 2}, {t.queryID, 21},
		{"", 2}, {t.orderID, 32}, {"01", 2}, {"", 6}, {"", 10},
		{fee(t), 13}, {fmt.Sprintf("%s%012d", settle, settleAmt), 13}, {"0001", 4}, {"", 15}, {t.txnType, 2},
		{subType, 2}, {biz, 6}, {"01", 2}, {"", 4}, {"", 32},
		{"0", 1}, {t.origQryID, 21}, {t.merID, 15},
	}
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%-*s", c.w, c.v)
	}
	return b.String()
}
