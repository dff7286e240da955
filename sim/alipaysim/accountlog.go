package alipaysim

import (
	"sort"
	"strconv"
	"time"
)

// The account log (账务明细) of an app's balance account, served by
// alipay.data.bill.accountlog.query: one row per movement of its funds,
// in real time (no waiting for the day's end, unlike the trade bill).
//
// What the sim simplifies [U]:
//   - Only the fund side is logged: a 充值 row (收入) per top-up and a 转账
//     row (支出, merchant_order_no = out_biz_no, alipay_order_no =
//     order_id) per transfer when it is paid. Trade payments, refunds and
//     fees are in the trade bill (bill.go), not here. SetFunds is a test
//     hook and logs nothing.
//   - A transfer's money is held from when Alipay accepts it, but the row
//     is written when it is paid; a failed transfer writes none.
//   - balance is the available funds when the row was written, holds
//     included ("仅供参考", as Alipay says of its own).
//   - other_account shows the payee's masked logon id, never a name.

const methodAccountLog = "alipay.data.bill.accountlog.query"

// accountLogEntry is one row of an app's account log.
type accountLogEntry struct {
	id              string
	at              time.Time
	alipayOrderNo   string
	merchantOrderNo string
	amount          int64 // fen, negative for 支出
	balance         int64
	kind            string // 转账, 充值
	other           string
	memo            string
}

// logFunds appends a row to appID's account log. Called with s.mu held.
func (s *Sim) logFunds(appID string, e accountLogEntry) {
	e.id = e.at.In(cst).Format("20060102") + randomString(16, "0123456789")
	e.balance = s.available(appID)
	s.accountLog[appID] = append(s.accountLog[appID], e)
}

// maskLogonID hides most of a logon id as Alipay's statements do:
// pay***@sandbox.com, 138****8000.
func maskLogonID(id string) string {
	at := len(id)
	for i := range id {
		if id[i] == '@' {
			at = i
			break
		}
	}
	switch {
	case at < len(id):
		return id[:min(3, at)] + "***" + id[at:]
	case len(id) == 11:
		return id[:3] + "****" + id[7:]
	}
	return "***"
}

type accountLogBiz struct {
	StartTime       text `json:"start_time"`
	EndTime         text `json:"end_time"`
	AlipayOrderNo   text `json:"alipay_order_no"`
	MerchantOrderNo text `json:"merchant_order_no"`
	PageNo          text `json:"page_no"`
	PageSize        text `json:"page_size"`
}

type accountLogItem struct {
	TransDt         string `json:"trans_dt"`
	AccountLogID    string `json:"account_log_id"`
	AlipayOrderNo   string `json:"alipay_order_no"`
	MerchantOrderNo string `json:"merchant_order_no,omitempty"`
	TransAmount     string `json:"trans_amount"`
	Balance         string `json:"balance"`
	Type            string `json:"type"`
	OtherAccount    string `json:"other_account,omitempty"`
	TransMemo       string `json:"trans_memo,omitempty"`
	Direction       string `json:"direction"`
}

type accountLogRsp struct {
	head
	PageNo     string           `json:"page_no"`
	PageSize   string           `json:"page_size"`
	TotalSize  string           `json:"total_size"`
	DetailList []accountLogItem `json:"detail_list"`
}

// accountLogQuery is alipay.data.bill.accountlog.query: the rows in
// [start_time, end_time) (at most 31 days), oldest first, a page at a
// time.
func (s *Sim) accountLogQuery(c *call, _ time.Time) (any, *apiError) {
	var b accountLogBiz
	if e := decodeBiz(c, &b); e != nil {
		return nil, e
	}
	from, to, aerr := logPeriod(string(b.StartTime), string(b.EndTime))
	if aerr != nil {
		return nil, aerr
	}
	page, size, aerr := logPage(string(b.PageNo), string(b.PageSize))
	if aerr != nil {
		return nil, aerr
	}
	var rows []accountLogEntry
	for _, e := range s.accountLog[c.appID] {
		switch {
		case e.at.Before(from) || !e.at.Before(to):
		case b.AlipayOrderNo != "" && e.alipayOrderNo != string(b.AlipayOrderNo):
		case b.MerchantOrderNo != "" && e.merchantOrderNo != string(b.MerchantOrderNo):
		default:
			rows = append(rows, e)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })
	rsp := accountLogRsp{head: success, PageNo: strconv.Itoa(page), PageSize: strconv.Itoa(size),
		TotalSize: strconv.Itoa(len(rows)), DetailList: []accountLogItem{}}
	for _, e := range rows[min((page-1)*size, len(rows)):min(page*size, len(rows))] {
		rsp.DetailList = append(rsp.DetailList, logItem(e))
	}
	return rsp, nil
}

func logItem(e accountLogEntry) accountLogItem {
	dir := "收入"
	if e.amount < 0 {
		dir = "支出"
	}
	return accountLogItem{TransDt: formatTime(e.at), AccountLogID: e.id, AlipayOrderNo: e.alipayOrderNo,
		MerchantOrderNo: e.merchantOrderNo, TransAmount: yuan(e.amount), Balance: yuan(e.balance), Type: e.kind,
		OtherAccount: e.other, TransMemo: e.memo, Direction: dir}
}

// logPeriod reads start_time and end_time: Beijing time, end after start,
// at most 31 days apart.
func logPeriod(start, end string) (from, to time.Time, aerr *apiError) {
	switch {
	case start == "":
		return from, to, missingParam("start_time")
	case end == "":
		return from, to, missingParam("end_time")
	}
	from, err := time.ParseInLocation(timeLayout, start, cst)
	if err != nil {
		return from, to, invalidParam("start_time")
	}
	if to, err = time.ParseInLocation(timeLayout, end, cst); err != nil {
		return from, to, invalidParam("end_time")
	}
	if !to.After(from) || to.Sub(from) > 31*24*time.Hour {
		return from, to, business("isv.invalid_arguments", "起止时间间隔不能超过31天，且结束时间须晚于起始时间")
	}
	return from, to, nil
}

// logPage reads page_no (from 1) and page_size (1 to 2000, default
// 2000).
func logPage(no, size string) (page, n int, aerr *apiError) {
	page, n = 1, 2000
	var err error
	if no != "" {
		if page, err = strconv.Atoi(no); err != nil || page < 1 || page > 1_000_000 {
			return 0, 0, invalidParam("page_no")
		}
	}
	if size != "" {
		if n, err = strconv.Atoi(size); err != nil || n < 1 || n > 2000 {
			return 0, 0, invalidParam("page_size")
		}
	}
	return page, n, nil
}
