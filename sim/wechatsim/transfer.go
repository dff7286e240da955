package wechatsim

// Merchant transfers to users' WeChat balance (商家转账到零钱, API v3
// /v3/transfer/batches): a batch of up to 3000 details is accepted at once
// (ACCEPTED) and its amount taken from the merchant's funds, or refused
// 403 NOT_ENOUGH when the funds do not cover it (nothing is created, so the
// same out_batch_no may be sent again after a top-up, as WeChat asks).
// Its details wait PROCESSING and are decided the first time the merchant
// looks at the batch or one of its details, as Ping++'s test mode settles
// a transfer when the merchant retrieves it; Options.HoldPayouts keeps
// them waiting until SettleTransfer (or its sandbox endpoint) decides. A
// detail fails OPENID_INVALID for an openid that is no payee under the
// batch's appid, ACCOUNT_FROZEN, REAL_NAME_CHECK_FAIL, NAME_NOT_CORRECT
// when user_name is not the payee's real name, DAY_RECEIVED_QUOTA_EXCEED
// past the payee's daily limit; a failed detail's money goes back to the
// merchant. When every detail is decided the batch is FINISHED and, when
// it named a notify_url, MCHTRANSFER.BATCH.FINISHED is sent.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// detail_status and batch_status values the sim produces. WeChat also has
// INIT and WAIT_PAY (a detail above the no-confirmation amount waits for
// the merchant's staff), which the sim never reaches.
const (
	batchAccepted  = "ACCEPTED"
	batchFinished  = "FINISHED"
	detailPending  = "PROCESSING"
	detailSuccess  = "SUCCESS"
	detailFail     = "FAIL"
	maxBatchDetail = 3000
)

// Fail reasons the sim gives (WeChat documents more).
const (
	failOpenID    = "OPENID_INVALID"
	failFrozen    = "ACCOUNT_FROZEN"
	failRealName  = "REAL_NAME_CHECK_FAIL"
	failName      = "NAME_NOT_CORRECT"
	failDayQuota  = "DAY_RECEIVED_QUOTA_EXCEED"
	nameMinAmount = 30     // fen: below 0.3 yuan user_name is refused
	nameRequired  = 200000 // fen: from 2000 yuan user_name is required
)

var (
	errTransferNotFound = &apiError{http.StatusNotFound, "NOT_FOUND", "记录不存在"}
	errNotEnough        = &apiError{http.StatusForbidden, "NOT_ENOUGH", "资金不足：商户账户资金不足，请充值后原单重试，请勿更换商家转账批次单号"}
	errBatchNoUsed      = invalidRequest("商家批次单号 out_batch_no 已使用，且请求内容与原批次不一致")
)

type batchKey struct{ mchid, outBatchNo string }

type transferBatch struct {
	mchid, appid   string
	outBatchNo     string
	batchID        string
	name, remark   string
	sceneID        string
	notifyURL      string
	status         string
	total          int64
	details        []*transferDetail
	fingerprint    string
	created, moved time.Time
}

type transferDetail struct {
	outDetailNo, detailID string
	openid                string
	userName              string // decrypted; never logged
	remark                string
	amount                int64
	status                string
	failReason            string
	moved                 time.Time
}

type batchReq struct {
	Appid              string      `json:"appid"`
	OutBatchNo         string      `json:"out_batch_no"`
	BatchName          string      `json:"batch_name"`
	BatchRemark        string      `json:"batch_remark"`
	TotalAmount        *int64      `json:"total_amount"`
	TotalNum           *int64      `json:"total_num"`
	TransferDetailList []detailReq `json:"transfer_detail_list"`
	TransferSceneID    string      `json:"transfer_scene_id"`
	NotifyURL          string      `json:"notify_url"`
}

type detailReq struct {
	OutDetailNo    string `json:"out_detail_no"`
	TransferAmount *int64 `json:"transfer_amount"`
	TransferRemark string `json:"transfer_remark"`
	Openid         string `json:"openid"`
	UserName       string `json:"user_name"`
}

// initiateBatch is 发起商家转账. A repeated out_batch_no with the same
// content answers the batch already made and moves no money again.
func (s *Sim) initiateBatch(c *call, now time.Time) (reply, *apiError) {
	var b batchReq
	if e := decode(c.body, &b); e != nil {
		return reply{}, e
	}
	if e := s.checkBatch(c, &b); e != nil {
		return reply{}, e
	}
	names, e := s.userNames(c, &b)
	if e != nil {
		return reply{}, e
	}
	fp := batchFingerprint(&b, names)
	key := batchKey{c.mchid, b.OutBatchNo}
	if old := s.batches[key]; old != nil {
		if old.fingerprint != fp {
			return reply{}, errBatchNoUsed
		}
		return reply{status: http.StatusOK, body: initiateAnswer(old)}, nil
	}
	if !s.debit(c.mchid, *b.TotalAmount) {
		return reply{}, errNotEnough
	}
	tb := &transferBatch{mchid: c.mchid, appid: b.Appid, outBatchNo: b.OutBatchNo, name: b.BatchName, remark: b.BatchRemark,
		sceneID: b.TransferSceneID, notifyURL: b.NotifyURL, status: batchAccepted, total: *b.TotalAmount,
		fingerprint: fp, created: now, moved: now,
		batchID: "1030000" + randomString(3, digits) + now.In(cst).Format("20060102") + randomString(22, digits)}
	for i, d := range b.TransferDetailList {
		tb.details = append(tb.details, &transferDetail{outDetailNo: d.OutDetailNo, openid: d.Openid, userName: names[i],
			remark: d.TransferRemark, amount: *d.TransferAmount, status: detailPending, moved: now,
			detailID: "1040000" + randomString(3, digits) + now.In(cst).Format("20060102") + randomString(22, digits)})
	}
	s.batches[key] = tb
	s.byBatchID[tb.batchID] = tb
	return reply{status: http.StatusOK, body: initiateAnswer(tb)}, nil
}

func initiateAnswer(b *transferBatch) any {
	return struct {
		OutBatchNo  string `json:"out_batch_no"`
		BatchID     string `json:"batch_id"`
		CreateTime  string `json:"create_time"`
		BatchStatus string `json:"batch_status"`
	}{b.outBatchNo, b.batchID, formatTime(b.created), b.status}
}

// checkBatch applies WeChat's parameter rules to a batch.
func (s *Sim) checkBatch(c *call, b *batchReq) *apiError {
	switch {
	case b.Appid == "" || b.OutBatchNo == "" || b.BatchName == "" || b.BatchRemark == "":
		return paramError("缺少必填参数 appid、out_batch_no、batch_name 或 batch_remark")
	case b.TotalAmount == nil || b.TotalNum == nil || len(b.TransferDetailList) == 0:
		return paramError("缺少必填参数 total_amount、total_num 或 transfer_detail_list")
	case !contains(c.merchant.AppIDs, b.Appid):
		return invalidRequest("appid 与商户号不匹配")
	case !validOutNo(b.OutBatchNo, 5, 32, ""):
		return paramError("out_batch_no 应为 5 到 32 位数字或大小写字母")
	case utf8.RuneCountInString(b.BatchName) > 32 || utf8.RuneCountInString(b.BatchRemark) > 32:
		return paramError("batch_name 与 batch_remark 最多 32 个字符")
	case len(b.TransferDetailList) > maxBatchDetail:
		return paramError("一个转账批次单最多发起三千笔转账")
	case *b.TotalNum != int64(len(b.TransferDetailList)):
		return paramError("转账总笔数 total_num 与明细笔数不一致")
	}
	if b.NotifyURL != "" {
		if e := checkNotifyURL(b.NotifyURL); e != nil {
			return e
		}
	}
	var sum int64
	seen := map[string]bool{}
	named := 0
	for _, d := range b.TransferDetailList {
		switch {
		case d.TransferAmount == nil || d.Openid == "" || d.TransferRemark == "":
			return paramError("转账明细缺少 transfer_amount、openid 或 transfer_remark")
		case !validOutNo(d.OutDetailNo, 5, 32, ""):
			return paramError("out_detail_no 应为 5 到 32 位数字或大小写字母")
		case seen[d.OutDetailNo]:
			return paramError("同一批次内 out_detail_no 重复")
		case *d.TransferAmount < 1:
			return paramError("transfer_amount 应为正整数（分）")
		case utf8.RuneCountInString(d.TransferRemark) > 32:
			return paramError("transfer_remark 最多 32 个字符")
		case d.UserName != "" && *d.TransferAmount < nameMinAmount:
			return paramError("明细转账金额小于 0.3 元时，不允许填写收款用户姓名")
		case d.UserName == "" && *d.TransferAmount >= nameRequired:
			return paramError("明细转账金额大于等于 2000 元时，该笔明细必须填写收款用户姓名")
		}
		seen[d.OutDetailNo] = true
		sum += *d.TransferAmount
		if d.UserName != "" {
			named++
		}
	}
	if named != 0 && named != len(b.TransferDetailList) {
		return paramError("同一批次转账明细中的姓名字段需全部填写或全部不填写")
	}
	if sum != *b.TotalAmount {
		return paramError("转账总金额 total_amount 与明细金额之和不一致")
	}
	return nil
}

// userNames decrypts the details' user_name with the platform private key
// (RSAES-OAEP, SHA-1, as the SDKs encrypt), which the Wechatpay-Serial
// header must name.
func (s *Sim) userNames(c *call, b *batchReq) ([]string, *apiError) {
	names := make([]string, len(b.TransferDetailList))
	for i, d := range b.TransferDetailList {
		if d.UserName == "" {
			continue
		}
		if c.accept != s.keyID && c.accept != s.certSerial {
			return nil, paramError("Wechatpay-Serial 应为加密 user_name 所用的微信支付公钥 ID 或平台证书序列号")
		}
		raw, err := base64.StdEncoding.DecodeString(d.UserName)
		if err != nil {
			return nil, paramError("user_name 解密失败，请使用微信支付公钥加密")
		}
		plain, err := rsa.DecryptOAEP(sha1.New(), nil, s.key, raw, nil)
		if err != nil || len(plain) == 0 || !utf8.Valid(plain) {
			return nil, paramError("user_name 解密失败，请使用微信支付公钥加密")
		}
		names[i] = string(plain)
	}
	return names, nil
}

// batchFingerprint identifies a batch's content: the names enter only as
// hashes, so the fingerprint holds no real name.
func batchFingerprint(b *batchReq, names []string) string {
	parts := []string{b.Appid, b.BatchName, b.BatchRemark, itoa(*b.TotalAmount), b.TransferSceneID}
	for i, d := range b.TransferDetailList {
		h := sha256.Sum256([]byte(names[i]))
		parts = append(parts, d.OutDetailNo, itoa(*d.TransferAmount), d.Openid, d.TransferRemark, hex.EncodeToString(h[:8]))
	}
	return strings.Join(parts, "\x00")
}

// decideBatch settles a batch's waiting details by the payees' rules
// (unless the sim holds payouts) and returns the batch notification to
// send when that finished the batch. Called with s.mu held.
func (s *Sim) decideBatch(b *transferBatch, now time.Time) *notification {
	if s.holdPayouts {
		return nil
	}
	return s.decideAll(b, now)
}

// decideAll settles a batch's waiting details by the payees' rules.
// Called with s.mu held.
func (s *Sim) decideAll(b *transferBatch, now time.Time) *notification {
	for _, d := range b.details {
		if d.status == detailPending {
			s.settleDetail(b, d, s.payeeVerdict(b, d, now), now)
		}
	}
	return s.finishBatch(b, now)
}

// payeeVerdict is WeChat's decision on one detail: "" pays it, anything
// else is the fail reason.
func (s *Sim) payeeVerdict(b *transferBatch, d *transferDetail, now time.Time) string {
	p, ok := s.payee(b.appid, d.openid)
	switch {
	case !ok:
		return failOpenID
	case p.Frozen:
		return failFrozen
	case p.Unverified:
		return failRealName
	case d.userName != "" && d.userName != p.Name:
		return failName
	case s.received[dayKey{b.mchid, b.appid, d.openid, day(now)}]+d.amount > s.payeeDailyLimit:
		return failDayQuota
	}
	return ""
}

// settleDetail decides one waiting detail: paid, or failed and its money
// back in the merchant's funds. Called with s.mu held.
func (s *Sim) settleDetail(b *transferBatch, d *transferDetail, failReason string, now time.Time) {
	if d.status != detailPending {
		return
	}
	d.moved = now
	if failReason != "" {
		d.status, d.failReason = detailFail, failReason
		s.credit(b.mchid, d.amount)
		return
	}
	d.status = detailSuccess
	s.received[dayKey{b.mchid, b.appid, d.openid, day(now)}] += d.amount
}

// finishBatch ends a batch whose details are all decided. Called with
// s.mu held; the notification (nil without notify_url) is sent after.
func (s *Sim) finishBatch(b *transferBatch, now time.Time) *notification {
	if b.status == batchFinished {
		return nil
	}
	for _, d := range b.details {
		if d.status == detailPending {
			return nil
		}
	}
	b.status, b.moved = batchFinished, now
	return s.batchNotice(b, now)
}

// batchNotice prepares MCHTRANSFER.BATCH.FINISHED. Called with s.mu held.
func (s *Sim) batchNotice(b *transferBatch, now time.Time) *notification {
	if b.notifyURL == "" {
		return nil
	}
	c := b.counts()
	p := batchPayload{Mchid: b.mchid, OutBatchNo: b.outBatchNo, BatchID: b.batchID, BatchStatus: b.status,
		TotalNum: int64(len(b.details)), TotalAmount: b.total, SuccessAmount: c.successAmount, SuccessNum: c.successNum,
		FailAmount: c.failAmount, FailNum: c.failNum, UpdateTime: formatTime(b.moved)}
	return &notification{
		id: uuid(), mchid: b.mchid, outTradeNo: b.outBatchNo, url: b.notifyURL,
		eventType: "MCHTRANSFER.BATCH.FINISHED", summary: "商家转账批次处理完成", original: "mch_payment",
		createTime: formatTime(now), plaintext: mustMarshal(p),
	}
}

// batchPayload is the decrypted resource of MCHTRANSFER.BATCH.* events.
type batchPayload struct {
	Mchid         string `json:"mchid"`
	OutBatchNo    string `json:"out_batch_no"`
	BatchID       string `json:"batch_id"`
	BatchStatus   string `json:"batch_status"`
	TotalNum      int64  `json:"total_num"`
	TotalAmount   int64  `json:"total_amount"`
	SuccessAmount int64  `json:"success_amount"`
	SuccessNum    int64  `json:"success_num"`
	FailAmount    int64  `json:"fail_amount"`
	FailNum       int64  `json:"fail_num"`
	UpdateTime    string `json:"update_time"`
}

type batchCounts struct{ successAmount, successNum, failAmount, failNum int64 }

func (b *transferBatch) counts() batchCounts {
	var c batchCounts
	for _, d := range b.details {
		switch d.status {
		case detailSuccess:
			c.successAmount += d.amount
			c.successNum++
		case detailFail:
			c.failAmount += d.amount
			c.failNum++
		}
	}
	return c
}

func (b *transferBatch) detail(outDetailNo string) *transferDetail {
	for _, d := range b.details {
		if d.outDetailNo == outDetailNo {
			return d
		}
	}
	return nil
}

// detailByOutNo is 商家明细单号查询明细单.
func (s *Sim) detailByOutNo(c *call, now time.Time) (reply, *apiError) {
	b := s.batches[batchKey{c.mchid, c.params[0]}]
	if b == nil {
		return reply{}, errTransferNotFound
	}
	return s.detailAnswer(c, b, b.detail(c.params[1]), now)
}

// detailByID is 微信明细单号查询明细单.
func (s *Sim) detailByID(c *call, now time.Time) (reply, *apiError) {
	b := s.byBatchID[c.params[0]]
	if b == nil || b.mchid != c.mchid {
		return reply{}, errTransferNotFound
	}
	var d *transferDetail
	for _, x := range b.details {
		if x.detailID == c.params[1] {
			d = x
		}
	}
	return s.detailAnswer(c, b, d, now)
}

// detailAnswer decides the batch (the merchant looked) and answers the
// detail, its user_name encrypted with the merchant's API certificate key
// as WeChat returns it.
func (s *Sim) detailAnswer(c *call, b *transferBatch, d *transferDetail, now time.Time) (reply, *apiError) {
	rep := reply{after: s.sendAfter(s.decideBatch(b, now))}
	if d == nil {
		// The batch may have finished all the same: its notification
		// still goes out (ServeHTTP runs after on errors too).
		return rep, errTransferNotFound
	}
	body := detailRsp{Mchid: b.mchid, OutBatchNo: b.outBatchNo, BatchID: b.batchID, Appid: b.appid,
		OutDetailNo: d.outDetailNo, DetailID: d.detailID, DetailStatus: d.status, TransferAmount: d.amount,
		TransferRemark: d.remark, FailReason: d.failReason, Openid: d.openid,
		InitiateTime: formatTime(b.created), UpdateTime: formatTime(d.moved)}
	if d.userName != "" {
		ct, err := encryptName(c.merchant.PublicKey, d.userName)
		if err != nil {
			return reply{}, errSystem
		}
		body.UserName = ct
	}
	rep.status, rep.body = http.StatusOK, body
	return rep, nil
}

type detailRsp struct {
	Mchid          string `json:"mchid"`
	OutBatchNo     string `json:"out_batch_no"`
	BatchID        string `json:"batch_id"`
	Appid          string `json:"appid"`
	OutDetailNo    string `json:"out_detail_no"`
	DetailID       string `json:"detail_id"`
	DetailStatus   string `json:"detail_status"`
	TransferAmount int64  `json:"transfer_amount"`
	TransferRemark string `json:"transfer_remark"`
	FailReason     string `json:"fail_reason,omitempty"`
	Openid         string `json:"openid"`
	UserName       string `json:"user_name,omitempty"`
	InitiateTime   string `json:"initiate_time"`
	UpdateTime     string `json:"update_time"`
}

func encryptName(pub *rsa.PublicKey, name string) (string, error) {
	ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, []byte(name), nil)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// batchByOutNo is 商家批次单号查询批次单.
func (s *Sim) batchByOutNo(c *call, now time.Time) (reply, *apiError) {
	return s.batchAnswer(c, s.batches[batchKey{c.mchid, c.params[0]}], now)
}

// batchByID is 微信批次单号查询批次单.
func (s *Sim) batchByID(c *call, now time.Time) (reply, *apiError) {
	b := s.byBatchID[c.params[0]]
	if b != nil && b.mchid != c.mchid {
		b = nil
	}
	return s.batchAnswer(c, b, now)
}

// batchAnswer decides the batch (the merchant looked) and answers it,
// with the details asked for once it is FINISHED.
func (s *Sim) batchAnswer(c *call, b *transferBatch, now time.Time) (reply, *apiError) {
	need, e := boolQuery(c, "need_query_detail")
	if e != nil {
		return reply{}, e
	}
	offset, limit, status, e := detailPage(c)
	if e != nil {
		return reply{}, e
	}
	if b == nil {
		return reply{}, errTransferNotFound
	}
	n := s.decideBatch(b, now)
	cnt := b.counts()
	rsp := batchRsp{TransferBatch: batchGet{Mchid: b.mchid, OutBatchNo: b.outBatchNo, BatchID: b.batchID, Appid: b.appid,
		BatchStatus: b.status, BatchType: "API", BatchName: b.name, BatchRemark: b.remark, TotalAmount: b.total,
		TotalNum: int64(len(b.details)), CreateTime: formatTime(b.created), UpdateTime: formatTime(b.moved),
		SuccessAmount: cnt.successAmount, SuccessNum: cnt.successNum, FailAmount: cnt.failAmount, FailNum: cnt.failNum,
		TransferSceneID: b.sceneID}}
	if need && b.status == batchFinished {
		var list []detailCompact
		for _, d := range b.details {
			if status == "ALL" || d.status == status {
				list = append(list, detailCompact{d.detailID, d.outDetailNo, d.status})
			}
		}
		if offset < len(list) {
			rsp.TransferDetailList = list[offset:min(len(list), offset+limit)]
		}
	}
	return reply{status: http.StatusOK, body: rsp, after: s.sendAfter(n)}, nil
}

type batchRsp struct {
	TransferBatch      batchGet        `json:"transfer_batch"`
	TransferDetailList []detailCompact `json:"transfer_detail_list,omitempty"`
}

type batchGet struct {
	Mchid           string `json:"mchid"`
	OutBatchNo      string `json:"out_batch_no"`
	BatchID         string `json:"batch_id"`
	Appid           string `json:"appid"`
	BatchStatus     string `json:"batch_status"`
	BatchType       string `json:"batch_type"`
	BatchName       string `json:"batch_name"`
	BatchRemark     string `json:"batch_remark"`
	TotalAmount     int64  `json:"total_amount"`
	TotalNum        int64  `json:"total_num"`
	CreateTime      string `json:"create_time"`
	UpdateTime      string `json:"update_time"`
	SuccessAmount   int64  `json:"success_amount"`
	SuccessNum      int64  `json:"success_num"`
	FailAmount      int64  `json:"fail_amount"`
	FailNum         int64  `json:"fail_num"`
	TransferSceneID string `json:"transfer_scene_id,omitempty"`
}

type detailCompact struct {
	DetailID     string `json:"detail_id"`
	OutDetailNo  string `json:"out_detail_no"`
	DetailStatus string `json:"detail_status"`
}

// boolQuery reads a required true/false query parameter.
func boolQuery(c *call, name string) (bool, *apiError) {
	switch v := c.query[name]; {
	case len(v) == 0 || v[0] == "":
		return false, paramError("缺少必填参数 " + name)
	case v[0] == "true":
		return true, nil
	case v[0] == "false":
		return false, nil
	}
	return false, paramError(name + " 应为 true 或 false")
}

// detailPage reads offset (default 0), limit (20 to 100, default 20) and
// detail_status (ALL, SUCCESS, FAIL, WAIT_PAY; default ALL).
func detailPage(c *call) (offset, limit int, status string, e *apiError) {
	offset, limit, status = 0, 20, "ALL"
	if v := url.Values(c.query).Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, "", paramError("offset 应为非负整数")
		}
		offset = n
	}
	if v := url.Values(c.query).Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 20 || n > 100 {
			return 0, 0, "", paramError("limit 应为 20 到 100 的整数")
		}
		limit = n
	}
	if v := url.Values(c.query).Get("detail_status"); v != "" {
		switch v {
		case "ALL", detailSuccess, detailFail, "WAIT_PAY":
			status = v
		default:
			return 0, 0, "", paramError("detail_status 应为 ALL、SUCCESS、FAIL 或 WAIT_PAY")
		}
	}
	return offset, limit, status, nil
}

// sendAfter is a reply's after that sends n (nil: nothing).
func (s *Sim) sendAfter(n *notification) func() {
	if n == nil {
		return nil
	}
	return func() { s.bg.Go(func() { s.notifier.Send(s.bg.Context(), s.notice(n)) }) }
}

// PayoutSnapshot is one transfer detail as the sim's books hold it; the
// sim keys them by merchant, out_batch_no and out_detail_no, so a repeated
// request never appears twice.
type PayoutSnapshot struct {
	MchID, AppID  string
	OutBatchNo    string
	BatchID       string
	OutDetailNo   string
	DetailID      string
	OpenID        string
	Amount        int64
	Status        string // PROCESSING, SUCCESS, FAIL
	FailReason    string
	Created, Done time.Time // Done: zero while PROCESSING
}

// Payouts returns every transfer detail the sim holds, sorted by merchant,
// batch and detail number. It decides nothing: only the merchant's looks
// do.
func (s *Sim) Payouts() []PayoutSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PayoutSnapshot
	for _, b := range s.batches {
		for _, d := range b.details {
			p := PayoutSnapshot{MchID: b.mchid, AppID: b.appid, OutBatchNo: b.outBatchNo, BatchID: b.batchID,
				OutDetailNo: d.outDetailNo, DetailID: d.detailID, OpenID: d.openid, Amount: d.amount,
				Status: d.status, FailReason: d.failReason, Created: b.created}
			if d.status != detailPending {
				p.Done = d.moved
			}
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.MchID != b.MchID {
			return a.MchID < b.MchID
		}
		if a.OutBatchNo != b.OutBatchNo {
			return a.OutBatchNo < b.OutBatchNo
		}
		return a.OutDetailNo < b.OutDetailNo
	})
	return out
}
